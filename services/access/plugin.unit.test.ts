import Fastify from 'fastify';
import { installAccess } from './plugin.js';
import type { RouteAccess } from './rules.js';

const TABLE: Readonly<Record<string, RouteAccess>> = {
  'GET /declared': { kind: 'key', scopes: ['checks:read'] },
};

describe('routes declare their access (deny by default)', () => {
  it('refuses to add a route the access table does not name', async () => {
    const app = Fastify();
    await installAccess(app, {
      keys: undefined,
      accessOf: (method, url) => TABLE[`${method} ${url}`],
      rateLimits: { checksPerMinute: 1000, writesPerMinute: 1000 },
    });
    try {
      expect(() => app.get('/declared', () => 'ok')).not.toThrow();
      expect(() => app.post('/forgotten', () => 'ok')).toThrow(/POST \/forgotten declares no access/);
    } finally {
      await app.close();
    }
  });
});
