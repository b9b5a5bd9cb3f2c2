import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { eventually } from '../support/eventually.js';
import { removeDir, startChild, tempDir, type ChildLedger } from '../support/ledger-harness.js';

const REDIS_URL = process.env.LEDGER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const PG_URL = process.env.LEDGER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SYSTEMS = ['crm-redis', 'warehouse'] as const;

interface Answer {
  allowed: boolean;
  status: string;
  reason: string;
}

interface ViewStatus {
  name: string;
  ready: boolean;
  healthy: boolean;
  lastError?: string;
}

describe('Redis and PostgreSQL views of a real `ledger start`: outside text, lost stores, set drift', () => {
  const id = randomUUID().slice(0, 8);
  const prefix = `test:stores:${id}`;
  const table = `stores_${id}`;
  let dir: string;
  let child: ChildLedger | undefined;
  let redis: Redis;
  let db: pg.Client;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    dir = tempDir();
    const configFile = join(dir, 'ledger.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        views: [
          { name: 'crm-redis', kind: 'redis', url: REDIS_URL, prefix },
          { name: 'warehouse', kind: 'postgres', connectionString: PG_URL, table },
        ],
      }),
    );
    child = await startChild(join(dir, 'data'), { LEDGER_CONFIG_FILE: configFile });
    await eventually(async () => expect((await views()).every((v) => v.ready && v.healthy)).toBe(true), {
      timeoutMs: 20_000,
    });
  });

  afterAll(async () => {
    await child?.kill('SIGTERM');
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.unlink(...keys);
    redis.disconnect();
    const tables = await db.query<{ tablename: string }>(
      `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE $1`,
      [`${table}%`],
    );
    for (const { tablename } of tables.rows) await db.query(`DROP TABLE IF EXISTS "${tablename}" CASCADE`);
    await db.end();
    removeDir(dir);
  });

  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${child?.url ?? ''}${path}`, {
      method,
      ...(body !== undefined && {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    });
    return (await response.json()) as T;
  }

  const views = async (): Promise<ViewStatus[]> =>
    (await call<{ views: ViewStatus[] }>('GET', '/v1/views')).views;

  const check = (phone: string, system: string, minPosition?: string): Promise<Answer> =>
    call<Answer>(
      'GET',
      `/v1/suppressions/${encodeURIComponent(phone)}?brand=acme&system=${system}${minPosition === undefined ? '' : `&minPosition=${minPosition}`}`,
    );

  const optOut = (phone: string, extra: Record<string, unknown> = {}) =>
    call<{ position: string; eventId: string }>('POST', '/v1/events', {
      type: 'opt_out',
      phone,
      brand: 'acme',
      source: 'crm',
      ...extra,
    });

  /** Both views answer opted_out for the phone once they have applied `position`. */
  async function optedOutEverywhere(phone: string, position: string): Promise<void> {
    for (const system of SYSTEMS) {
      expect({ system, ...(await check(phone, system, position)) }).toMatchObject({
        system,
        allowed: false,
        status: 'opted_out',
      });
    }
  }

  it('stores a NUL byte and a lone surrogate from a reply and keeps applying what follows', async () => {
    // GSM 0x00 is '@': gateways send it as NUL. A provider's message id becomes the event id.
    const inbound = await call<{ intent: string; position: string }>('POST', '/v1/inbound/sms', {
      from: '+12015553001',
      to: '12345',
      body: 'STOP',
      brand: 'acme',
      messageId: 'SM\u0000\ud800',
    });
    expect(inbound.intent).toBe('opt_out');
    await optOut('+12015553002', {
      evidence: { rawText: 'STOP\u0000 @ once', note: 'half an emoji \ud800' },
    });
    const after = await optOut('+12015553003');

    await optedOutEverywhere('+12015553001', after.position);
    await optedOutEverywhere('+12015553002', after.position);
    await optedOutEverywhere('+12015553003', after.position);
    const statuses = (await views()).filter((v) => (SYSTEMS as readonly string[]).includes(v.name));
    expect(statuses.map(({ name, ready, healthy }) => ({ name, ready, healthy }))).toEqual(
      SYSTEMS.map((name) => ({ name, ready: true, healthy: true })),
    );
    const reconcile = await call<{ views: { differences: number }[] }>('POST', '/v1/reconcile', {});
    expect(reconcile.views.map((v) => v.differences)).toEqual([0, 0]);
  }, 60_000);

  it('never answers allowed for an earlier opt-out once the store lost its data, and recovers by itself', async () => {
    const phone = '+12015553010';
    const { position } = await optOut(phone);
    await optedOutEverywhere(phone, position);

    // A Redis restart without persistence (or FLUSHDB) and a TRUNCATE; no event follows.
    await redis.unlink(...(await redis.keys(`${prefix}:*`)));
    await db.query(`TRUNCATE "${table}_suppressions"`);

    for (const system of SYSTEMS) {
      // Unknown until the view has replayed; opted_out after. Never allowed.
      expect({ system, ...(await check(phone, system)) }).toMatchObject({ system, allowed: false });
    }
    await eventually(
      async () => {
        for (const system of SYSTEMS) {
          expect({ system, ...(await check(phone, system)) }).toMatchObject({
            allowed: false,
            status: 'opted_out',
          });
        }
        expect((await views()).every((v) => v.ready && v.healthy)).toBe(true);
      },
      { timeoutMs: 20_000 },
    );
    expect(await redis.sismember(`${prefix}:suppressed:brand:acme`, phone)).toBe(1);
  }, 60_000);

  it('reconcile finds a phone taken out of, or put into, a suppressed set by hand, and --repair fixes both', async () => {
    const phone = '+12015553020';
    const { position } = await optOut(phone);
    await optedOutEverywhere(phone, position);
    const set = `${prefix}:suppressed:brand:acme`;
    await redis.srem(set, phone);
    await redis.sadd(set, '+12015553021');

    const found = await call<{
      views: { view: string; differences: number; examples: Record<string, unknown>[] }[];
    }>('POST', '/v1/reconcile', {});
    const redisReport = found.views.find((v) => v.view === 'crm-redis');
    expect(redisReport?.differences).toBe(2);
    expect(redisReport?.examples).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          phone,
          scope: 'brand:acme',
          problem: 'missing',
          structure: 'suppressed_set',
        }),
        expect.objectContaining({
          phone: '+12015553021',
          scope: 'brand:acme',
          problem: 'unexpected',
          structure: 'suppressed_set',
        }),
      ]),
    );

    const repaired = await call<{ views: { view: string; repaired: number }[] }>('POST', '/v1/reconcile', {
      repair: true,
    });
    expect(repaired.views.find((v) => v.view === 'crm-redis')?.repaired).toBe(2);
    expect(await redis.sismember(set, phone)).toBe(1);
    expect(await redis.sismember(set, '+12015553021')).toBe(0);
    const again = await call<{ views: { differences: number }[] }>('POST', '/v1/reconcile', {});
    expect(again.views.map((v) => v.differences)).toEqual([0, 0]);
  }, 60_000);
});
