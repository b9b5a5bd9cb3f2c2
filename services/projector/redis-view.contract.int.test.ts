import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisView } from './redis-view.js';
import { describeViewContract } from '../../test/support/view-contract.js';

const REDIS_URL = 'redis://127.0.0.1:6379/0';

describeViewContract('Redis', async () => {
  const prefix = `test:contract:${randomUUID()}`;
  const view = new RedisView({ name: 'contract', url: REDIS_URL, prefix });
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
      // Its keys go with it (the view's own reset removes every key under its prefix).
      const admin = new Redis(REDIS_URL);
      await new RedisView({ name: 'contract', url: REDIS_URL, prefix }, admin).reset();
      await admin.quit();
    },
  };
});
