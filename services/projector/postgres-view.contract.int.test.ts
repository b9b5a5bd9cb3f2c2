import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PostgresView } from './postgres-view.js';
import { describeViewContract } from '../../test/support/view-contract.js';

const DATABASE = 'postgres://postgres@127.0.0.1:5432/test';
const TABLES = ['checkpoint', 'facts', 'events', 'suppressions', 'quarantine'];

describeViewContract('PostgreSQL', async () => {
  const table = `t_${randomUUID().slice(0, 8)}`;
  const view = new PostgresView({ name: `pg-${table}`, connectionString: DATABASE, table });
  await view.open();
  return {
    projection: view,
    rows: async () => {
      const rows = [];
      for await (const row of view.rows()) rows.push(row);
      return rows;
    },
    check: (phone, brand, program) => view.check(phone, brand, program),
    close: async () => {
      await view.close();
      const admin = new pg.Client({ connectionString: DATABASE });
      await admin.connect();
      await admin.query(`DROP TABLE IF EXISTS ${TABLES.map((name) => `"${table}_${name}"`).join(', ')}`);
      await admin.end();
    },
  };
});
