import { readFileSync } from 'node:fs';
import { isSupportedCountry } from 'libphonenumber-js/max';
import {
  checkConfirmation,
  DEFAULT_TEMPLATES,
  type BrandDirectory,
  type BrandSettings,
  type NumberRoute,
} from '../intake/index.js';
import { assertName, LedgerError, parsePhone, type Region } from '../ledger/index.js';
import { isScope, SCOPES, type ApiKeyEntry, type RateLimits, type Scope } from '../access/index.js';

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** Caps the embedded log's file (LEDGER_LOG_MAX_BYTES): appends beyond it answer 503 as on a full disk. */
  readonly logMaxBytes: number | undefined;
  readonly defaultRegion: Region;
  readonly directory: BrandDirectory;
  readonly maxStalenessMs: number;
  readonly readWaitMs: number;
  readonly bodyLimitBytes: number;
  readonly batchCheckMax: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Kafka mode, when LEDGER_KAFKA_BROKERS is set; the embedded log otherwise. */
  readonly kafka: KafkaConfig | undefined;
  /** Twilio webhooks are signature-checked with this token when it is set; accepted unsigned otherwise. */
  readonly twilioAuthToken: string | undefined;
  /**
   * The base URL callers use to reach the ledger (no trailing slash), when a proxy in front rewrites
   * the protocol, host or path; undefined to take them from the request.
   */
  readonly publicUrl: string | undefined;
  /** Where confirmations are POSTed for sending, when the provider's webhook reply is not used. */
  readonly outbound: { readonly url: string; readonly token?: string } | undefined;
  /** The sending systems' own views, fed from the log beside the central one (LEDGER_CONFIG_FILE "views"). */
  readonly views: readonly ViewConfig[];
  /** How long the HTTP server waits on a client, and how many connections one client may hold. */
  readonly http: HttpLimits;
  /** API keys by key id (LEDGER_CONFIG_FILE "apiKeys"); none: loopback only, every caller is `local`. */
  readonly apiKeys: Readonly<Record<string, ApiKeyEntry>>;
  /** Per key (per address without keys) per minute (LEDGER_CONFIG_FILE "rateLimits"). */
  readonly rateLimits: RateLimits;
  /** The scope GET /metrics needs when keys are configured (LEDGER_CONFIG_FILE "metricsScope"); open when unset. */
  readonly metricsScope: Scope | undefined;
}

export interface HttpLimits {
  /** The whole request (headers and body) must arrive within this; then 408 and the connection closes. */
  readonly requestTimeoutMs: number;
  /** The headers must arrive within this (at most the request timeout). */
  readonly headersTimeoutMs: number;
  /** A connection with no traffic either way for this long is closed (longer than a check's wait). */
  readonly idleTimeoutMs: number;
  /** How long an idle keep-alive connection is kept for the client's next request. */
  readonly keepAliveTimeoutMs: number;
  /** Connections one remote address may hold at once; more are answered 503 and closed (0: no cap). */
  readonly maxConnectionsPerClient: number;
}

interface ViewCommon {
  /** Its name in /v1/views, ?system=, `ledger rebuild <name>`; also its consumer group on Kafka. */
  readonly name: string;
  /** Checks against this view fail closed when it is this far behind the log (default LEDGER_MAX_STALENESS_MS). */
  readonly maxStalenessMs?: number;
}
export interface RedisViewConfig extends ViewCommon {
  readonly kind: 'redis';
  readonly url: string;
  readonly prefix?: string;
}
export interface PostgresViewConfig extends ViewCommon {
  readonly kind: 'postgres';
  readonly connectionString: string;
  readonly table?: string;
  readonly schema?: string;
}
export interface WebhookViewConfig extends ViewCommon {
  readonly kind: 'webhook';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly maxAttempts?: number;
}
export type ViewConfig = RedisViewConfig | PostgresViewConfig | WebhookViewConfig;

export interface KafkaConfig {
  readonly brokers: readonly string[];
  readonly topic: string;
  /** For creating the topic only; an existing topic keeps its partitions. */
  readonly partitions: number;
  /** For creating the topic only; -1 takes the broker's default. */
  readonly replicationFactor: number;
}

type Env = Readonly<Record<string, string | undefined>>;

interface Setting {
  readonly help: string;
}

/** Every setting the ledger reads; anything else named LEDGER_* is a typo and stops the start. */
export const SETTINGS: Readonly<Record<string, Setting>> = {
  PORT: { help: 'HTTP port (default 8080)' },
  HOST: { help: 'address to listen on (default 127.0.0.1; 0.0.0.0 to accept remote senders)' },
  LEDGER_DATA_DIR: { help: 'directory of the embedded log (default ./data)' },
  LEDGER_LOG_MAX_BYTES: {
    help: 'cap on the embedded log file; beyond it appends answer 503 as on a full disk (default: none)',
  },
  LEDGER_DEFAULT_REGION: { help: 'ISO country for numbers written without +country code (default US)' },
  LEDGER_DEFAULT_BRAND: { help: 'brand of requests that name none (default "default")' },
  LEDGER_CONFIG_FILE: { help: 'JSON file with brands (templates, opt-out scope) and numbers (to → brand)' },
  LEDGER_MAX_STALENESS_MS: {
    help: 'checks fail closed when the view is this far behind the log (default 5000)',
  },
  LEDGER_READ_WAIT_MS: { help: 'how long a check with minPosition waits for the view (default 2000)' },
  LEDGER_BODY_LIMIT_BYTES: {
    help: 'largest request body (default 1048576); the batch check takes what LEDGER_BATCH_CHECK_MAX phones need',
  },
  LEDGER_BATCH_CHECK_MAX: {
    help: 'most phones in one batch check (default 100000); its body may be up to 68 bytes a phone',
  },
  LEDGER_LOG_LEVEL: { help: 'fatal|error|warn|info|debug|trace|silent (default info)' },
  LEDGER_API_KEY: { help: 'the API key secret CLI commands send as "Authorization: Bearer"' },
  LEDGER_URL: { help: 'where CLI commands find a running ledger (default http://127.0.0.1:8080)' },
  LEDGER_KAFKA_BROKERS: { help: 'Kafka bootstrap servers host:port,... (switches to Kafka mode)' },
  LEDGER_TOPIC: { help: 'Kafka topic of the log (default ledger.events)' },
  LEDGER_PARTITIONS: { help: 'partitions when the ledger creates the topic (default 6)' },
  LEDGER_REPLICATION_FACTOR: {
    help: 'replication when the ledger creates the topic (default -1: the broker default)',
  },
  LEDGER_PUBLIC_URL: {
    help: 'base URL Twilio calls, e.g. https://ledger.example.com, when behind a proxy (default: from the request)',
  },
  LEDGER_OUTBOUND_URL: {
    help: 'HTTP endpoint that sends confirmation texts (JSON POST, Idempotency-Key); unset: confirmations go in the webhook reply',
  },
  LEDGER_OUTBOUND_TOKEN: { help: 'bearer token for LEDGER_OUTBOUND_URL' },
  LEDGER_REQUEST_TIMEOUT_MS: {
    help: 'a request (headers and body) must arrive within this, or it gets 408 and the connection closes (default 30000)',
  },
  LEDGER_HEADERS_TIMEOUT_MS: {
    help: 'request headers must arrive within this; at most LEDGER_REQUEST_TIMEOUT_MS (default 10000)',
  },
  LEDGER_IDLE_TIMEOUT_MS: {
    help: 'a connection silent both ways this long is closed; more than LEDGER_READ_WAIT_MS (default 120000)',
  },
  LEDGER_KEEP_ALIVE_TIMEOUT_MS: {
    help: 'how long an idle keep-alive connection waits for its next request (default 72000, above common load balancers)',
  },
  LEDGER_MAX_CONNECTIONS_PER_CLIENT: {
    help: 'connections one remote address may hold; more get 503 and are closed (default 1024; 0: no cap)',
  },
  TWILIO_AUTH_TOKEN: {
    help: 'Twilio auth token: POST /v1/inbound/twilio checks X-Twilio-Signature with it (unset: unchecked)',
  },
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Reads and validates the environment once; every problem is reported together, with what to fix. */
export function loadConfig(
  env: Env,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): Config {
  const problems: string[] = [];
  for (const key of Object.keys(env)) {
    if (key.startsWith('LEDGER_') && !(key in SETTINGS)) {
      problems.push(`${key} is not a setting of the ledger (known: ${Object.keys(SETTINGS).join(', ')})`);
    }
  }
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const raw = env[key];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${key}=${raw} must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const region = (env.LEDGER_DEFAULT_REGION ?? 'US').toUpperCase();
  if (!isSupportedCountry(region)) {
    problems.push(
      `LEDGER_DEFAULT_REGION=${region} is not an ISO 3166 country code libphonenumber knows (e.g. US, CA, GB)`,
    );
  }
  const logLevel = env.LEDGER_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`LEDGER_LOG_LEVEL=${logLevel} must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const defaultBrand = env.LEDGER_DEFAULT_BRAND ?? 'default';
  collect(problems, () => assertName('brand', defaultBrand));
  const file = readConfigFile(env.LEDGER_CONFIG_FILE, readFile, region as Region, problems);
  const outboundUrl = readHttpUrl('LEDGER_OUTBOUND_URL', env.LEDGER_OUTBOUND_URL, problems);
  const config = {
    port: int('PORT', 8080, 0, 65535),
    host: env.HOST ?? '127.0.0.1',
    dataDir: env.LEDGER_DATA_DIR ?? './data',
    logMaxBytes:
      env.LEDGER_LOG_MAX_BYTES === undefined || env.LEDGER_LOG_MAX_BYTES === ''
        ? undefined
        : int('LEDGER_LOG_MAX_BYTES', 0, 65_536, Number.MAX_SAFE_INTEGER),
    defaultRegion: region as Region,
    directory: {
      defaultBrand,
      brands: file.brands,
      numbers: file.numbers,
    },
    views: file.views,
    apiKeys: file.apiKeys,
    rateLimits: file.rateLimits,
    metricsScope: file.metricsScope,
    outbound:
      outboundUrl === undefined
        ? undefined
        : {
            url: outboundUrl,
            ...(env.LEDGER_OUTBOUND_TOKEN?.trim() && { token: env.LEDGER_OUTBOUND_TOKEN.trim() }),
          },
    maxStalenessMs: int('LEDGER_MAX_STALENESS_MS', 5000, 1, 86_400_000),
    readWaitMs: int('LEDGER_READ_WAIT_MS', 2000, 0, 60_000),
    bodyLimitBytes: int('LEDGER_BODY_LIMIT_BYTES', 1_048_576, 1024, 256 * 1_048_576),
    batchCheckMax: int('LEDGER_BATCH_CHECK_MAX', 100_000, 1, 10_000_000),
    logLevel: logLevel as Config['logLevel'],
    kafka: readKafka(env, int, problems),
    twilioAuthToken: env.TWILIO_AUTH_TOKEN?.trim() || undefined,
    publicUrl: readPublicUrl(env.LEDGER_PUBLIC_URL, problems),
    http: readHttpLimits(int, problems),
  };
  if (config.http.idleTimeoutMs <= config.readWaitMs) {
    problems.push(
      `LEDGER_IDLE_TIMEOUT_MS=${config.http.idleTimeoutMs} must be more than LEDGER_READ_WAIT_MS=${config.readWaitMs}: a check waiting for its position sends nothing meanwhile`,
    );
  }
  if (problems.length > 0) {
    throw new LedgerError(
      'invalid_config',
      `the configuration has problems:\n  - ${problems.join('\n  - ')}`,
    );
  }
  return deepFreeze(config);
}

function readKafka(
  env: Env,
  int: (key: string, fallback: number, min: number, max: number) => number,
  problems: string[],
): KafkaConfig | undefined {
  const raw = env.LEDGER_KAFKA_BROKERS;
  if (raw === undefined || raw.trim() === '') return undefined;
  const brokers = raw
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  for (const broker of brokers) {
    if (!/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(broker)) {
      problems.push(`LEDGER_KAFKA_BROKERS: "${broker}" is not host:port (e.g. 127.0.0.1:9092)`);
    }
  }
  const topic = env.LEDGER_TOPIC ?? 'ledger.events';
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) {
    problems.push(
      `LEDGER_TOPIC=${topic} is not a valid Kafka topic name (letters, digits, . _ -; at most 249)`,
    );
  }
  const replicationFactor = int('LEDGER_REPLICATION_FACTOR', -1, -1, 16);
  if (replicationFactor === 0)
    problems.push('LEDGER_REPLICATION_FACTOR must be -1 (broker default) or 1..16');
  return { brokers, topic, partitions: int('LEDGER_PARTITIONS', 6, 1, 1024), replicationFactor };
}

function readHttpLimits(
  int: (key: string, fallback: number, min: number, max: number) => number,
  problems: string[],
): HttpLimits {
  const limits = {
    requestTimeoutMs: int('LEDGER_REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000),
    headersTimeoutMs: int('LEDGER_HEADERS_TIMEOUT_MS', 10_000, 100, 3_600_000),
    idleTimeoutMs: int('LEDGER_IDLE_TIMEOUT_MS', 120_000, 100, 3_600_000),
    keepAliveTimeoutMs: int('LEDGER_KEEP_ALIVE_TIMEOUT_MS', 72_000, 100, 3_600_000),
    maxConnectionsPerClient: int('LEDGER_MAX_CONNECTIONS_PER_CLIENT', 1024, 0, 1_000_000),
  };
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    problems.push(
      `LEDGER_HEADERS_TIMEOUT_MS=${limits.headersTimeoutMs} must not exceed LEDGER_REQUEST_TIMEOUT_MS=${limits.requestTimeoutMs} (the headers are part of the request)`,
    );
  }
  return limits;
}

function readPublicUrl(raw: string | undefined, problems: string[]): string | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const problem = `LEDGER_PUBLIC_URL=${raw} must be an http(s) base URL such as https://ledger.example.com`;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    problems.push(problem);
    return undefined;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search !== '' || url.hash !== '') {
    problems.push(`${problem} (no query or fragment)`);
    return undefined;
  }
  // As written rather than as URL normalises it: the signature covers the exact text Twilio was given.
  return raw.trim().replace(/\/+$/, '');
}

const BRAND_KEYS = ['displayName', 'optOutScope', 'confirmation', 'optInReply', 'helpReply', 'keywords'];
const KEYWORD_KINDS = ['optOut', 'optIn', 'help'];

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

const VIEW_KEYS: Readonly<Record<ViewConfig['kind'], readonly string[]>> = {
  redis: ['url', 'prefix'],
  postgres: ['connectionString', 'table', 'schema'],
  webhook: ['url', 'headers', 'maxAttempts'],
};

function readViews(value: unknown, where: string, problems: string[]): ViewConfig[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.push(`${where} must be a list of {"name", "kind": "redis"|"postgres"|"webhook", ...}`);
    return [];
  }
  const views: ViewConfig[] = [];
  const names = new Set<string>(['memory']);
  const stores = new SharedStores(problems);
  value.forEach((entry: unknown, i) => {
    const at = `${where}[${i}]`;
    if (!isObject(entry)) return problems.push(`${at} must be an object`);
    const { name, kind } = entry;
    if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,47}$/.test(name)) {
      return problems.push(`${at}.name must be 1-48 lower-case letters, digits, '_' or '-'`);
    }
    if (names.has(name)) return problems.push(`${at}.name "${name}" is taken (memory is the central view)`);
    names.add(name);
    if (kind !== 'redis' && kind !== 'postgres' && kind !== 'webhook') {
      return problems.push(`${at}.kind must be "redis", "postgres" or "webhook"`);
    }
    const known = ['name', 'kind', 'maxStalenessMs', ...VIEW_KEYS[kind]];
    for (const key of Object.keys(entry)) {
      if (!known.includes(key))
        problems.push(`${at}.${key} is unknown for a ${kind} view (known: ${known.join(', ')})`);
    }
    const text = (key: string, required: boolean): string | undefined => {
      const v = entry[key];
      if (v === undefined && !required) return undefined;
      if (typeof v !== 'string' || v.trim() === '') problems.push(`${at}.${key} must be a non-empty string`);
      return typeof v === 'string' ? v : undefined;
    };
    const stale = entry.maxStalenessMs;
    if (stale !== undefined && (!Number.isInteger(stale) || (stale as number) < 1)) {
      problems.push(`${at}.maxStalenessMs must be a whole number of milliseconds ≥ 1`);
    }
    const common = { name, ...(typeof stale === 'number' && { maxStalenessMs: stale }) };
    if (kind === 'redis') {
      const url = text('url', true) ?? '';
      if (url !== '' && !/^rediss?:\/\//.test(url)) problems.push(`${at}.url must be redis://host:port/db`);
      const prefix = text('prefix', false);
      stores.redis(at, name, prefix);
      views.push({ ...common, kind, url, ...(prefix !== undefined && { prefix }) });
    } else if (kind === 'postgres') {
      const connectionString = text('connectionString', true) ?? '';
      const table = text('table', false);
      const schema = text('schema', false);
      if (table !== undefined && !/^[a-z_][a-z0-9_]{0,40}$/.test(table))
        problems.push(`${at}.table must be a lower-case SQL name of at most 41 characters`);
      stores.postgres(at, name, table, schema);
      views.push({
        ...common,
        kind,
        connectionString,
        ...(table !== undefined && { table }),
        ...(schema !== undefined && { schema }),
      });
    } else {
      const url = readHttpUrl(`${at}.url`, text('url', true), problems) ?? '';
      const headers = entry.headers;
      if (
        headers !== undefined &&
        (!isObject(headers) || Object.values(headers).some((h) => typeof h !== 'string'))
      ) {
        problems.push(`${at}.headers must be {"Header-Name": "value", ...}`);
      }
      const attempts = entry.maxAttempts;
      if (
        attempts !== undefined &&
        (!Number.isInteger(attempts) || (attempts as number) < 1 || (attempts as number) > 100)
      ) {
        problems.push(`${at}.maxAttempts must be a whole number from 1 to 100`);
      }
      views.push({
        ...common,
        kind,
        url,
        ...(isObject(headers) && { headers: headers as Record<string, string> }),
        ...(typeof attempts === 'number' && { maxAttempts: attempts }),
      });
    }
    return undefined;
  });
  return views;
}

/**
 * Two views on one store would overwrite each other's rows and checkpoints, and either could then answer
 * "allowed" for a number the log says is suppressed: every view needs keys or tables of its own. The
 * defaults are the stores' own (RedisView: `ledger:<name>`; PostgresView: `ledger_<name>`, sanitised),
 * and a rebuild writes beside the live store (`<prefix>~staging`, `<table>_staging`).
 */
class SharedStores {
  private readonly prefixes: { readonly name: string; readonly prefix: string }[] = [];
  private readonly tables: { readonly name: string; readonly schema: string; readonly table: string }[] = [];

  constructor(private readonly problems: string[]) {}

  redis(at: string, name: string, explicit: string | undefined): void {
    const prefix = explicit ?? `ledger:${name}`;
    const label = `${at}.prefix "${prefix}"${explicit === undefined ? ' (the default for its name)' : ''}`;
    if (/[*?[\]\\]/.test(prefix)) {
      this.problems.push(
        `${label} must not contain *, ?, [, ] or \\ (Redis reads them as a pattern): use letters, digits, ':', '-' or '_'`,
      );
    }
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
    const table = explicit ?? `ledger_${name.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
    const label = `${at}.table "${table}"${explicit === undefined ? ' (the default for its name)' : ''}`;
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

function readConfigFile(
  path: string | undefined,
  readFile: (path: string) => string,
  region: Region,
  problems: string[],
): Pick<BrandDirectory, 'brands' | 'numbers'> & { views: ViewConfig[] } & AccessSection {
  const empty = { brands: {}, numbers: {}, views: [], ...readAccess({}, '', problems) };
  if (path === undefined || path === '') return empty;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFile(path));
  } catch (error) {
    problems.push(`LEDGER_CONFIG_FILE=${path} could not be read as JSON: ${(error as Error).message}`);
    return empty;
  }
  if (!isObject(parsed)) {
    problems.push(`${path}: expected an object with "brands" and "numbers"`);
    return empty;
  }
  for (const key of Object.keys(parsed)) {
    if (!FILE_KEYS.includes(key))
      problems.push(`${path}: unknown key "${key}" (expected ${FILE_KEYS.join(', ')})`);
  }
  const brands: Record<string, BrandSettings> = {};
  for (const [name, settings] of Object.entries(isObject(parsed.brands) ? parsed.brands : {})) {
    collect(problems, () => assertName('brand', name));
    if (!isObject(settings)) {
      problems.push(`${path}: brands.${name} must be an object`);
      continue;
    }
    for (const key of Object.keys(settings)) {
      if (!BRAND_KEYS.includes(key))
        problems.push(`${path}: brands.${name}.${key} is unknown (known: ${BRAND_KEYS.join(', ')})`);
      else if (key === 'keywords')
        readKeywords(settings.keywords, `${path}: brands.${name}.keywords`, problems);
      else if (typeof settings[key] !== 'string')
        problems.push(`${path}: brands.${name}.${key} must be a string`);
    }
    const displayName = typeof settings.displayName === 'string' ? settings.displayName.trim() : undefined;
    if (displayName === '') {
      problems.push(
        `${path}: brands.${name}.displayName must name the sender as people know it (e.g. "Acme Coffee"), or be left out for neutral wording`,
      );
    }
    // The internal brand id is never printed as the sender: {brand} needs a display name to print.
    for (const template of ['confirmation', 'optInReply', 'helpReply']) {
      const text = settings[template];
      if (typeof text === 'string' && text.includes('{brand}') && (displayName ?? '') === '') {
        problems.push(
          `${path}: brands.${name}.displayName is required: its ${template} names the sender with {brand}; add "displayName" (e.g. "Acme Coffee")`,
        );
      }
    }
    if (typeof settings.confirmation === 'string') {
      for (const problem of checkConfirmation(settings.confirmation, displayName || name)) {
        problems.push(`${path}: brands.${name}.confirmation: ${problem}`);
      }
    } else if (displayName !== undefined && displayName !== '') {
      // The built-in confirmation will carry this name: it must still fit one GSM-7 segment.
      for (const problem of checkConfirmation(DEFAULT_TEMPLATES.confirmation, displayName)) {
        problems.push(`${path}: brands.${name}.displayName: ${problem}`);
      }
    }
    if (
      settings.optOutScope !== undefined &&
      settings.optOutScope !== 'brand' &&
      settings.optOutScope !== 'program'
    ) {
      problems.push(`${path}: brands.${name}.optOutScope must be "brand" or "program"`);
    }
    brands[name] = settings;
  }
  const numbers: Record<string, NumberRoute> = {};
  for (const [number, route] of Object.entries(isObject(parsed.numbers) ? parsed.numbers : {})) {
    if (!isObject(route) || typeof route.brand !== 'string') {
      problems.push(`${path}: numbers["${number}"] must be {"brand": "...", "program"?: "..."}`);
      continue;
    }
    collect(problems, () => assertName('brand', route.brand as string));
    if (route.program !== undefined) collect(problems, () => assertName('program', String(route.program)));
    // Short codes stay as written; long codes are keyed by E.164 so any spelling of them matches.
    const key = /^\d{3,8}$/.test(number) ? number : collect(problems, () => parsePhone(number, region));
    if (key !== undefined) {
      numbers[key] = {
        brand: route.brand,
        ...(typeof route.program === 'string' && { program: route.program }),
      };
    }
  }
  return {
    brands,
    numbers,
    views: readViews(parsed.views, `${path}: views`, problems),
    ...readAccess(parsed, path, problems),
  };
}

const FILE_KEYS = ['brands', 'numbers', 'views', 'apiKeys', 'rateLimits', 'metricsScope'];

interface AccessSection {
  apiKeys: Record<string, ApiKeyEntry>;
  rateLimits: RateLimits;
  metricsScope: Scope | undefined;
}

/** Checks never throttled at a sender's normal rate; writes generous; both per key per minute. */
export const DEFAULT_RATE_LIMITS: RateLimits = { checksPerMinute: 6_000_000, writesPerMinute: 60_000 };

function readAccess(parsed: Record<string, unknown>, path: string, problems: string[]): AccessSection {
  const apiKeys: Record<string, ApiKeyEntry> = {};
  const keys = parsed.apiKeys;
  const hint = `(create one with "ledger keys create --id <id> --scopes ${SCOPES[0]}")`;
  if (keys !== undefined && !isObject(keys)) {
    problems.push(`${path}: apiKeys must be {"<keyId>": {"sha256", "scopes", "brands"}} ${hint}`);
  }
  const hashes = new Set<string>();
  for (const [id, entry] of Object.entries(isObject(keys) ? keys : {})) {
    const at = `${path}: apiKeys.${id}`;
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(id)) {
      problems.push(`${at}: a key id is 1-64 letters, digits, '.', '_' or '-'`);
    }
    if (!isObject(entry)) {
      problems.push(`${at} must be {"sha256", "scopes", "brands"} ${hint}`);
      continue;
    }
    for (const key of Object.keys(entry)) {
      if (!['sha256', 'scopes', 'brands'].includes(key))
        problems.push(`${at}.${key} is unknown (known: sha256, scopes, brands)`);
    }
    const { sha256, scopes, brands } = entry;
    if (typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256)) {
      problems.push(`${at}.sha256 must be the 64-hex-digit SHA-256 of the secret, never the secret ${hint}`);
    } else if (hashes.has(sha256.toLowerCase())) {
      problems.push(`${at}.sha256 is another key's too: each key needs its own secret`);
    } else hashes.add(sha256.toLowerCase());
    if (
      !Array.isArray(scopes) ||
      scopes.length === 0 ||
      scopes.some((s) => typeof s !== 'string' || !isScope(s))
    ) {
      problems.push(`${at}.scopes must be a non-empty list of ${SCOPES.join(', ')}`);
    }
    if (
      !Array.isArray(brands) ||
      brands.length === 0 ||
      brands.some(
        (b) =>
          typeof b !== 'string' ||
          (b !== '*' && collect(problems, () => assertName('brand', b)) === undefined),
      )
    ) {
      problems.push(`${at}.brands must be a non-empty list of brands, or ["*"] for every brand`);
    }
    if (typeof sha256 === 'string' && Array.isArray(scopes) && Array.isArray(brands)) {
      apiKeys[id] = { sha256, scopes: scopes as Scope[], brands: brands as string[] };
    }
  }
  const limits = parsed.rateLimits;
  const rateLimits = { ...DEFAULT_RATE_LIMITS };
  if (limits !== undefined) {
    if (!isObject(limits))
      problems.push(`${path}: rateLimits must be {"checksPerMinute"?, "writesPerMinute"?}`);
    for (const [key, value] of Object.entries(isObject(limits) ? limits : {})) {
      if (key !== 'checksPerMinute' && key !== 'writesPerMinute') {
        problems.push(`${path}: rateLimits.${key} is unknown (known: checksPerMinute, writesPerMinute)`);
      } else if (!Number.isInteger(value) || (value as number) < 1) {
        problems.push(`${path}: rateLimits.${key} must be a whole number ≥ 1`);
      } else rateLimits[key] = value as number;
    }
  }
  const metricsScope = parsed.metricsScope;
  if (metricsScope !== undefined && (typeof metricsScope !== 'string' || !isScope(metricsScope))) {
    problems.push(`${path}: metricsScope must be one of ${SCOPES.join(', ')}`);
  }
  return {
    apiKeys,
    rateLimits,
    metricsScope: typeof metricsScope === 'string' && isScope(metricsScope) ? metricsScope : undefined,
  };
}

function readKeywords(value: unknown, where: string, problems: string[]): void {
  if (!isObject(value)) {
    problems.push(`${where} must be {"optOut"?: [...], "optIn"?: [...], "help"?: [...]}`);
    return;
  }
  for (const [kind, words] of Object.entries(value)) {
    if (!KEYWORD_KINDS.includes(kind))
      problems.push(`${where}.${kind} is unknown (known: ${KEYWORD_KINDS.join(', ')})`);
    else if (!Array.isArray(words) || words.some((w) => typeof w !== 'string' || w.trim() === '')) {
      problems.push(`${where}.${kind} must be a list of words, e.g. ["BASTA"]`);
    }
  }
}

function collect<T>(problems: string[], check: () => T): T | undefined {
  try {
    return check();
  } catch (error) {
    problems.push((error as Error).message);
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
