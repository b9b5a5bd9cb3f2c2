import { loadConfig } from './config.js';

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
