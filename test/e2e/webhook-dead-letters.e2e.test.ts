import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eventually } from '../support/eventually.js';
import {
  openInProcess,
  removeDir,
  runCli,
  startChild,
  tempDir,
  type ChildLedger,
  type InProcessLedger,
} from '../support/ledger-harness.js';

/** A CRM endpoint on loopback: answers `status` (401 while its token is wrong) and records every POST. */
async function crm(): Promise<{
  url: string;
  status: number;
  requests: { key: string; status: number; body: Record<string, unknown> }[];
  close: () => Promise<void>;
}> {
  const state = {
    url: '',
    status: 200,
    requests: [] as { key: string; status: number; body: Record<string, unknown> }[],
    close: (): Promise<void> => Promise.resolve(),
  };
  const server: Server = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      const status = state.status;
      state.requests.push({
        key: String(request.headers['idempotency-key']),
        status,
        body: JSON.parse(raw) as Record<string, unknown>,
      });
      response.writeHead(status).end(status === 401 ? 'invalid token' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/crm/optouts`;
  state.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

interface ViewStatus {
  name: string;
  healthy: boolean;
  lag: { events: number };
  lastError?: string;
  deadLetters?: number;
}

describe('webhook dead letters through a real `ledger start`: owed until `ledger deadletters replay`', () => {
  let dir: string;
  let child: ChildLedger | undefined;
  let receiver: Awaited<ReturnType<typeof crm>>;

  beforeAll(async () => {
    dir = tempDir();
    receiver = await crm();
    const configFile = join(dir, 'ledger.json');
    writeFileSync(
      configFile,
      JSON.stringify({ views: [{ name: 'salesforce', kind: 'webhook', url: receiver.url }] }),
    );
    child = await startChild(join(dir, 'data'), { LEDGER_CONFIG_FILE: configFile });
  });
  afterAll(async () => {
    await child?.kill('SIGTERM');
    await receiver.close();
    removeDir(dir);
  });

  const url = (): string => child?.url ?? '';
  const salesforce = async (): Promise<ViewStatus | undefined> =>
    ((await (await fetch(`${url()}/v1/views`)).json()) as { views: ViewStatus[] }).views.find(
      (v) => v.name === 'salesforce',
    );
  const check = async (phone: string) =>
    (await (await fetch(`${url()}/v1/suppressions/${phone}?brand=acme&system=salesforce`)).json()) as {
      allowed: boolean;
      status: string;
      reason: string;
    };
  const optOut = async (phone: string): Promise<void> => {
    const response = await fetch(`${url()}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'opt_out', phone, brand: 'acme', source: 'crm' }),
    });
    expect(response.status).toBe(201);
  };
  const pendingGauge = async (): Promise<string | undefined> =>
    /ledger_view_dead_letters_pending\{view="salesforce",kind="webhook"\} (\d+)/.exec(
      await (await fetch(`${url()}/metrics`)).text(),
    )?.[1];

  it('a 401 leaves the view unhealthy and the phone unknown, across a restart; replay after the fix delivers it with its original key', async () => {
    const delivered = '+12015550161';
    const refused = '+12015550162';
    await optOut(delivered);
    await eventually(() => expect(receiver.requests.map((r) => r.status)).toEqual([200]), {
      timeoutMs: 10_000,
    });

    receiver.status = 401;
    await optOut(refused);

    await eventually(
      async () =>
        expect(await salesforce()).toMatchObject({
          healthy: false,
          deadLetters: 1,
          lag: { events: 0 },
          lastError: expect.stringMatching(/never accepted.*HTTP 401: invalid token/) as unknown,
        }),
      { timeoutMs: 10_000 },
    );
    const refusedKey = receiver.requests[1]?.key;
    expect(await check(refused)).toMatchObject({ allowed: false, status: 'unknown' });
    expect((await check(refused)).reason).toMatch(/never accepted a change for this number/);
    // The CRM has the other phone's opt-out: that check is not blocked.
    expect(await check(delivered)).toMatchObject({ allowed: false, status: 'opted_out' });
    expect(await pendingGauge()).toBe('1');

    const env = { LEDGER_URL: url() };
    const listed = await runCli(['deadletters', 'list', 'salesforce'], env);
    expect(listed.code).toBe(3);
    expect(JSON.parse(listed.stdout)).toMatchObject({
      view: 'salesforce',
      pending: 1,
      phones: 1,
      deadLetters: [
        {
          idempotencyKey: refusedKey,
          phone: refused,
          scope: 'brand:acme',
          status: 401,
          superseded: false,
          change: { phone: refused, status: 'opted_out', allowed: false },
        },
      ],
    });

    // A restart re-reads the debt from the dead-letter file.
    await child?.kill('SIGTERM');
    child = await startChild(join(dir, 'data'), {
      LEDGER_CONFIG_FILE: join(dir, 'ledger.json'),
    });
    await eventually(
      async () => expect(await salesforce()).toMatchObject({ healthy: false, deadLetters: 1 }),
      {
        timeoutMs: 10_000,
      },
    );
    expect(await check(refused)).toMatchObject({ allowed: false, status: 'unknown' });

    receiver.status = 200;
    const replayed = await runCli(['deadletters', 'replay', 'salesforce'], { LEDGER_URL: url() });
    expect(replayed.code).toBe(0);
    expect(replayed.stderr).toMatch(/replay salesforce: 1 sent, 0 failed, 0 remaining/);
    expect(JSON.parse(replayed.stdout)).toMatchObject({ sent: 1, failed: 0, remaining: 0 });

    const last = receiver.requests[receiver.requests.length - 1];
    expect(last).toMatchObject({
      key: refusedKey,
      status: 200,
      body: { phone: refused, status: 'opted_out', allowed: false },
    });
    expect(await salesforce()).toMatchObject({ healthy: true, deadLetters: 0 });
    expect(await check(refused)).toMatchObject({ allowed: false, status: 'opted_out' });
    expect(await pendingGauge()).toBe('0');
    const after = await runCli(['deadletters', 'list', 'salesforce'], { LEDGER_URL: url() });
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ pending: 0, deadLetters: [] });
  }, 60_000);
});

describe('the dead-letter routes name a webhook view of this process', () => {
  const prefix = `test:deadletters:${randomUUID().slice(0, 8)}`;
  let dir: string;
  let ledger: InProcessLedger | undefined;

  beforeAll(async () => {
    dir = tempDir();
    const configFile = join(dir, 'ledger.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        views: [
          // Never reached: nothing is recorded, so nothing is pushed or written.
          { name: 'salesforce', kind: 'webhook', url: 'http://127.0.0.1:9/crm' },
          { name: 'cache', kind: 'redis', url: 'redis://127.0.0.1:6379/0', prefix },
        ],
      }),
    );
    ledger = await openInProcess(dir, { LEDGER_CONFIG_FILE: configFile });
    await ledger.ledger.ready();
  });
  afterAll(async () => {
    await ledger?.close();
    const redis = new Redis(process.env.LEDGER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0');
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    removeDir(dir);
  });

  const inject = async (method: 'GET' | 'POST', url: string) => {
    const response = await ledger?.app.inject({ method, url });
    return { status: response?.statusCode, body: response?.json<Record<string, unknown>>() };
  };

  it('lists and replays nothing when nothing is owed; another kind of view is refused, an unknown one is 404', async () => {
    expect(await inject('GET', '/v1/views/salesforce/deadletters')).toEqual({
      status: 200,
      body: { view: 'salesforce', pending: 0, phones: 0, deadLetters: [] },
    });
    expect(await inject('POST', '/v1/views/salesforce/deadletters/replay')).toMatchObject({
      status: 200,
      body: { sent: 0, failed: 0, remaining: 0, stoppedEarly: null },
    });
    expect(await inject('GET', '/v1/views/cache/deadletters')).toMatchObject({
      status: 400,
      body: { error: 'invalid_request', message: expect.stringMatching(/only webhook views/) as unknown },
    });
    expect(await inject('POST', '/v1/views/nope/deadletters/replay')).toMatchObject({
      status: 404,
      body: { error: 'not_found' },
    });
    const views = (await inject('GET', '/v1/views')).body as {
      views: { name: string; deadLetters?: number }[];
    };
    expect(views.views.map((v) => [v.name, v.deadLetters])).toEqual([
      ['memory', undefined],
      ['salesforce', 0],
      ['cache', undefined],
    ]);
  });
});
