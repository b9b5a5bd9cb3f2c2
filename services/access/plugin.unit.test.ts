import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandling } from '../api/errors.js';
import { createKey, KeyRing } from './keys.js';
import { installAccess, type RateLimits } from './plugin.js';
import type { RouteAccess, Scope } from './rules.js';

const TABLE: Readonly<Record<string, RouteAccess>> = {
  'GET /declared': { kind: 'key', scopes: ['checks:read'] },
  'GET /check': { kind: 'key', scopes: ['checks:read'] },
  'GET /views': { kind: 'key', scopes: ['audit:read'] },
  'POST /provider': { kind: 'provider' },
  'GET /healthz': { kind: 'open' },
};

const GENEROUS: RateLimits = { checksPerMinute: 1000, writesPerMinute: 1000 };

/** An app with our error handling, the access plugin and a route per table entry that says who acts. */
async function appWith(
  keys: Record<string, { scopes: Scope[] }> | undefined,
  rateLimits: RateLimits = GENEROUS,
): Promise<{ app: FastifyInstance; secrets: Record<string, string> }> {
  const secrets: Record<string, string> = {};
  let ring: KeyRing | undefined;
  if (keys !== undefined) {
    const entries = Object.fromEntries(
      Object.entries(keys).map(([id, { scopes }]) => {
        const { secret, entry } = createKey(scopes, ['*']);
        secrets[id] = secret;
        return [id, entry];
      }),
    );
    ring = new KeyRing(entries);
  }
  const app = Fastify();
  installErrorHandling(app);
  await installAccess(app, { keys: ring, accessOf: (method, url) => TABLE[`${method} ${url}`], rateLimits });
  const who = (request: { actor?: string }) => ({ actor: request.actor ?? null });
  app.get('/check', (request) => who(request));
  app.get('/views', (request) => who(request));
  app.post('/provider', (request) => who(request));
  app.get('/healthz', () => ({ ok: true }));
  await app.ready();
  return { app, secrets };
}

const bearer = (secret: string | undefined) => ({ authorization: `Bearer ${secret ?? ''}` });

describe('routes declare their access (deny by default)', () => {
  it('refuses to add a route the access table does not name', async () => {
    const app = Fastify();
    await installAccess(app, {
      keys: undefined,
      accessOf: (method, url) => TABLE[`${method} ${url}`],
      rateLimits: GENEROUS,
    });
    try {
      expect(() => app.get('/declared', () => 'ok')).not.toThrow();
      expect(() => app.post('/forgotten', () => 'ok')).toThrow(/POST \/forgotten declares no access/);
    } finally {
      await app.close();
    }
  });

  it('refuses to be installed after a route, which it could not guard', async () => {
    const app = Fastify();
    app.get('/early', () => 'ok');
    try {
      expect(() =>
        installAccess(app, { keys: undefined, accessOf: () => ({ kind: 'open' }), rateLimits: GENEROUS }),
      ).toThrow(/before every route/);
    } finally {
      await app.close();
    }
  });
});

describe('keys on each request', () => {
  it('lets a key with the scope through as its id, and refuses no key (401) or a missing scope (403)', async () => {
    const { app, secrets } = await appWith({ sender: { scopes: ['checks:read'] } });
    try {
      const ok = await app.inject({ url: '/check', headers: bearer(secrets.sender) });
      expect([ok.statusCode, ok.json()]).toEqual([200, { actor: 'sender' }]);
      const none = await app.inject({ url: '/check' });
      expect(none.statusCode).toBe(401);
      expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(none.json<{ error: string }>().error).toBe('unauthorized');
      const wrong = await app.inject({ url: '/check', headers: bearer('slk_wrong') });
      expect(wrong.statusCode).toBe(401);
      const scope = await app.inject({ url: '/views', headers: bearer(secrets.sender) });
      expect(scope.statusCode).toBe(403);
      expect(scope.json()).toEqual({ error: 'forbidden', message: 'key sender lacks the scope audit:read' });
      // Asked again: the same answers (the decision is remembered per key, not per first caller).
      expect((await app.inject({ url: '/views', headers: bearer(secrets.sender) })).statusCode).toBe(403);
      expect((await app.inject({ url: '/check', headers: bearer(secrets.sender) })).statusCode).toBe(200);
      expect((await app.inject({ url: '/check' })).statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });

  it('answers HEAD as GET, with the same key check', async () => {
    const { app, secrets } = await appWith({ sender: { scopes: ['checks:read'] } });
    try {
      expect((await app.inject({ method: 'HEAD', url: '/check' })).statusCode).toBe(401);
      expect(
        (await app.inject({ method: 'HEAD', url: '/check', headers: bearer(secrets.sender) })).statusCode,
      ).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('without keys, lets every declared route through, the writer being local', async () => {
    const { app } = await appWith(undefined);
    try {
      const answer = await app.inject({ url: '/views' });
      expect([answer.statusCode, answer.json()]).toEqual([200, { actor: null }]);
    } finally {
      await app.close();
    }
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After and the limit headers past the per-key limit', async () => {
    const { app, secrets } = await appWith(
      { sender: { scopes: ['checks:read', 'audit:read'] } },
      { checksPerMinute: 1000, writesPerMinute: 3 },
    );
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        statuses.push((await app.inject({ url: '/views', headers: bearer(secrets.sender) })).statusCode);
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      const refused = await app.inject({ url: '/views', headers: bearer(secrets.sender) });
      expect(refused.statusCode).toBe(429);
      // 3 a minute: a token every 20 s, less what has refilled since (19 on a slow machine).
      const seconds = String(refused.headers['retry-after']);
      expect(['19', '20']).toContain(seconds);
      expect(refused.json()).toEqual({
        error: 'rate_limited',
        message: `more than 3 requests a minute from this key; retry in ${seconds} seconds`,
      });
      expect(refused.headers['x-ratelimit-limit']).toBe('3');
      expect(refused.headers['x-ratelimit-remaining']).toBe('0');
      expect(refused.headers['x-ratelimit-reset']).toBe(seconds);
      // Checks are counted apart; open routes are never throttled.
      expect((await app.inject({ url: '/check', headers: bearer(secrets.sender) })).statusCode).toBe(200);
      expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('counts each key apart; a HEAD takes one token, from its GET’s bucket', async () => {
    const { app, secrets } = await appWith(
      { a: { scopes: ['checks:read'] }, b: { scopes: ['checks:read'] } },
      { checksPerMinute: 1, writesPerMinute: 1 },
    );
    try {
      expect((await app.inject({ url: '/check' })).statusCode).toBe(401);
      expect((await app.inject({ url: '/check', headers: bearer(secrets.a) })).statusCode).toBe(200);
      expect((await app.inject({ url: '/check', headers: bearer(secrets.a) })).statusCode).toBe(429);
      expect((await app.inject({ url: '/check', headers: bearer(secrets.b) })).statusCode).toBe(200);
      expect((await app.inject({ url: '/check', headers: bearer(secrets.b) })).statusCode).toBe(429);
    } finally {
      await app.close();
    }
    const { app: other, secrets: more } = await appWith(
      { c: { scopes: ['checks:read'] } },
      { checksPerMinute: 1, writesPerMinute: 1 },
    );
    try {
      expect(
        (await other.inject({ method: 'HEAD', url: '/check', headers: bearer(more.c) })).statusCode,
      ).toBe(200);
      expect((await other.inject({ url: '/check', headers: bearer(more.c) })).statusCode).toBe(429);
    } finally {
      await other.close();
    }
  });

  it('limits by address without keys, and on provider routes', async () => {
    for (const keys of [undefined, { sender: { scopes: ['checks:read'] as Scope[] } }]) {
      const { app } = await appWith(keys, { checksPerMinute: 1, writesPerMinute: 1 });
      try {
        const from = (remoteAddress: string) =>
          app.inject({ method: 'POST', url: '/provider', remoteAddress });
        expect((await from('192.0.2.1')).statusCode).toBe(200);
        const refused = await from('192.0.2.1');
        expect(refused.statusCode).toBe(429);
        expect(refused.json<{ message: string }>().message).toMatch(/from this address; retry in 60 seconds/);
        expect((await from('192.0.2.2')).statusCode).toBe(200);
      } finally {
        await app.close();
      }
    }
  });
});
