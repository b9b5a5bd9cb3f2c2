import { Value } from '@sinclair/typebox/value';
import { loadConfig, SETTINGS } from './config.js';
import { ConfigSchema } from './schema.js';

describe('the Twilio webhook settings', () => {
  it('are unset by default', () => {
    const config = loadConfig({});
    expect(config.twilioAuthToken).toBeUndefined();
    expect(config.publicUrl).toBeUndefined();
  });

  it('read the auth token and the public base URL, without a trailing slash', () => {
    const config = loadConfig({
      TWILIO_AUTH_TOKEN: ' 12345678901234567890123456789012\n',
      LEDGER_PUBLIC_URL: 'https://ledger.example.com/sms/',
    });
    expect(config.twilioAuthToken).toBe('12345678901234567890123456789012');
    expect(config.publicUrl).toBe('https://ledger.example.com/sms');
  });

  it.each(['ledger.example.com', 'ftp://ledger.example.com', 'https://ledger.example.com/?a=1'])(
    'refuse LEDGER_PUBLIC_URL=%s, saying what to write',
    (url) => {
      expect(() => loadConfig({ LEDGER_PUBLIC_URL: url })).toThrow(
        /LEDGER_PUBLIC_URL=.* must be an http\(s\) base URL such as https:\/\/ledger\.example\.com/,
      );
    },
  );
});

describe('the brands file', () => {
  const withFile = (content: object) => () =>
    loadConfig({ LEDGER_CONFIG_FILE: 'brands.json' }, () => JSON.stringify(content));

  it("takes a brand's own keywords", () => {
    const config = withFile({ brands: { acme: { keywords: { optOut: ['BASTA'], help: ['SOS'] } } } })();
    expect(config.directory.brands.acme?.keywords).toEqual({ optOut: ['BASTA'], help: ['SOS'] });
  });

  it('refuses keywords that are not lists of words, saying where', () => {
    expect(withFile({ brands: { acme: { keywords: { optOut: 'BASTA' } } } })).toThrow(
      /brands\.acme\.keywords\.optOut must be a list of words/,
    );
    expect(withFile({ brands: { acme: { keywords: { stop: ['X'] } } } })).toThrow(
      /brands\.acme\.keywords\.stop is unknown/,
    );
  });

  it('checks the confirmation template against the brand name it will carry', () => {
    expect(withFile({ brands: { acme: { displayName: 'Acme', confirmation: 'Done.' } } })).toThrow(
      /brands\.acme\.confirmation: name the sender[\s\S]*brands\.acme\.confirmation: say that the person is unsubscribed/,
    );
    expect(
      withFile({
        brands: {
          acme: {
            displayName: 'Acme',
            confirmation: 'Acme: you are unsubscribed and will receive no more messages.',
          },
        },
      }),
    ).not.toThrow();
  });
});

describe("a brand's display name (the sender the confirmation names)", () => {
  const withFile = (content: object) => () =>
    loadConfig({ LEDGER_CONFIG_FILE: 'brands.json' }, () => JSON.stringify(content));

  it('is taken as configured', () => {
    expect(withFile({ brands: { acme: { displayName: 'Acme Coffee' } } })().directory.brands.acme).toEqual({
      displayName: 'Acme Coffee',
    });
  });

  it.each(['', '   '])('refuses an empty one (%j), saying what to write', (displayName) => {
    expect(withFile({ brands: { acme: { displayName } } })).toThrow(
      /brands\.acme\.displayName must name the sender as people know it/,
    );
  });

  it('refuses one the default confirmation could not carry in one GSM-7 segment', () => {
    expect(withFile({ brands: { acme: { displayName: 'Acme ☕' } } })).toThrow(
      /brands\.acme\.displayName: use GSM-7 characters only/,
    );
    expect(withFile({ brands: { acme: { displayName: 'A'.repeat(90) } } })).toThrow(
      /brands\.acme\.displayName: keep it to 160 GSM-7 characters/,
    );
  });

  it('is required when a template names {brand}: the internal id is never printed instead', () => {
    expect(
      withFile({
        brands: {
          acme: { confirmation: '{brand}: You are unsubscribed and will receive no more messages.' },
        },
      }),
    ).toThrow(/brands\.acme\.displayName is required: its confirmation names the sender with \{brand\}/);
    expect(withFile({ brands: { acme: { helpReply: '{brand}: reply STOP to unsubscribe.' } } })).toThrow(
      /brands\.acme\.displayName is required: its helpReply names the sender with \{brand\}/,
    );
  });
});

describe('the system views ("views" in the configuration file)', () => {
  const withViews = (views: unknown) => () =>
    loadConfig({ LEDGER_CONFIG_FILE: 'ledger.json' }, () => JSON.stringify({ views }));

  it('takes one view of each kind, with its options', () => {
    const views = [
      {
        name: 'crm-redis',
        kind: 'redis',
        url: 'redis://127.0.0.1:6379/0',
        prefix: 'crm',
        maxStalenessMs: 2000,
      },
      { name: 'warehouse', kind: 'postgres', connectionString: 'postgres://127.0.0.1/test', table: 'wh' },
      {
        name: 'salesforce',
        kind: 'webhook',
        url: 'https://crm.example.com/hook',
        headers: { 'X-Key': 'k' },
        maxAttempts: 5,
      },
    ];
    expect(withViews(views)().views).toEqual(views);
    expect(loadConfig({}).views).toEqual([]);
  });

  it.each([
    [[{ name: 'memory', kind: 'redis', url: 'redis://x' }], /name "memory" is taken/],
    [
      [
        { name: 'a', kind: 'redis', url: 'redis://x' },
        { name: 'a', kind: 'redis', url: 'redis://y' },
      ],
      /name "a" is taken/,
    ],
    [[{ name: 'Bad Name', kind: 'redis', url: 'redis://x' }], /name must be 1-48 lower-case/],
    [[{ name: 'r', kind: 'mongo' }], /kind must be "redis", "postgres" or "webhook"/],
    [[{ name: 'r', kind: 'redis' }], /views\[0\]\.url must be a non-empty string/],
    [[{ name: 'r', kind: 'redis', url: 'http://x' }], /url must be redis:\/\/host:port\/db/],
    [
      [{ name: 'p', kind: 'postgres', connectionString: 'postgres://x', table: 'Drop Table' }],
      /table must be a lower-case SQL name/,
    ],
    [[{ name: 'w', kind: 'webhook', url: 'ftp://x' }], /url=ftp:\/\/x must be an http\(s\) URL/],
    [
      [{ name: 'w', kind: 'webhook', url: 'https://x', maxAttempts: 0 }],
      /maxAttempts must be a whole number from 1 to 100/,
    ],
    [
      [{ name: 'w', kind: 'webhook', url: 'https://x', prefix: 'p' }],
      /views\[0\]\.prefix is unknown for a webhook view/,
    ],
    [
      [{ name: 'r', kind: 'redis', url: 'redis://x', maxStalenessMs: -1 }],
      /maxStalenessMs must be a whole number/,
    ],
    [{ name: 'r' }, /views must be a list/],
  ])('refuses %j, saying what to fix', (views, message) => {
    expect(withViews(views)).toThrow(message);
  });

  // Two views writing one store would each overwrite the other's rows and checkpoint: either could
  // then answer "allowed" for a number the log says is suppressed.
  it.each([
    [
      'two Redis views with one prefix',
      [
        { name: 'a', kind: 'redis', url: 'redis://x', prefix: 'crm' },
        { name: 'b', kind: 'redis', url: 'redis://y', prefix: 'crm' },
      ],
      /views\[1\]\.prefix "crm" is already used by view "a": give each Redis view its own prefix/,
    ],
    [
      "a Redis prefix equal to another view's default",
      [
        { name: 'a', kind: 'redis', url: 'redis://x' },
        { name: 'b', kind: 'redis', url: 'redis://x', prefix: 'ledger:a' },
      ],
      /views\[1\]\.prefix "ledger:a" is already used by view "a"/,
    ],
    [
      "a Redis prefix nested in another's keys",
      [
        { name: 'a', kind: 'redis', url: 'redis://x', prefix: 'crm' },
        { name: 'b', kind: 'redis', url: 'redis://x', prefix: 'crm:b' },
      ],
      /views\[1\]\.prefix "crm:b" overlaps the keys of view "a" \(prefix "crm"\)/,
    ],
    [
      "a Redis prefix on another view's rebuild keys",
      [
        { name: 'a', kind: 'redis', url: 'redis://x', prefix: 'crm' },
        { name: 'b', kind: 'redis', url: 'redis://x', prefix: 'crm~staging' },
      ],
      /views\[1\]\.prefix "crm~staging" overlaps the keys of view "a"/,
    ],
    [
      'a Redis prefix with glob characters',
      [{ name: 'a', kind: 'redis', url: 'redis://x', prefix: 'crm*' }],
      /views\[0\]\.prefix "crm\*" must not contain \*, \?, \[, \] or \\ \(Redis reads them as a pattern\)/,
    ],
    [
      'two PostgreSQL views with one table',
      [
        { name: 'a', kind: 'postgres', connectionString: 'postgres://x', table: 'wh' },
        { name: 'b', kind: 'postgres', connectionString: 'postgres://x', table: 'wh' },
      ],
      /views\[1\]\.table "wh" is already used by view "a": give each PostgreSQL view its own table/,
    ],
    [
      'two PostgreSQL views whose names give one default table',
      [
        { name: 'a-b', kind: 'postgres', connectionString: 'postgres://x' },
        { name: 'a_b', kind: 'postgres', connectionString: 'postgres://x' },
      ],
      /views\[1\]\.table "ledger_a_b" \(the default for its name\) is already used by view "a-b"/,
    ],
    [
      "a PostgreSQL table on another view's rebuild tables",
      [
        { name: 'a', kind: 'postgres', connectionString: 'postgres://x', table: 'wh' },
        { name: 'b', kind: 'postgres', connectionString: 'postgres://x', table: 'wh_staging' },
      ],
      /views\[1\]\.table "wh_staging" overlaps the tables of view "a"/,
    ],
  ])('refuses %s, saying what to fix', (_case, views, message) => {
    expect(withViews(views)).toThrow(message);
  });

  it('takes PostgreSQL views with one table name in different schemas', () => {
    const views = [
      { name: 'a', kind: 'postgres', connectionString: 'postgres://x', table: 'wh' },
      { name: 'b', kind: 'postgres', connectionString: 'postgres://x', table: 'wh', schema: 'other' },
    ];
    expect(withViews(views)().views).toEqual(views);
  });
});

describe('the outbound gateway for confirmations', () => {
  it('is off by default, and reads the URL and token', () => {
    expect(loadConfig({}).outbound).toBeUndefined();
    expect(
      loadConfig({ LEDGER_OUTBOUND_URL: 'https://sms.example.com/send', LEDGER_OUTBOUND_TOKEN: ' t0k ' })
        .outbound,
    ).toEqual({ url: 'https://sms.example.com/send', token: 't0k' });
  });

  it('refuses a URL that is not http(s)', () => {
    expect(() => loadConfig({ LEDGER_OUTBOUND_URL: 'sms.example.com' })).toThrow(
      /LEDGER_OUTBOUND_URL=sms\.example\.com must be an http\(s\) URL/,
    );
  });
});

describe('the HTTP limits', () => {
  it('have defaults that close slow clients and cap connections per client', () => {
    expect(loadConfig({}).http).toEqual({
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 10_000,
      idleTimeoutMs: 120_000,
      keepAliveTimeoutMs: 72_000,
      maxConnectionsPerClient: 1024,
    });
  });

  it('refuse headers allowed longer than the whole request, or an idle timeout a check could outwait', () => {
    expect(() =>
      loadConfig({ LEDGER_REQUEST_TIMEOUT_MS: '1000', LEDGER_HEADERS_TIMEOUT_MS: '2000' }),
    ).toThrow(/LEDGER_HEADERS_TIMEOUT_MS=2000 must not exceed LEDGER_REQUEST_TIMEOUT_MS=1000/);
    expect(() => loadConfig({ LEDGER_IDLE_TIMEOUT_MS: '1000', LEDGER_READ_WAIT_MS: '2000' })).toThrow(
      /LEDGER_IDLE_TIMEOUT_MS=1000 must be more than LEDGER_READ_WAIT_MS=2000/,
    );
  });
});

describe('API keys in the configuration file', () => {
  const withFile = (content: object) => () =>
    loadConfig({ LEDGER_CONFIG_FILE: 'ledger.json' }, () => JSON.stringify(content));
  const SHA = 'a'.repeat(64);

  it('are none by default, with generous rate limits and /metrics open', () => {
    const config = loadConfig({});
    expect(config.apiKeys).toEqual({});
    expect(config.metricsScope).toBeUndefined();
    expect(config.rateLimits.checksPerMinute).toBeGreaterThanOrEqual(1_000_000);
  });

  it('takes a key by id with its hash, scopes and brands, and the limits', () => {
    const config = withFile({
      apiKeys: { sender: { sha256: SHA, scopes: ['checks:read'], brands: ['acme'] } },
      rateLimits: { writesPerMinute: 10 },
      metricsScope: 'admin',
    })();
    expect(config.apiKeys).toEqual({ sender: { sha256: SHA, scopes: ['checks:read'], brands: ['acme'] } });
    expect(config.rateLimits.writesPerMinute).toBe(10);
    expect(config.metricsScope).toBe('admin');
  });

  it('refuses what would not authenticate as meant, saying what to fix', () => {
    expect(withFile({ apiKeys: { k: { sha256: 'slk_secret', scopes: ['admin'], brands: ['*'] } } })).toThrow(
      /apiKeys\.k\.sha256 must be the 64-hex-digit SHA-256/,
    );
    expect(withFile({ apiKeys: { k: { sha256: SHA, scopes: ['checks:write'], brands: ['*'] } } })).toThrow(
      /apiKeys\.k\.scopes must be a non-empty list/,
    );
    expect(withFile({ apiKeys: { k: { sha256: SHA, scopes: ['admin'] } } })).toThrow(/apiKeys\.k\.brands/);
    expect(
      withFile({
        apiKeys: {
          a: { sha256: SHA, scopes: ['admin'], brands: ['*'] },
          b: { sha256: SHA, scopes: ['checks:read'], brands: ['*'] },
        },
      }),
    ).toThrow(/apiKeys\.b\.sha256 is another key's too/);
  });
});

describe('problems the schema finds, each naming the setting and what to write', () => {
  const problems = (env: Record<string, string>, file?: unknown): string => {
    try {
      loadConfig(file === undefined ? env : { LEDGER_CONFIG_FILE: 'ledger.json', ...env }, () =>
        JSON.stringify(file),
      );
    } catch (error) {
      expect(error).toMatchObject({ code: 'invalid_config' });
      return (error as Error).message;
    }
    throw new Error('the configuration was taken');
  };

  it('refuses an unknown LEDGER_* variable by name, and leaves other variables alone', () => {
    expect(problems({ LEDGER_PROT: '8080', PATH: '/bin' })).toMatch(
      /LEDGER_PROT is not a setting of the ledger \(known: PORT, HOST, /,
    );
    expect(() => loadConfig({ PATH: '/bin', HOME: '/root' })).not.toThrow();
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT=eighty must be a whole number from 0 to 65535/],
    [{ PORT: '80.5' }, /PORT=80\.5 must be a whole number from 0 to 65535/],
    [{ PORT: '70000' }, /PORT=70000 must be a whole number from 0 to 65535/],
    [{ LEDGER_LOG_MAX_BYTES: '5' }, /LEDGER_LOG_MAX_BYTES=5 must be a whole number from 65536 to/],
    [{ LEDGER_LOG_LEVEL: 'loud' }, /LEDGER_LOG_LEVEL=loud must be one of fatal, error, warn, info/],
    [{ LEDGER_DEFAULT_REGION: 'xx' }, /LEDGER_DEFAULT_REGION=xx is not an ISO 3166 country code/],
    [{ LEDGER_DEFAULT_BRAND: 'a b' }, /LEDGER_DEFAULT_BRAND=a b is not a valid brand name: use 1-64/],
    [{ LEDGER_KAFKA_BROKERS: 'k1:9092, k2' }, /LEDGER_KAFKA_BROKERS: "k2" is not host:port/],
    [
      { LEDGER_REPLICATION_FACTOR: '0' },
      /LEDGER_REPLICATION_FACTOR=0 must be -1 .* or a whole number from 1 to 16/,
    ],
  ])('refuses the environment %j', (env, message) => {
    expect(problems(env)).toMatch(message);
  });

  it.each([
    [{ brandz: {} }, /ledger\.json: brandz is unknown \(known: brands, numbers, views, apiKeys/],
    [{ brands: ['acme'] }, /ledger\.json: brands must be \{"<brand>": \{\.\.\.\}\}/],
    [{ brands: { acme: { confirmation: 5 } } }, /brands\.acme\.confirmation must be a string/],
    [{ brands: { acme: { optOutScope: 'all' } } }, /brands\.acme\.optOutScope must be "brand" or "program"/],
    [{ brands: { 'acme us': {} } }, /brands\["acme us"\] is not a valid brand name/],
    [
      { numbers: { '+12015550150': { brand: 'a b' } } },
      /numbers\["\+12015550150"\]\.brand is not a valid brand name/,
    ],
    [
      { numbers: { '12345': 'acme' } },
      /numbers\["12345"\] must be \{"brand": "\.\.\.", "program"\?: "\.\.\."\}/,
    ],
    [{ views: ['crm'] }, /views\[0\] must be \{"name", "kind"/],
    [{ views: [{ kind: 'redis', url: 'redis://x' }] }, /views\[0\]\.name is required/],
    [
      { views: [{ name: 'w', kind: 'webhook', url: 'https://x', maxAttempts: 101 }] },
      /views\[0\]\.maxAttempts must be a whole number from 1 to 100/,
    ],
    [
      { views: [{ name: 'w', kind: 'webhook', url: 'https://x', maxAttempts: '3' }] },
      /views\[0\]\.maxAttempts must be a whole number from 1 to 100/,
    ],
    [{ rateLimits: { checksPerMinute: 0 } }, /rateLimits\.checksPerMinute must be a whole number ≥ 1/],
    [
      { rateLimits: { perHour: 5 } },
      /rateLimits\.perHour is unknown \(known: checksPerMinute, writesPerMinute\)/,
    ],
    [{ metricsScope: 'everyone' }, /metricsScope must be one of checks:read, /],
    [{ apiKeys: { 'a key': {} } }, /apiKeys\["a key"\] is not a key id/],
    [[], /ledger\.json: expected an object with "brands" and "numbers"/],
  ])('refuses the file %j', (file, message) => {
    expect(problems({}, file)).toMatch(message);
  });

  it('refuses a PostgreSQL view whose name gives a default table too long for PostgreSQL', () => {
    const name = 'a'.repeat(30);
    expect(problems({}, { views: [{ name, kind: 'postgres', connectionString: 'postgres://x' }] })).toMatch(
      new RegExp(
        `views\\[0\\]\\.table "ledger_${name}" \\(the default for its name\\) must be a lower-case SQL name of 1-34 .*set "table"`,
      ),
    );
  });

  it('reports every problem together, the environment first', () => {
    const message = problems(
      { PORT: 'x', LEDGER_READ_WAIT_MS: '-1' },
      { brands: { acme: { displayName: '' } }, views: [{ name: 'Bad', kind: 'redis', url: 'redis://x' }] },
    );
    expect(message.split('\n').slice(1)).toEqual([
      '  - PORT=x must be a whole number from 0 to 65535',
      '  - LEDGER_READ_WAIT_MS=-1 must be a whole number from 0 to 60000',
      expect.stringMatching(/^ {2}- ledger\.json: brands\.acme\.displayName must name the sender/),
      expect.stringMatching(/^ {2}- ledger\.json: views\[0\]\.name must be 1-48 lower-case/),
    ]);
  });
});

describe('the schemas', () => {
  it('describe every setting, and the configuration loadConfig hands out', () => {
    for (const [key, { help }] of Object.entries(SETTINGS))
      expect([key, help]).toEqual([key, expect.stringMatching(/\w/)]);
    const config = loadConfig(
      {
        LEDGER_KAFKA_BROKERS: '127.0.0.1:9092',
        LEDGER_OUTBOUND_URL: 'https://sms.example.com/send',
        LEDGER_CONFIG_FILE: 'ledger.json',
      },
      () =>
        JSON.stringify({
          brands: { acme: { displayName: 'Acme' } },
          numbers: { '+12015550150': { brand: 'acme' } },
          views: [{ name: 'crm', kind: 'redis', url: 'redis://x' }],
          apiKeys: { k: { sha256: 'a'.repeat(64), scopes: ['admin'], brands: ['*'] } },
        }),
    );
    expect(Value.Errors(ConfigSchema, config).First()).toBeUndefined();
    expect(Object.isFrozen(config.directory.numbers)).toBe(true);
  });
});
