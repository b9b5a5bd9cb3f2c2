import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { eventually } from '../support/eventually.js';
import { removeDir, runCli, startChild, tempDir, type ChildLedger } from '../support/ledger-harness.js';

const brokers = process.env.LEDGER_TEST_KAFKA_BROKERS;
// Needs a broker: `make test` starts one (infra/kafka/with-kafka.sh) and sets LEDGER_TEST_KAFKA_BROKERS.
const describeKafka = brokers === undefined ? describe.skip : describe;

async function json<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  return { status: response.status, body: (await response.json()) as T };
}

describeKafka('separate roles on one Kafka topic', () => {
  const children: ChildLedger[] = [];
  let dir: string;

  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(async () => {
    await Promise.all(children.map((child) => child.kill('SIGTERM')));
    removeDir(dir);
  });

  it('a STOP taken by the intake process is read back from the gate process with its position', async () => {
    const env = {
      LEDGER_KAFKA_BROKERS: brokers ?? '',
      LEDGER_TOPIC: `roles-${randomUUID()}`,
      LEDGER_PARTITIONS: '3',
    };
    const intake = await startChild(dir, env, ['--role', 'intake']);
    children.push(intake);
    const gate = await startChild(dir, env, ['--role', 'gate']);
    children.push(gate);
    expect(intake.output()).toMatch(/roles: intake/);
    expect(gate.output()).toMatch(/roles: gate/);

    const stop = await json<{ intent: string; position: string; reply: string | null }>(
      `${intake.url}/v1/inbound/sms`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          from: '+12015550123',
          to: '12345',
          body: 'STOP',
          messageId: `SM-${randomUUID()}`,
        }),
      },
    );
    expect(stop.status).toBe(200);
    expect(stop.body.intent).toBe('opt_out');
    expect(stop.body.reply).toMatch(/unsubscribed/);

    const check = await json<{ allowed: boolean; status: string }>(
      `${gate.url}/v1/suppressions/+12015550123?minPosition=${encodeURIComponent(stop.body.position)}`,
    );
    expect(check.body).toMatchObject({ allowed: false, status: 'opted_out' });

    // Each process serves its own routes only.
    expect((await fetch(`${intake.url}/v1/suppressions/+12015550123`)).status).toBe(404);
    const write = await fetch(`${gate.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'opt_in', phone: '+12015550123', source: 'api' }),
    });
    expect(write.status).toBe(404);
  }, 90_000);

  it('a projector process runs the system views: a STOP taken by intake reaches Redis, PostgreSQL and the CRM; audit reads the per-phone projection', async () => {
    const id = randomUUID().slice(0, 8);
    const received: Record<string, unknown>[] = [];
    const crm = createServer((request, response) => {
      let raw = '';
      request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      request.on('end', () => {
        received.push(JSON.parse(raw) as Record<string, unknown>);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => crm.listen(0, '127.0.0.1', resolve));
    const redis = new Redis('redis://127.0.0.1:6379/0');
    const db = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
    await db.connect();
    try {
      const configFile = join(dir, `views-${id}.json`);
      writeFileSync(
        configFile,
        JSON.stringify({
          views: [
            { name: 'crm-redis', kind: 'redis', url: 'redis://127.0.0.1:6379/0', prefix: `test:roles:${id}` },
            {
              name: 'warehouse',
              kind: 'postgres',
              connectionString: 'postgres://postgres@127.0.0.1:5432/test',
              table: `roles_${id}`,
            },
            {
              name: 'crm-hook',
              kind: 'webhook',
              url: `http://127.0.0.1:${(crm.address() as AddressInfo).port}/hook`,
            },
          ],
        }),
      );
      const env = {
        LEDGER_KAFKA_BROKERS: brokers ?? '',
        LEDGER_TOPIC: `roles-views-${id}`,
        LEDGER_PARTITIONS: '3',
        LEDGER_CONFIG_FILE: configFile,
      };
      const intake = await startChild(dir, env, ['--role', 'intake']);
      children.push(intake);
      const projector = await startChild(join(dir, id), env, ['--role', 'projector']);
      children.push(projector);
      expect(projector.output()).toMatch(/roles: projector/);
      await eventually(async () => expect((await fetch(`${projector.url}/readyz`)).status).toBe(200), {
        timeoutMs: 30_000,
      });
      const views = await json<{ views: { name: string; kind: string }[] }>(`${projector.url}/v1/views`);
      expect(views.body.views.map((v) => v.name)).toEqual(['crm-redis', 'warehouse', 'crm-hook']);

      const phone = '+12015550177';
      const stop = await json<{ position: string; eventId: string }>(`${intake.url}/v1/inbound/sms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ from: phone, to: '12345', body: 'STOP', messageId: `SM-${id}` }),
      });
      const position = encodeURIComponent(stop.body.position);
      for (const system of ['crm-redis', 'warehouse', 'crm-hook']) {
        const check = await json<{ allowed: boolean; status: string }>(
          `${projector.url}/v1/suppressions/${phone}?system=${system}&minPosition=${position}`,
        );
        expect([system, check.body]).toEqual([
          system,
          expect.objectContaining({ allowed: false, status: 'opted_out' }),
        ]);
      }
      expect(await redis.sismember(`test:roles:${id}:suppressed:brand:default`, phone)).toBe(1);
      const rows = await db.query(`SELECT status FROM roles_${id}_suppressions WHERE phone = $1`, [phone]);
      expect(rows.rows).toEqual([{ status: 'opted_out' }]);
      await eventually(() =>
        expect(received).toEqual([expect.objectContaining({ phone, status: 'opted_out' })]),
      );
      // No central view here: a check without a system is for a gate process.
      expect((await fetch(`${projector.url}/v1/suppressions/${phone}`)).status).toBe(400);
      const audit = await json<{ events: { event: { type: string; eventId: string } }[] }>(
        `${projector.url}/v1/audit/${phone}`,
      );
      expect(audit.status).toBe(200);
      expect(audit.body.events.map((e) => e.event.type)).toEqual(['OptOutRecorded', 'ConfirmationSent']);
      expect(audit.body.events[0]?.event.eventId).toBe(stop.body.eventId);
    } finally {
      crm.close();
      const keys = await redis.keys(`test:roles:${id}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      const tables = await db.query<{ tablename: string }>(
        `SELECT tablename FROM pg_tables WHERE tablename LIKE $1`,
        [`roles_${id}%`],
      );
      for (const { tablename } of tables.rows) await db.query(`DROP TABLE IF EXISTS "${tablename}" CASCADE`);
      await db.end();
    }
  }, 90_000);

  it('refuses --role on the embedded log, and the projector role until it has views to run, saying why', async () => {
    const embedded = await runCli(['start', '--role', 'gate'], { LEDGER_DATA_DIR: dir, PORT: '0' });
    expect(embedded.code).toBe(78);
    expect(embedded.stderr).toMatch(/--role gate needs Kafka mode/);
    const projector = await runCli(['start', '--role', 'projector'], {
      LEDGER_KAFKA_BROKERS: brokers ?? '',
      PORT: '0',
    });
    expect(projector.code).toBe(78);
    expect(projector.stderr).toMatch(
      /--role projector runs the system views declared under "views".*none are declared/,
    );
  });
});
