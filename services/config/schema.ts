import { FormatRegistry, Type, type Static, type TSchema } from '@sinclair/typebox';
import { isSupportedCountry } from 'libphonenumber-js/max';
import { SCOPES, type RateLimits, type Scope } from '../access/index.js';
import { NAME_PATTERN, type Region } from '../ledger/index.js';
import { POSTGRES_TABLE, REDIS_PREFIX, VIEW_NAME } from '../projector/index.js';

/*
 * The configuration as TypeBox schemas: what the environment and the configuration file may say, with
 * their defaults, and the shape loadConfig hands out. Beside the JSON Schema keywords, nodes carry:
 *   fix       — what a wrong value must be ("must be …"); an error deeper down that has no fix of its
 *               own is reported at the nearest node that has one (see problems.ts).
 *   missing   — said instead of `fix` when a required string is absent or empty.
 *   show      — the file's messages quote the offending value.
 *   what      — an object's name in "… is unknown for <what>".
 *   keyFix    — what a record's key must be.
 *   read      — how an environment variable's text becomes the value (see settings.ts).
 *   discriminator — the property that picks a union's member, so its errors are the member's own.
 */

/** Region codes are checked with libphonenumber, which knows which countries it can parse numbers of. */
FormatRegistry.Set('ledger-region', (value) => isSupportedCountry(value));

/** The type of a loaded configuration: nothing in it changes after the start. */
export type Frozen<T> = T extends readonly (infer U)[]
  ? readonly Frozen<U>[]
  : T extends object
    ? { readonly [K in keyof T]: Frozen<T[K]> }
    : T;

const wholeNumber = (minimum: number, maximum: number, fallback: number, help: string) =>
  Type.Integer({ minimum, maximum, default: fallback, description: help });
const text = (fallback: string, help: string) => Type.String({ default: fallback, description: help });
/** Text whose surrounding blanks are dropped; blank means unset. */
const trimmed = (help: string) => Type.Optional(Type.String({ read: 'trimmed', description: help }));
const nonEmpty = Type.String({ minLength: 1, fix: 'must be a non-empty string' });

const brandName = (what: string) =>
  Type.String({
    pattern: NAME_PATTERN,
    fix: `is not a valid ${what} name: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
  });

// ---------------------------------------------------------------------------------------------------
// The environment: one property per variable, its description the help `ledger --help` could print.
// ---------------------------------------------------------------------------------------------------

const Port = wholeNumber(0, 65535, 8080, 'HTTP port (default 8080)');
const RegionCode = Type.Unsafe<Region>(
  Type.String({
    format: 'ledger-region',
    default: 'US',
    read: 'upper-case',
    fix: 'is not an ISO 3166 country code libphonenumber knows (e.g. US, CA, GB)',
    description: 'ISO country for numbers written without +country code (default US)',
  }),
);
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const LogLevel = Type.Union(
  LOG_LEVELS.map((level) => Type.Literal(level)),
  {
    default: 'info',
    fix: `must be one of ${LOG_LEVELS.join(', ')}`,
    description: `${LOG_LEVELS.join('|')} (default info)`,
  },
);
const Brokers = Type.Array(
  Type.String({
    pattern: '^[A-Za-z0-9.-]+:\\d{1,5}$|^\\[[0-9a-fA-F:]+\\]:\\d{1,5}$',
    fix: 'is not host:port (e.g. 127.0.0.1:9092)',
  }),
  { read: 'list', description: 'Kafka bootstrap servers host:port,... (switches to Kafka mode)' },
);
const Topic = Type.String({
  pattern: '^[A-Za-z0-9._-]{1,249}$',
  default: 'ledger.events',
  fix: 'is not a valid Kafka topic name (letters, digits, . _ -; at most 249)',
  description: 'Kafka topic of the log (default ledger.events)',
});
const Partitions = wholeNumber(1, 1024, 6, 'partitions when the ledger creates the topic (default 6)');
const ReplicationFactor = Type.Union([Type.Literal(-1), Type.Integer({ minimum: 1, maximum: 16 })], {
  default: -1,
  read: 'number',
  fix: "must be -1 (the broker's default) or a whole number from 1 to 16",
  description: 'replication when the ledger creates the topic (default -1: the broker default)',
});
const milliseconds = (fallback: number, help: string) => wholeNumber(100, 3_600_000, fallback, help);
const RequestTimeout = milliseconds(
  30_000,
  'a request (headers and body) must arrive within this, or it gets 408 and the connection closes (default 30000)',
);
const HeadersTimeout = milliseconds(
  10_000,
  'request headers must arrive within this; at most LEDGER_REQUEST_TIMEOUT_MS (default 10000)',
);
const IdleTimeout = milliseconds(
  120_000,
  'a connection silent both ways this long is closed; more than LEDGER_READ_WAIT_MS (default 120000)',
);
const KeepAliveTimeout = milliseconds(
  72_000,
  'how long an idle keep-alive connection waits for its next request (default 72000, above common load balancers)',
);
const MaxConnectionsPerClient = wholeNumber(
  0,
  1_000_000,
  1024,
  'connections one remote address may hold; more get 503 and are closed (default 1024; 0: no cap)',
);

/** Every setting the ledger reads; anything else named LEDGER_* is a typo and stops the start. */
export const SettingsSchema = Type.Object(
  {
    PORT: Port,
    HOST: text('127.0.0.1', 'address to listen on (default 127.0.0.1; 0.0.0.0 to accept remote senders)'),
    LEDGER_DATA_DIR: text('./data', 'directory of the embedded log (default ./data)'),
    LEDGER_LOG_MAX_BYTES: Type.Optional(
      Type.Integer({
        minimum: 65_536,
        maximum: Number.MAX_SAFE_INTEGER,
        description:
          'cap on the embedded log file; beyond it appends answer 503 as on a full disk (default: none)',
      }),
    ),
    LEDGER_DEFAULT_REGION: RegionCode,
    LEDGER_DEFAULT_BRAND: Type.String({
      ...brandName('brand'),
      default: 'default',
      description: 'brand of requests that name none (default "default")',
    }),
    LEDGER_CONFIG_FILE: Type.Optional(
      Type.String({
        read: 'unless-empty',
        description: 'JSON file with brands (templates, opt-out scope) and numbers (to → brand)',
      }),
    ),
    LEDGER_MAX_STALENESS_MS: wholeNumber(
      1,
      86_400_000,
      5000,
      'checks fail closed when the view is this far behind the log (default 5000)',
    ),
    LEDGER_READ_WAIT_MS: wholeNumber(
      0,
      60_000,
      2000,
      'how long a check with minPosition waits for the view (default 2000)',
    ),
    LEDGER_BODY_LIMIT_BYTES: wholeNumber(
      1024,
      256 * 1_048_576,
      1_048_576,
      'largest request body (default 1048576); the batch check takes what LEDGER_BATCH_CHECK_MAX phones need',
    ),
    LEDGER_BATCH_CHECK_MAX: wholeNumber(
      1,
      10_000_000,
      100_000,
      'most phones in one batch check (default 100000); its body may be up to 68 bytes a phone',
    ),
    LEDGER_LOG_LEVEL: LogLevel,
    LEDGER_API_KEY: Type.Optional(
      Type.String({ description: 'the API key secret CLI commands send as "Authorization: Bearer"' }),
    ),
    LEDGER_URL: Type.Optional(
      Type.String({
        description: 'where CLI commands find a running ledger (default http://127.0.0.1:8080)',
      }),
    ),
    LEDGER_KAFKA_BROKERS: Type.Optional(Brokers),
    LEDGER_TOPIC: Topic,
    LEDGER_PARTITIONS: Partitions,
    LEDGER_REPLICATION_FACTOR: ReplicationFactor,
    LEDGER_PUBLIC_URL: trimmed(
      'base URL Twilio calls, e.g. https://ledger.example.com, when behind a proxy (default: from the request)',
    ),
    LEDGER_OUTBOUND_URL: trimmed(
      'HTTP endpoint that sends confirmation texts (JSON POST, Idempotency-Key); unset: confirmations go in the webhook reply',
    ),
    LEDGER_OUTBOUND_TOKEN: trimmed('bearer token for LEDGER_OUTBOUND_URL'),
    LEDGER_REQUEST_TIMEOUT_MS: RequestTimeout,
    LEDGER_HEADERS_TIMEOUT_MS: HeadersTimeout,
    LEDGER_IDLE_TIMEOUT_MS: IdleTimeout,
    LEDGER_KEEP_ALIVE_TIMEOUT_MS: KeepAliveTimeout,
    LEDGER_MAX_CONNECTIONS_PER_CLIENT: MaxConnectionsPerClient,
    TWILIO_AUTH_TOKEN: trimmed(
      'Twilio auth token: POST /v1/inbound/twilio checks X-Twilio-Signature with it (unset: unchecked)',
    ),
  },
  { additionalProperties: false },
);
export type Settings = Static<typeof SettingsSchema>;

// ---------------------------------------------------------------------------------------------------
// The configuration file (LEDGER_CONFIG_FILE).
// ---------------------------------------------------------------------------------------------------

const Words = Type.Array(Type.String({ pattern: '\\S' }), {
  fix: 'must be a list of words, e.g. ["BASTA"]',
});
const Keywords = Type.Object(
  { optOut: Type.Optional(Words), optIn: Type.Optional(Words), help: Type.Optional(Words) },
  { additionalProperties: false, fix: 'must be {"optOut"?: [...], "optIn"?: [...], "help"?: [...]}' },
);
const template = () => Type.Optional(Type.String({ fix: 'must be a string' }));
const BrandSchema = Type.Object(
  {
    /** The sender as people know it, printed by {brand} in the replies; without one, neutral wording. */
    displayName: Type.Optional(
      Type.String({
        pattern: '\\S',
        fix: 'must name the sender as people know it (e.g. "Acme Coffee"), or be left out for neutral wording',
      }),
    ),
    optOutScope: Type.Optional(
      Type.Union([Type.Literal('brand'), Type.Literal('program')], { fix: 'must be "brand" or "program"' }),
    ),
    confirmation: template(),
    optInReply: template(),
    helpReply: template(),
    /** The brand's own words, on top of the built-in ones. */
    keywords: Type.Optional(Keywords),
  },
  { additionalProperties: false, fix: 'must be an object' },
);
const Brands = Type.Record(Type.String({ pattern: NAME_PATTERN }), BrandSchema, {
  additionalProperties: false,
  fix: 'must be {"<brand>": {...}}',
  keyFix: brandName('brand').fix as string,
});

const NumberRouteSchema = Type.Object(
  { brand: brandName('brand'), program: Type.Optional(brandName('program')) },
  { fix: 'must be {"brand": "...", "program"?: "..."}' },
);
/** Our sending numbers (E.164 or short codes) → the brand and program they belong to. */
const Numbers = Type.Record(Type.String(), NumberRouteSchema, {
  fix: 'must be {"<number>": {"brand": "...", "program"?: "..."}}',
});

const viewCommon = {
  /** Its name in /v1/views, ?system=, `ledger rebuild <name>`; also its consumer group on Kafka. */
  name: Type.String({ pattern: VIEW_NAME.pattern, fix: VIEW_NAME.fix }),
  /** Checks against this view fail closed when it is this far behind the log (default LEDGER_MAX_STALENESS_MS). */
  maxStalenessMs: Type.Optional(
    Type.Integer({ minimum: 1, fix: 'must be a whole number of milliseconds ≥ 1' }),
  ),
};
export const RedisViewSchema = Type.Object(
  {
    ...viewCommon,
    kind: Type.Literal('redis'),
    url: Type.String({
      minLength: 1,
      pattern: '^rediss?://',
      fix: 'must be redis://host:port/db',
      missing: 'must be a non-empty string',
    }),
    /** Every key of the view starts with it (default `ledger:<name>`). */
    prefix: Type.Optional(Type.String({ pattern: REDIS_PREFIX.pattern, fix: REDIS_PREFIX.fix, show: true })),
  },
  { additionalProperties: false, what: 'a redis view' },
);
export const PostgresViewSchema = Type.Object(
  {
    ...viewCommon,
    kind: Type.Literal('postgres'),
    connectionString: nonEmpty,
    /** The prefix of its tables (default `ledger_<name>`, sanitised). */
    table: Type.Optional(Type.String({ pattern: POSTGRES_TABLE.pattern, fix: POSTGRES_TABLE.fix })),
    schema: Type.Optional(nonEmpty),
  },
  { additionalProperties: false, what: 'a postgres view' },
);
export const WebhookViewSchema = Type.Object(
  {
    ...viewCommon,
    kind: Type.Literal('webhook'),
    /** Checked and normalised as a URL after the schema (see config.ts). */
    url: nonEmpty,
    headers: Type.Optional(
      Type.Record(Type.String(), Type.String(), { fix: 'must be {"Header-Name": "value", ...}' }),
    ),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  },
  { additionalProperties: false, what: 'a webhook view' },
);
const ViewSchema = Type.Union([RedisViewSchema, PostgresViewSchema, WebhookViewSchema], {
  discriminator: 'kind',
  fix: 'must be {"name", "kind": "redis"|"postgres"|"webhook", ...}',
});
const Views = Type.Array(ViewSchema, {
  fix: 'must be a list of {"name", "kind": "redis"|"postgres"|"webhook", ...}',
});

const KEY_HINT = `(create one with "ledger keys create --id <id> --scopes ${SCOPES[0]}")`;
const ScopeSchema = Type.Unsafe<Scope>(Type.Union(SCOPES.map((scope) => Type.Literal(scope))));
const ApiKeySchema = Type.Object(
  {
    sha256: Type.String({
      pattern: '^[0-9a-fA-F]{64}$',
      fix: `must be the 64-hex-digit SHA-256 of the secret, never the secret ${KEY_HINT}`,
    }),
    scopes: Type.Array(ScopeSchema, {
      minItems: 1,
      fix: `must be a non-empty list of ${SCOPES.join(', ')}`,
    }),
    /** `["*"]` for every brand. */
    brands: Type.Array(Type.String({ pattern: `^\\*$|${NAME_PATTERN}` }), {
      minItems: 1,
      fix: 'must be a non-empty list of brands, or ["*"] for every brand',
    }),
  },
  { additionalProperties: false, fix: `must be {"sha256", "scopes", "brands"} ${KEY_HINT}` },
);
const ApiKeys = Type.Record(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }), ApiKeySchema, {
  additionalProperties: false,
  fix: `must be {"<keyId>": {"sha256", "scopes", "brands"}} ${KEY_HINT}`,
  keyFix: "is not a key id: a key id is 1-64 letters, digits, '.', '_' or '-'",
});

/** Checks never throttled at a sender's normal rate; writes generous; both per key per minute. */
export const DEFAULT_RATE_LIMITS: RateLimits = { checksPerMinute: 6_000_000, writesPerMinute: 60_000 };
const perMinute = (fallback: number) =>
  Type.Integer({ minimum: 1, default: fallback, fix: 'must be a whole number ≥ 1' });
const RateLimitsSchema = Type.Object(
  {
    /** Checks (single, batch, classify) per key (or per IP without keys) per minute. */
    checksPerMinute: perMinute(DEFAULT_RATE_LIMITS.checksPerMinute),
    /** Every other keyed request per key (or IP) per minute. */
    writesPerMinute: perMinute(DEFAULT_RATE_LIMITS.writesPerMinute),
  },
  { additionalProperties: false, fix: 'must be {"checksPerMinute"?, "writesPerMinute"?}' },
);
const MetricsScope = Type.Unsafe<Scope>({ ...ScopeSchema, fix: `must be one of ${SCOPES.join(', ')}` });

/*
 * No section has a `default`: TypeBox's Value.Default merges an object default into whatever object it
 * finds (a list given for a record, a record for a list), which would hide the mistake. Absent sections
 * are filled in after the check (see config.ts).
 */
export const FileSchema = Type.Object(
  {
    brands: Type.Optional(Brands),
    numbers: Type.Optional(Numbers),
    views: Type.Optional(Views),
    apiKeys: Type.Optional(ApiKeys),
    rateLimits: Type.Optional(RateLimitsSchema),
    metricsScope: Type.Optional(MetricsScope),
  },
  { additionalProperties: false },
);
export type FileContents = Static<typeof FileSchema>;

// ---------------------------------------------------------------------------------------------------
// The loaded configuration, built from the two above.
// ---------------------------------------------------------------------------------------------------

const orUnset = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Undefined()]);

export const HttpLimitsSchema = Type.Object({
  /** The whole request (headers and body) must arrive within this; then 408 and the connection closes. */
  requestTimeoutMs: RequestTimeout,
  /** The headers must arrive within this (at most the request timeout). */
  headersTimeoutMs: HeadersTimeout,
  /** A connection with no traffic either way for this long is closed (longer than a check's wait). */
  idleTimeoutMs: IdleTimeout,
  /** How long an idle keep-alive connection is kept for the client's next request. */
  keepAliveTimeoutMs: KeepAliveTimeout,
  /** Connections one remote address may hold at once; more are answered 503 and closed (0: no cap). */
  maxConnectionsPerClient: MaxConnectionsPerClient,
});

export const KafkaSchema = Type.Object({
  brokers: Brokers,
  topic: Topic,
  /** For creating the topic only; an existing topic keeps its partitions. */
  partitions: Partitions,
  /** For creating the topic only; -1 takes the broker's default. */
  replicationFactor: ReplicationFactor,
});

export const ConfigSchema = Type.Object({
  port: Port,
  host: Type.String(),
  dataDir: Type.String(),
  /** Caps the embedded log's file (LEDGER_LOG_MAX_BYTES): appends beyond it answer 503 as on a full disk. */
  logMaxBytes: orUnset(Type.Integer({ minimum: 65_536 })),
  defaultRegion: RegionCode,
  directory: Type.Object({ defaultBrand: brandName('brand'), brands: Brands, numbers: Numbers }),
  maxStalenessMs: SettingsSchema.properties.LEDGER_MAX_STALENESS_MS,
  readWaitMs: SettingsSchema.properties.LEDGER_READ_WAIT_MS,
  bodyLimitBytes: SettingsSchema.properties.LEDGER_BODY_LIMIT_BYTES,
  batchCheckMax: SettingsSchema.properties.LEDGER_BATCH_CHECK_MAX,
  logLevel: LogLevel,
  /** Kafka mode, when LEDGER_KAFKA_BROKERS is set; the embedded log otherwise. */
  kafka: orUnset(KafkaSchema),
  /** Twilio webhooks are signature-checked with this token when it is set; accepted unsigned otherwise. */
  twilioAuthToken: orUnset(Type.String()),
  /**
   * The base URL callers use to reach the ledger (no trailing slash), when a proxy in front rewrites
   * the protocol, host or path; undefined to take them from the request.
   */
  publicUrl: orUnset(Type.String()),
  /** Where confirmations are POSTed for sending, when the provider's webhook reply is not used. */
  outbound: orUnset(Type.Object({ url: Type.String(), token: Type.Optional(Type.String()) })),
  /** The sending systems' own views, fed from the log beside the central one (LEDGER_CONFIG_FILE "views"). */
  views: Views,
  /** How long the HTTP server waits on a client, and how many connections one client may hold. */
  http: HttpLimitsSchema,
  /** API keys by key id (LEDGER_CONFIG_FILE "apiKeys"); none: loopback only, every caller is `local`. */
  apiKeys: ApiKeys,
  /** Per key (per address without keys) per minute (LEDGER_CONFIG_FILE "rateLimits"). */
  rateLimits: RateLimitsSchema,
  /** The scope GET /metrics needs when keys are configured (LEDGER_CONFIG_FILE "metricsScope"); open when unset. */
  metricsScope: orUnset(ScopeSchema),
});

export type Config = Frozen<Static<typeof ConfigSchema>>;
export type HttpLimits = Config['http'];
export type KafkaConfig = Frozen<Static<typeof KafkaSchema>>;
export type ViewConfig = Config['views'][number];
export type RedisViewConfig = Extract<ViewConfig, { kind: 'redis' }>;
export type PostgresViewConfig = Extract<ViewConfig, { kind: 'postgres' }>;
export type WebhookViewConfig = Extract<ViewConfig, { kind: 'webhook' }>;
