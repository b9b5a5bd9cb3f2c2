import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createKey, SCOPES, type Scope } from '../../services/access/index.js';
import { removeDir, runCli, startChild, tempDir, type ChildLedger } from '../support/ledger-harness.js';

const PHONE = '+12015550123';
const OUR_NUMBER = '+15005550006';
const FORM = 'application/x-www-form-urlencoded';

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

async function send(
  url: string,
  method: string,
  path: string,
  { secret, body, headers = {} }: { secret?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await fetch(new URL(path, url), {
    method,
    headers: {
      ...(secret !== undefined && { authorization: `Bearer ${secret}` }),
      ...(body !== undefined && typeof body !== 'string' && { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // TwiML, NDJSON, metrics: kept as text.
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

interface Keys {
  readonly secrets: Record<string, string>;
  readonly apiKeys: Record<string, unknown>;
}

function makeKeys(specs: Record<string, { scopes: Scope[]; brands?: string[] }>): Keys {
  const secrets: Record<string, string> = {};
  const apiKeys: Record<string, unknown> = {};
  for (const [id, { scopes, brands = ['*'] }] of Object.entries(specs)) {
    const { secret, entry } = createKey(scopes, brands);
    secrets[id] = secret;
    apiKeys[id] = entry;
  }
  return { secrets, apiKeys };
}

async function startWith(dir: string, file: object, env: Record<string, string> = {}): Promise<ChildLedger> {
  const path = join(dir, 'ledger.json');
  writeFileSync(path, JSON.stringify(file));
  return startChild(join(dir, 'data'), { LEDGER_CONFIG_FILE: path, ...env });
}

/** Each route as a caller uses it, the scopes it needs, and what an allowed call answers. */
const ROUTES: readonly {
  name: string;
  method: string;
  path: (i: number) => string;
  body?: (i: number) => unknown;
  needs: readonly Scope[];
  allowed: readonly number[];
}[] = [
  {
    name: 'check',
    method: 'GET',
    path: () => `/v1/suppressions/${PHONE}`,
    needs: ['checks:read'],
    allowed: [200],
  },
  {
    name: 'batch check',
    method: 'POST',
    path: () => '/v1/suppressions/check',
    body: () => ({ phones: [PHONE] }),
    needs: ['checks:read'],
    allowed: [200],
  },
  {
    name: 'classify',
    method: 'POST',
    path: () => '/v1/classify',
    body: () => ({ text: 'STOP' }),
    needs: ['checks:read'],
    allowed: [200],
  },
  {
    name: 'opt-out',
    method: 'POST',
    path: () => '/v1/events',
    body: (i) => ({ type: 'opt_out', phone: `+1201555${String(1000 + i)}`, source: 'api' }),
    needs: ['events:write'],
    allowed: [201],
  },
  {
    name: 'opt-in',
    method: 'POST',
    path: () => '/v1/events',
    body: (i) => ({
      type: 'opt_in',
      phone: `+1201555${String(2000 + i)}`,
      source: 'web_form',
      evidence: { formUrl: 'https://acme.example/preferences', ip: '192.0.2.7' },
    }),
    needs: ['events:write', 'consent:write'],
    allowed: [201],
  },
  {
    name: 'inbound sms',
    method: 'POST',
    path: () => '/v1/inbound/sms',
    body: (i) => ({ from: `+1201555${String(3000 + i)}`, to: OUR_NUMBER, body: 'STOP' }),
    needs: ['events:write'],
    allowed: [200],
  },
  { name: 'reviews list', method: 'GET', path: () => '/v1/reviews', needs: ['audit:read'], allowed: [200] },
  {
    name: 'review decision',
    method: 'POST',
    path: () => '/v1/reviews/no-such-review',
    body: () => ({ decision: 'confirm' }),
    needs: ['reviews:write'],
    allowed: [404],
  },
  { name: 'audit', method: 'GET', path: () => `/v1/audit/${PHONE}`, needs: ['audit:read'], allowed: [200] },
  { name: 'export', method: 'GET', path: () => '/v1/export', needs: ['audit:read'], allowed: [200] },
  { name: 'views', method: 'GET', path: () => '/v1/views', needs: ['audit:read'], allowed: [200] },
  {
    name: 'rebuild progress',
    method: 'GET',
    path: () => '/v1/views/nothing/rebuild',
    needs: ['admin'],
    allowed: [404],
  },
  {
    name: 'reconcile',
    method: 'POST',
    path: () => '/v1/reconcile',
    body: () => ({}),
    needs: ['admin'],
    allowed: [200],
  },
];

describe('API keys on a running ledger', () => {
  const dir = tempDir('ledger-access-');
  const keys = makeKeys({
    ...Object.fromEntries(SCOPES.map((scope) => [scope.replace(':', '-'), { scopes: [scope] }])),
    consent: { scopes: ['events:write', 'consent:write'] },
    acme: { scopes: ['checks:read', 'events:write', 'audit:read', 'reviews:write'], brands: ['acme'] },
  });
  let ledger: ChildLedger;

  beforeAll(async () => {
    ledger = await startWith(dir, { apiKeys: keys.apiKeys, metricsScope: undefined });
  }, 30_000);
  afterAll(async () => {
    await ledger.kill('SIGTERM');
    removeDir(dir);
  });

  it('answers each route by the scopes of the key: allowed, or 403 naming the missing scope', async () => {
    const table: string[] = [];
    const ids = Object.keys(keys.secrets).filter((id) => id !== 'acme');
    let i = 0;
    for (const route of ROUTES) {
      for (const id of ids) {
        i += 1;
        const held = keys.apiKeys[id] as { scopes: Scope[] };
        const may = held.scopes.includes('admin') || route.needs.every((s) => held.scopes.includes(s));
        const answer = await send(ledger.url, route.method, route.path(i), {
          secret: keys.secrets[id] ?? '',
          ...(route.body !== undefined && { body: route.body(i) }),
        });
        const ok = may
          ? route.allowed.includes(answer.status)
          : answer.status === 403 &&
            (answer.body as { error: string; message: string }).error === 'forbidden' &&
            route.needs.some((s) => (answer.body as { message: string }).message.includes(s));
        if (!ok) table.push(`${route.name} with ${id}: ${answer.status} ${JSON.stringify(answer.body)}`);
      }
    }
    expect(table).toEqual([]);
  });

  it.each([
    ['no key', undefined],
    ['a wrong key', 'slk_not-a-key-of-this-ledger'],
  ])('answers %s with 401 and WWW-Authenticate: Bearer', async (_, secret) => {
    const answer = await send(ledger.url, 'GET', `/v1/suppressions/${PHONE}`, {
      ...(secret !== undefined && { secret }),
    });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(answer.body).toEqual({
      error: 'unauthorized',
      message: expect.stringContaining('Bearer') as string,
    });
  });

  it('keeps health, readiness, docs and metrics open', async () => {
    for (const path of ['/healthz', '/readyz', '/docs/json', '/metrics']) {
      expect([path, (await send(ledger.url, 'GET', path)).status]).toEqual([path, 200]);
    }
  });

  it('declares the bearer scheme and each route’s scope in OpenAPI', async () => {
    const spec = (await send(ledger.url, 'GET', '/docs/json')).body as {
      components: { securitySchemes: Record<string, { scheme: string }> };
      paths: Record<string, Record<string, { security?: unknown }>>;
    };
    expect(spec.components.securitySchemes.bearer?.scheme).toBe('bearer');
    expect(spec.paths['/v1/suppressions/{phone}']?.get?.security).toEqual([{ bearer: ['checks:read'] }]);
    expect(spec.paths['/v1/events']?.post?.security).toEqual([{ bearer: ['events:write'] }]);
  });

  it('holds a brand-limited key to its brands', async () => {
    const secret = keys.secrets.acme ?? '';
    const status = async (method: string, path: string, body?: unknown): Promise<number> =>
      (await send(ledger.url, method, path, { secret, ...(body !== undefined && { body }) })).status;
    expect(await status('GET', `/v1/suppressions/${PHONE}?brand=acme`)).toBe(200);
    expect(await status('GET', `/v1/suppressions/${PHONE}?brand=globex`)).toBe(403);
    // No brand named: the default brand, which this key may not act on.
    expect(await status('GET', `/v1/suppressions/${PHONE}`)).toBe(403);
    expect(await status('POST', '/v1/suppressions/check', { phones: [PHONE], brand: 'globex' })).toBe(403);
    expect(
      await status('POST', '/v1/events', { type: 'opt_out', phone: PHONE, brand: 'acme', source: 'api' }),
    ).toBe(201);
    expect(
      await status('POST', '/v1/events', { type: 'opt_out', phone: PHONE, brand: 'globex', source: 'api' }),
    ).toBe(403);
    expect(
      await status('POST', '/v1/inbound/sms', { from: PHONE, to: OUR_NUMBER, body: 'STOP', brand: 'globex' }),
    ).toBe(403);
    expect(await status('POST', '/v1/inbound/sms', { from: PHONE, to: OUR_NUMBER, body: 'STOP' })).toBe(403);
    // A phone's history spans brands: refused rather than shown in part; the export needs every brand.
    expect(await status('GET', `/v1/audit/${PHONE}`)).toBe(403);
    expect(await status('GET', '/v1/export')).toBe(403);
  });

  it('shows a brand-limited key only its brands’ reviews, and refuses a decision on another brand’s', async () => {
    const admin = keys.secrets.admin ?? '';
    for (const brand of ['acme', 'globex']) {
      const answer = await send(ledger.url, 'POST', '/v1/inbound/sms', {
        secret: admin,
        body: { from: PHONE, to: OUR_NUMBER, body: 'not interested', brand },
      });
      expect([brand, answer.status, (answer.body as { intent: string }).intent]).toEqual([
        brand,
        200,
        'review',
      ]);
    }
    const list = async (secret: string) =>
      (
        (await send(ledger.url, 'GET', '/v1/reviews', { secret })).body as {
          reviews: { id: string; brand: string }[];
        }
      ).reviews;
    const all = await list(admin);
    expect(new Set(all.map((r) => r.brand))).toEqual(new Set(['acme', 'globex']));
    expect((await list(keys.secrets.acme ?? '')).map((r) => r.brand)).toEqual(['acme']);
    const globex = all.find((r) => r.brand === 'globex');
    const decide = await send(ledger.url, 'POST', `/v1/reviews/${globex?.id ?? ''}`, {
      secret: keys.secrets.acme ?? '',
      body: { decision: 'dismiss' },
    });
    expect(decide.status).toBe(403);
    expect((await list(admin)).find((r) => r.id === globex?.id)).toBeDefined();
  });

  it('refuses an unsigned Twilio webhook when keys exist and no TWILIO_AUTH_TOKEN is set, recording nothing', async () => {
    const before = (
      await send(ledger.url, 'GET', `/v1/audit/+12015559999`, { secret: keys.secrets.admin ?? '' })
    ).body as { events: unknown[] };
    const answer = await send(ledger.url, 'POST', '/v1/inbound/twilio', {
      body: new URLSearchParams({ From: '+12015559999', To: OUR_NUMBER, Body: 'START' }).toString(),
      headers: { 'content-type': FORM },
    });
    expect(answer.status).toBe(403);
    expect(answer.body).toEqual({
      error: 'forbidden',
      message: expect.stringContaining('TWILIO_AUTH_TOKEN') as string,
    });
    const after = (
      await send(ledger.url, 'GET', `/v1/audit/+12015559999`, { secret: keys.secrets.admin ?? '' })
    ).body as { events: unknown[] };
    expect(after.events).toEqual(before.events);
    expect(ledger.output()).toMatch(/TWILIO_AUTH_TOKEN is not set and API keys are configured/);
  });

  it('never writes a secret or the Authorization header to its log', () => {
    expect(ledger.output()).not.toMatch(/slk_|authorization|Bearer slk/i);
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After past the per-key limit, and counts checks apart from writes', async () => {
    const dir = tempDir('ledger-access-');
    const keys = makeKeys({ sender: { scopes: ['checks:read', 'audit:read'] } });
    const ledger = await startWith(dir, {
      apiKeys: keys.apiKeys,
      rateLimits: { writesPerMinute: 3, checksPerMinute: 1000 },
    });
    try {
      const secret = keys.secrets.sender ?? '';
      const statuses: number[] = [];
      let last: Answer | undefined;
      for (let i = 0; i < 5; i++) {
        last = await send(ledger.url, 'GET', '/v1/views', { secret });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      expect(last?.body).toEqual({
        error: 'rate_limited',
        message: expect.stringContaining('retry in') as string,
      });
      const retryAfter = Number(last?.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect((await send(ledger.url, 'GET', `/v1/suppressions/${PHONE}`, { secret })).status).toBe(200);
      expect((await send(ledger.url, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await ledger.kill('SIGTERM');
      removeDir(dir);
    }
  }, 30_000);
});

describe('secure by default', () => {
  it('refuses to listen beyond loopback without keys, saying how to create one', async () => {
    const dir = tempDir('ledger-access-');
    try {
      await expect(startChild(join(dir, 'data'), { HOST: '0.0.0.0' })).rejects.toThrow(
        /exited with 78[\s\S]*HOST=0\.0\.0\.0[\s\S]*ledger keys create/,
      );
    } finally {
      removeDir(dir);
    }
  }, 30_000);

  it('listens beyond loopback once keys are configured', async () => {
    const dir = tempDir('ledger-access-');
    const keys = makeKeys({ sender: { scopes: ['checks:read'] } });
    const ledger = await startWith(dir, { apiKeys: keys.apiKeys }, { HOST: '0.0.0.0' });
    try {
      expect(ledger.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
      const local = ledger.url.replace('0.0.0.0', '127.0.0.1');
      expect(
        (await send(local, 'GET', `/v1/suppressions/${PHONE}`, { secret: keys.secrets.sender ?? '' })).status,
      ).toBe(200);
    } finally {
      await ledger.kill('SIGTERM');
      removeDir(dir);
    }
  }, 30_000);

  it('without keys and without a token, refuses a browser’s cross-site form post to the Twilio route', async () => {
    const dir = tempDir('ledger-access-');
    const ledger = await startChild(join(dir, 'data'));
    try {
      const form = new URLSearchParams({ From: PHONE, To: OUR_NUMBER, Body: 'START' }).toString();
      const fromPage = await send(ledger.url, 'POST', '/v1/inbound/twilio', {
        body: form,
        headers: { 'content-type': FORM, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      });
      expect(fromPage.status).toBe(403);
      const noOriginButFetchMetadata = await send(ledger.url, 'POST', '/v1/inbound/twilio', {
        body: form,
        headers: { 'content-type': FORM, 'sec-fetch-site': 'same-site' },
      });
      expect(noOriginButFetchMetadata.status).toBe(403);
      const audit = (await send(ledger.url, 'GET', `/v1/audit/${PHONE}`)).body as { events: unknown[] };
      expect(audit.events).toEqual([]);
      // JSON routes take JSON only: a form or text/plain body (what a page may post without asking) is 415.
      for (const type of [FORM, 'text/plain', 'multipart/form-data; boundary=x']) {
        const answer = await send(ledger.url, 'POST', '/v1/events', {
          body: 'type=opt_in',
          headers: { 'content-type': type, origin: 'https://evil.example' },
        });
        expect([type, answer.status]).toEqual([type, 415]);
      }
      // A server-side caller (curl, a provider without signing) still works on loopback.
      const plain = await send(ledger.url, 'POST', '/v1/inbound/twilio', {
        body: form,
        headers: { 'content-type': FORM },
      });
      expect(plain.status).toBe(200);
    } finally {
      await ledger.kill('SIGTERM');
      removeDir(dir);
    }
  }, 30_000);
});

describe('ledger keys create', () => {
  it('prints a secret and an entry that work as pasted, and the CLI sends LEDGER_API_KEY', async () => {
    const dir = tempDir('ledger-access-');
    const created = await runCli(['keys', 'create', '--id', 'ops', '--scopes', 'audit:read,checks:read'], {});
    expect(created.code).toBe(0);
    const lines = created.stdout.split('\n');
    const secret = lines[1] ?? '';
    const entry: unknown = JSON.parse(lines.slice(3).join('\n'));
    const ledger = await startWith(dir, { apiKeys: entry });
    try {
      expect((await send(ledger.url, 'GET', `/v1/suppressions/${PHONE}`, { secret })).status).toBe(200);
      const withKey = await runCli(['views'], { LEDGER_URL: ledger.url, LEDGER_API_KEY: secret });
      expect(withKey.code).toBe(0);
      const withoutKey = await runCli(['views'], { LEDGER_URL: ledger.url });
      expect(withoutKey.code).toBe(1);
      expect(withoutKey.stderr).toMatch(/LEDGER_API_KEY/);
    } finally {
      await ledger.kill('SIGTERM');
      removeDir(dir);
    }
  }, 30_000);

  it('refuses an unknown scope', async () => {
    const created = await runCli(['keys', 'create', '--id', 'ops', '--scopes', 'checks:write'], {});
    expect(created.code).not.toBe(0);
    expect(created.stderr).toMatch(/checks:write/);
  });
});
