import { readFileSync } from 'node:fs';
import { KindGuard, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import {
  checkConfirmation,
  DEFAULT_TEMPLATES,
  type BrandSettings,
  type NumberRoute,
} from '../intake/index.js';
import { LedgerError, parsePhone, type Region } from '../ledger/index.js';
import { follows, POSTGRES_TABLE, postgresTablePrefix, redisKeyPrefix } from '../projector/index.js';
import { isObject, problemsOf, type Labels } from './problems.js';
import {
  DEFAULT_RATE_LIMITS,
  FileSchema,
  SettingsSchema,
  type Config,
  type ConfigSchema,
  type FileContents,
  type Frozen,
  type Settings,
} from './schema.js';

export {
  DEFAULT_RATE_LIMITS,
  type Config,
  type HttpLimits,
  type KafkaConfig,
  type ViewConfig,
  type RedisViewConfig,
  type PostgresViewConfig,
  type WebhookViewConfig,
} from './schema.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Every setting the ledger reads; anything else named LEDGER_* is a typo and stops the start. */
export const SETTINGS: Readonly<Record<string, { readonly help: string }>> = Object.fromEntries(
  Object.entries(SettingsSchema.properties).map(([key, schema]) => [key, { help: schema.description ?? '' }]),
);

const settingsCheck = TypeCompiler.Compile(SettingsSchema);
const fileCheck = TypeCompiler.Compile(FileSchema);

/** Reads and validates the environment once; every problem is reported together, with what to fix. */
export function loadConfig(
  env: Env,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): Config {
  const problems: string[] = [];
  const settings = readSettings(env, problems);
  const path = settings.LEDGER_CONFIG_FILE;
  const file = readConfigFile(path, readFile, problems);
  problems.push(...httpLimitProblems(settings), ...brandProblems(file.brands, `${path}: brands`));
  problems.push(
    ...viewProblems(file.views, `${path}: views`),
    ...keyProblems(file.apiKeys, `${path}: apiKeys`),
  );
  const numbers = numbersByKey(file.numbers, settings.LEDGER_DEFAULT_REGION, problems);
  const views = file.views.map((view, i) =>
    view.kind === 'webhook'
      ? { ...view, url: readHttpUrl(`${path}: views[${i}].url`, view.url, problems) ?? '' }
      : view,
  );
  const outboundUrl = readHttpUrl('LEDGER_OUTBOUND_URL', settings.LEDGER_OUTBOUND_URL, problems);
  const config: Static<typeof ConfigSchema> = {
    port: settings.PORT,
    host: settings.HOST,
    dataDir: settings.LEDGER_DATA_DIR,
    logMaxBytes: settings.LEDGER_LOG_MAX_BYTES,
    defaultRegion: settings.LEDGER_DEFAULT_REGION,
    directory: { defaultBrand: settings.LEDGER_DEFAULT_BRAND, brands: file.brands, numbers },
    views,
    apiKeys: file.apiKeys,
    rateLimits: file.rateLimits,
    metricsScope: file.metricsScope,
    outbound:
      outboundUrl === undefined
        ? undefined
        : {
            url: outboundUrl,
            ...(settings.LEDGER_OUTBOUND_TOKEN !== undefined && { token: settings.LEDGER_OUTBOUND_TOKEN }),
          },
    maxStalenessMs: settings.LEDGER_MAX_STALENESS_MS,
    readWaitMs: settings.LEDGER_READ_WAIT_MS,
    bodyLimitBytes: settings.LEDGER_BODY_LIMIT_BYTES,
    batchCheckMax: settings.LEDGER_BATCH_CHECK_MAX,
    logLevel: settings.LEDGER_LOG_LEVEL,
    kafka:
      settings.LEDGER_KAFKA_BROKERS === undefined
        ? undefined
        : {
            brokers: settings.LEDGER_KAFKA_BROKERS,
            topic: settings.LEDGER_TOPIC,
            partitions: settings.LEDGER_PARTITIONS,
            replicationFactor: settings.LEDGER_REPLICATION_FACTOR,
          },
    twilioAuthToken: settings.TWILIO_AUTH_TOKEN,
    publicUrl: readPublicUrl(env.LEDGER_PUBLIC_URL, settings.LEDGER_PUBLIC_URL, problems),
    http: {
      requestTimeoutMs: settings.LEDGER_REQUEST_TIMEOUT_MS,
      headersTimeoutMs: settings.LEDGER_HEADERS_TIMEOUT_MS,
      idleTimeoutMs: settings.LEDGER_IDLE_TIMEOUT_MS,
      keepAliveTimeoutMs: settings.LEDGER_KEEP_ALIVE_TIMEOUT_MS,
      maxConnectionsPerClient: settings.LEDGER_MAX_CONNECTIONS_PER_CLIENT,
    },
  };
  if (problems.length > 0) {
    throw new LedgerError(
      'invalid_config',
      `the configuration has problems:\n  - ${problems.join('\n  - ')}`,
    );
  }
  return deepFreeze(config);
}

// ---------------------------------------------------------------------------------------------------
// Against the schema
// ---------------------------------------------------------------------------------------------------

/** The environment's settings, checked against SettingsSchema, with their defaults. */
function readSettings(env: Env, problems: string[]): Settings {
  const given: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(env)) {
    const schema = (SettingsSchema.properties as Record<string, TSchema>)[key];
    // An unknown LEDGER_* is kept so that the schema refuses it by name; other variables are not ours.
    const value =
      schema === undefined ? (key.startsWith('LEDGER_') ? raw : undefined) : readSetting(schema, raw);
    if (value !== undefined) given[key] = value;
  }
  const labels: Labels = {
    at: ([key = '', ...inner], value) =>
      inner.length === 0 ? `${key}=${env[key]}` : `${key}: ${JSON.stringify(value)}`,
    unknown: ([key = '']) =>
      `${key} is not a setting of the ledger (known: ${Object.keys(SETTINGS).join(', ')})`,
  };
  return checked(SettingsSchema, settingsCheck, given, labels, problems);
}

/** An environment variable's text as its setting's value; undefined for unset. */
function readSetting(schema: TSchema, raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  switch (schema.read ?? (KindGuard.IsInteger(schema) ? 'number' : 'text')) {
    case 'number':
      return raw === '' ? undefined : Number(raw);
    case 'list':
      return raw.trim() === ''
        ? undefined
        : raw
            .split(',')
            .map((item) => item.trim())
            .filter((item) => item !== '');
    case 'trimmed':
      return raw.trim() === '' ? undefined : raw.trim();
    case 'unless-empty':
      return raw === '' ? undefined : raw;
    case 'upper-case':
      return raw.toUpperCase();
    default:
      return raw;
  }
}

/** The configuration file (LEDGER_CONFIG_FILE), checked against FileSchema; empty sections when none. */
function readConfigFile(
  path: string | undefined,
  readFile: (path: string) => string,
  problems: string[],
): Required<Omit<FileContents, 'metricsScope'>> & Pick<FileContents, 'metricsScope'> {
  const contents = readFileContents(path, readFile, problems);
  return {
    brands: contents.brands ?? {},
    numbers: contents.numbers ?? {},
    views: contents.views ?? [],
    apiKeys: contents.apiKeys ?? {},
    rateLimits: contents.rateLimits ?? DEFAULT_RATE_LIMITS,
    metricsScope: contents.metricsScope,
  };
}

function readFileContents(
  path: string | undefined,
  readFile: (path: string) => string,
  problems: string[],
): FileContents {
  if (path === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFile(path));
  } catch (error) {
    problems.push(`LEDGER_CONFIG_FILE=${path} could not be read as JSON: ${(error as Error).message}`);
    return {};
  }
  const labels: Labels = {
    at: (pointer, value, schema) =>
      pointer.length === 0
        ? `${path}:`
        : `${path}: ${spell(pointer, parsed)}${schema.show === true ? ` "${String(value)}"` : ''}`,
    unknown: (pointer, known, schema) =>
      `${path}: ${spell(pointer, parsed)} is unknown${typeof schema.what === 'string' ? ` for ${schema.what}` : ''} (known: ${known.join(', ')})`,
  };
  if (!isObject(parsed)) {
    problems.push(`${path}: expected an object with "brands" and "numbers"`);
    return {};
  }
  return checked(FileSchema, fileCheck, parsed, labels, problems);
}

/**
 * `given` with its defaults, when the schema takes it. Otherwise its problems are reported, and the
 * sections in error are left at their defaults so that the rules after the schema still find theirs.
 */
function checked<T extends TSchema>(
  schema: T,
  check: TypeCheck<T>,
  given: Record<string, unknown>,
  labels: Labels,
  problems: string[],
): Static<T> {
  const value = Value.Default(schema, structuredClone(given));
  if (check.Check(value)) return value;
  const errors = [...check.Errors(value)];
  problems.push(...problemsOf(schema, value, errors, labels));
  for (const error of errors) delete given[error.path.split('/')[1] ?? ''];
  return Value.Default(schema, given);
}

/** A pointer as the file spells it: `views[0].url`, `numbers["+12015550150"]`. */
function spell(pointer: readonly string[], root: unknown): string {
  let text = '';
  let container = root;
  for (const key of pointer) {
    if (Array.isArray(container)) text += `[${key}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) text += text === '' ? key : `.${key}`;
    else text += `[${JSON.stringify(key)}]`;
    container =
      isObject(container) || Array.isArray(container)
        ? (container as Record<string, unknown>)[key]
        : undefined;
  }
  return text;
}

// ---------------------------------------------------------------------------------------------------
// Rules across settings, after the schema
// ---------------------------------------------------------------------------------------------------

function httpLimitProblems(s: Settings): string[] {
  const problems: string[] = [];
  if (s.LEDGER_HEADERS_TIMEOUT_MS > s.LEDGER_REQUEST_TIMEOUT_MS) {
    problems.push(
      `LEDGER_HEADERS_TIMEOUT_MS=${s.LEDGER_HEADERS_TIMEOUT_MS} must not exceed LEDGER_REQUEST_TIMEOUT_MS=${s.LEDGER_REQUEST_TIMEOUT_MS} (the headers are part of the request)`,
    );
  }
  if (s.LEDGER_IDLE_TIMEOUT_MS <= s.LEDGER_READ_WAIT_MS) {
    problems.push(
      `LEDGER_IDLE_TIMEOUT_MS=${s.LEDGER_IDLE_TIMEOUT_MS} must be more than LEDGER_READ_WAIT_MS=${s.LEDGER_READ_WAIT_MS}: a check waiting for its position sends nothing meanwhile`,
    );
  }
  return problems;
}

/** What each brand's replies will print: the sender's name, in one GSM-7 segment. */
function brandProblems(brands: Readonly<Record<string, BrandSettings>>, where: string): string[] {
  const problems: string[] = [];
  for (const [name, settings] of Object.entries(brands)) {
    const displayName = settings.displayName?.trim();
    // The internal brand id is never printed as the sender: {brand} needs a display name to print.
    for (const template of ['confirmation', 'optInReply', 'helpReply'] as const) {
      if (settings[template]?.includes('{brand}') === true && displayName === undefined) {
        problems.push(
          `${where}.${name}.displayName is required: its ${template} names the sender with {brand}; add "displayName" (e.g. "Acme Coffee")`,
        );
      }
    }
    if (settings.confirmation !== undefined) {
      for (const problem of checkConfirmation(settings.confirmation, displayName ?? name)) {
        problems.push(`${where}.${name}.confirmation: ${problem}`);
      }
    } else if (displayName !== undefined) {
      // The built-in confirmation will carry this name: it must still fit one GSM-7 segment.
      for (const problem of checkConfirmation(DEFAULT_TEMPLATES.confirmation, displayName)) {
        problems.push(`${where}.${name}.displayName: ${problem}`);
      }
    }
  }
  return problems;
}

/** Short codes stay as written; long codes are keyed by E.164 so any spelling of them matches. */
function numbersByKey(
  numbers: Readonly<Record<string, NumberRoute>>,
  region: Region,
  problems: string[],
): Record<string, NumberRoute> {
  const byKey: Record<string, NumberRoute> = {};
  for (const [number, route] of Object.entries(numbers)) {
    try {
      const key = /^\d{3,8}$/.test(number) ? number : parsePhone(number, region);
      byKey[key] = { brand: route.brand, ...(route.program !== undefined && { program: route.program }) };
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return byKey;
}

function viewProblems(
  views: readonly Static<typeof ConfigSchema>['views'][number][],
  where: string,
): string[] {
  const problems: string[] = [];
  const names = new Set<string>(['memory']);
  const stores = new SharedStores(problems);
  views.forEach((view, i) => {
    const at = `${where}[${i}]`;
    if (names.has(view.name)) {
      problems.push(`${at}.name "${view.name}" is taken (memory is the central view)`);
      return;
    }
    names.add(view.name);
    if (view.kind === 'redis') stores.redis(at, view.name, view.prefix);
    if (view.kind === 'postgres') stores.postgres(at, view.name, view.table, view.schema);
  });
  return problems;
}

/**
 * Two views on one store would overwrite each other's rows and checkpoints, and either could then answer
 * "allowed" for a number the log says is suppressed: every view needs keys or tables of its own. The
 * defaults are the stores' own (redisKeyPrefix, postgresTablePrefix), and a rebuild writes beside the
 * live store (`<prefix>~staging`, `<table>_staging`).
 */
class SharedStores {
  private readonly prefixes: { readonly name: string; readonly prefix: string }[] = [];
  private readonly tables: { readonly name: string; readonly schema: string; readonly table: string }[] = [];

  constructor(private readonly problems: string[]) {}

  redis(at: string, name: string, explicit: string | undefined): void {
    const prefix = redisKeyPrefix({ name, prefix: explicit });
    const label = `${at}.prefix "${prefix}"${explicit === undefined ? ' (the default for its name)' : ''}`;
    const spaces = (p: string): string[] => [`${p}:`, `${p}~staging:`];
    for (const other of this.prefixes) {
      if (other.prefix === prefix) {
        this.problems.push(
          `${label} is already used by view "${other.name}": give each Redis view its own prefix`,
        );
      } else if (
        spaces(prefix).some((a) => spaces(other.prefix).some((b) => a.startsWith(b) || b.startsWith(a)))
      ) {
        this.problems.push(
          `${label} overlaps the keys of view "${other.name}" (prefix "${other.prefix}"): give each Redis view a prefix that does not start with another's`,
        );
      }
    }
    this.prefixes.push({ name, prefix });
  }

  postgres(at: string, name: string, explicit: string | undefined, schema = 'public'): void {
    const table = postgresTablePrefix({ name, table: explicit });
    const label = `${at}.table "${table}"${explicit === undefined ? ' (the default for its name)' : ''}`;
    // The schema checked an explicit table; the one derived from a long name can still be too long.
    if (explicit === undefined && !follows(POSTGRES_TABLE, table)) {
      this.problems.push(`${label} ${POSTGRES_TABLE.fix}: set "table" to one`);
    }
    for (const other of this.tables) {
      if (other.schema !== schema) continue;
      if (other.table === table) {
        this.problems.push(
          `${label} is already used by view "${other.name}": give each PostgreSQL view its own table`,
        );
      } else if (other.table === `${table}_staging` || table === `${other.table}_staging`) {
        this.problems.push(
          `${label} overlaps the tables of view "${other.name}" (table "${other.table}"; a rebuild writes <table>_staging_*): choose another table`,
        );
      }
    }
    this.tables.push({ name, schema, table });
  }
}

/** Each key needs its own secret: two with one hash could not be told apart. */
function keyProblems(
  apiKeys: Readonly<Record<string, { readonly sha256: string }>>,
  where: string,
): string[] {
  const problems: string[] = [];
  const hashes = new Set<string>();
  for (const [id, { sha256 }] of Object.entries(apiKeys)) {
    if (hashes.has(sha256.toLowerCase())) {
      problems.push(`${where}.${id}.sha256 is another key's too: each key needs its own secret`);
    }
    hashes.add(sha256.toLowerCase());
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// URLs: checked and normalised together
// ---------------------------------------------------------------------------------------------------

function readPublicUrl(
  raw: string | undefined,
  trimmed: string | undefined,
  problems: string[],
): string | undefined {
  if (trimmed === undefined) return undefined;
  const problem = `LEDGER_PUBLIC_URL=${raw} must be an http(s) base URL such as https://ledger.example.com`;
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    problems.push(problem);
    return undefined;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search !== '' || url.hash !== '') {
    problems.push(`${problem} (no query or fragment)`);
    return undefined;
  }
  // As written rather than as URL normalises it: the signature covers the exact text Twilio was given.
  return trimmed.replace(/\/+$/, '');
}

function readHttpUrl(key: string, raw: string | undefined, problems: string[]): string | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  try {
    const url = new URL(raw.trim());
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.toString();
  } catch {
    // reported below
  }
  problems.push(`${key}=${raw} must be an http(s) URL such as https://sms.example.com/send`);
  return undefined;
}

function deepFreeze<T>(value: T): Frozen<T> {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value as Frozen<T>;
}
