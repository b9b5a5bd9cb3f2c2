import { loadConfig } from '../config/index.js';
import {
  follows,
  POSTGRES_TABLE,
  PostgresView,
  REDIS_PREFIX,
  RedisView,
  senderSql,
  VIEW_NAME,
  WebhookView,
} from './index.js';

/** What the configuration says of one view, or undefined when it takes it. */
function configProblem(view: object): string | undefined {
  try {
    loadConfig({ LEDGER_CONFIG_FILE: 'ledger.json' }, () => JSON.stringify({ views: [view] }));
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function thrown(build: () => unknown): { code?: string; message: string } | undefined {
  try {
    build();
    return undefined;
  } catch (error) {
    return error as { code?: string; message: string };
  }
}

describe('the names of views and of their stores: one rule each, for the configuration and the views', () => {
  it.each(['crm', 'crm-east_1', '0', 'a'.repeat(48)])('take the view name %j', (name) => {
    expect(follows(VIEW_NAME, name)).toBe(true);
    expect(configProblem({ name, kind: 'webhook', url: 'https://x' })).toBeUndefined();
  });

  it.each(['', 'CRM', 'crm.east', '../crm', '-crm', 'a'.repeat(49), 'crm east'])(
    'refuse the view name %j, in the configuration and in a webhook view built directly',
    (name) => {
      expect(follows(VIEW_NAME, name)).toBe(false);
      expect(configProblem({ name, kind: 'webhook', url: 'https://x' })).toMatch(
        /views\[0\]\.name (must|is)/,
      );
      expect(
        thrown(() => new WebhookView({ name, url: 'https://x', dataDir: '/nonexistent' })),
      ).toMatchObject({
        code: 'invalid_config',
        message: expect.stringContaining('webhook view name') as unknown,
      });
    },
  );

  it.each(['Bad-Name', 'sends;drop', '1sends', 'a'.repeat(35)])(
    'refuse the PostgreSQL table prefix %j, in the configuration and in a view built directly',
    (table) => {
      expect(follows(POSTGRES_TABLE, table)).toBe(false);
      expect(configProblem({ name: 'p', kind: 'postgres', connectionString: 'postgres://x', table })).toMatch(
        /views\[0\]\.table must be a lower-case SQL name/,
      );
      expect(
        thrown(() => new PostgresView({ name: 'p', connectionString: 'postgres://127.0.0.1:1/x', table })),
      ).toMatchObject({ code: 'invalid_config', message: expect.stringContaining(`"${table}"`) as unknown });
    },
  );

  it('take a PostgreSQL table prefix of the longest length every derived name keeps whole', () => {
    const table = `t${'a'.repeat(33)}`;
    expect(
      configProblem({ name: 'p', kind: 'postgres', connectionString: 'postgres://x', table }),
    ).toBeUndefined();
    expect(senderSql({ name: 'p', table }).check).toContain(`"${table}_suppressions"`);
  });

  it.each(['crm*', 'crm?', 'crm[1]', 'crm\\x'])(
    'refuse the Redis key prefix %j, in the configuration and in a view built directly',
    (prefix) => {
      expect(follows(REDIS_PREFIX, prefix)).toBe(false);
      expect(configProblem({ name: 'r', kind: 'redis', url: 'redis://x', prefix })).toMatch(
        /views\[0\]\.prefix ".*" must not contain \*, \?, \[, \] or \\/,
      );
      expect(thrown(() => new RedisView({ name: 'r', url: 'redis://127.0.0.1:1', prefix }))).toMatchObject({
        code: 'invalid_config',
      });
    },
  );
});
