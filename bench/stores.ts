import { Redis } from 'ioredis';
import pg from 'pg';

/** The stores the machine runs for tests and benchmarks (see the brief of `make bench`). */
export const REDIS_URL = 'redis://127.0.0.1:6379/0';
export const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** Every key under the prefix (a view's keys). */
export async function dropRedis(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Every table whose name starts with the prefix (the view's tables and any staging copies). */
export async function dropTables(prefix: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ tablename: string }>(
      `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE $1`,
      [`${prefix.replace(/_/g, '\\_')}%`],
    );
    for (const { tablename } of rows) await client.query(`DROP TABLE IF EXISTS "${tablename}" CASCADE`);
  } finally {
    await client.end();
  }
}
