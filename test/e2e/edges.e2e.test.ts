import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
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

const PHONE = '+12015550123';
const REDIS_URL = process.env.LEDGER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

interface ErrorReply {
  error: string;
  message: string;
}

/** An in-process ledger for one describe block, opened fresh for each test. */
function inProcess(env: Record<string, string> = {}) {
  const state: { dir: string; ledger: InProcessLedger | undefined } = { dir: '', ledger: undefined };
  beforeEach(async () => {
    state.dir = tempDir();
    state.ledger = await openInProcess(state.dir, { LEDGER_READ_WAIT_MS: '2000', ...env });
    await state.ledger.ledger.ready();
  });
  afterEach(async () => {
    await state.ledger?.close();
    state.ledger = undefined;
    removeDir(state.dir);
  });
  const ledger = (): InProcessLedger => {
    if (state.ledger === undefined) throw new Error('no ledger open');
    return state.ledger;
  };
  const raw = (method: 'GET' | 'POST', url: string, payload?: string) =>
    ledger().app.inject({
      method,
      url,
      ...(payload !== undefined && { payload, headers: { 'content-type': 'application/json' } }),
    });
  const json = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
    raw(method, url, payload === undefined ? undefined : JSON.stringify(payload));
  return { ledger, raw, json };
}

describe('duplicate keys in a JSON body', () => {
  const { ledger, raw } = inProcess();

  it.each([
    [
      'at the top level',
      `{"type":"opt_out","phone":"${PHONE}","source":"api","type":"opt_in"}`,
      /"type" appears twice/,
    ],
    [
      'inside evidence',
      `{"type":"opt_out","phone":"${PHONE}","source":"api","evidence":{"note":"a","note":"b"}}`,
      /"note" appears twice \(in evidence\)/,
    ],
    [
      'spelt with an escape',
      `{"type":"opt_out","phone":"${PHONE}","source":"api","typ\\u0065":"opt_in"}`,
      /"type" appears twice/,
    ],
  ])('are refused %s with 400 naming the key, and nothing is recorded', async (_where, body, message) => {
    const response = await raw('POST', '/v1/events', body);
    expect(response.statusCode).toBe(400);
    const error = response.json<ErrorReply>();
    expect(error.error).toBe('invalid_request');
    expect(error.message).toMatch(message);
    expect(await ledger().ledger.log.head()).toEqual([0]);
  });

  it('are told apart from the same key in another object, or inside a string', async () => {
    const body = `{"type":"opt_out","phone":"${PHONE}","source":"api","evidence":{"note":"\\"type\\":\\"opt_in\\", {\\"x\\": 1}","rawText":"type"}}`;
    const response = await raw('POST', '/v1/events', body);
    expect(response.statusCode).toBe(201);
  });

  it('still refuses a prototype-poisoning body', async () => {
    const response = await raw(
      'POST',
      '/v1/events',
      `{"type":"opt_out","phone":"${PHONE}","source":"api","__proto__":{"polluted":true}}`,
    );
    expect(response.statusCode).toBe(400);
    expect(response.json<ErrorReply>().error).toBe('invalid_request');
    expect(await ledger().ledger.log.head()).toEqual([0]);
  });

  it('still answers malformed JSON with the usual message', async () => {
    const response = await raw('POST', '/v1/events', '{"type": "opt_out",');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'invalid_request', message: 'the body is not valid JSON' });
  });
});

describe('occurredAt', () => {
  const { ledger, json } = inProcess();

  it('before 1990 is refused with a clear message, and nothing is recorded', async () => {
    for (const occurredAt of ['1989-12-31T23:59:59Z', '1970-01-01T00:00:00Z', '0001-01-01T00:00:00Z']) {
      const response = await json('POST', '/v1/events', {
        type: 'opt_in',
        phone: PHONE,
        source: 'api',
        occurredAt,
      });
      expect(response.statusCode).toBe(400);
      expect(response.json<ErrorReply>()).toMatchObject({
        error: 'invalid_request',
        message: expect.stringMatching(/occurredAt .* is before 1990/) as string,
      });
    }
    expect(await ledger().ledger.log.head()).toEqual([0]);
  });

  it('from 1990 on is taken', async () => {
    const response = await json('POST', '/v1/events', {
      type: 'opt_out',
      phone: PHONE,
      source: 'api',
      occurredAt: '1990-01-01T00:00:00Z',
    });
    expect(response.statusCode).toBe(201);
  });
});

describe('query strings', () => {
  const { json } = inProcess();

  it('coerce numbers for querystring schemas: GET /v1/reviews?limit=5', async () => {
    const response = await json('GET', '/v1/reviews?limit=5&status=all');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ reviews: [], total: 0 });
    const bad = await json('GET', '/v1/reviews?limit=five');
    expect(bad.statusCode).toBe(400);
    expect(bad.json<ErrorReply>().message).toMatch(/limit/);
  });

  it('leave string fields as written', async () => {
    const response = await json('GET', `/v1/suppressions/${PHONE}?brand=2024`);
    expect(response.statusCode).toBe(200);
  });

  it('while bodies stay strict', async () => {
    const response = await json('POST', '/v1/reconcile', { repair: 'true' });
    expect(response.statusCode).toBe(400);
    expect(response.json<ErrorReply>().message).toMatch(/repair must be boolean/);
  });
});

describe('the batch check at its maximum size (default body limit and batch maximum)', () => {
  const { json } = inProcess();
  const MAX = 100_000;
  // Realistic spellings, as a CRM export has them; 1,000 distinct numbers.
  const phones = (n: number): string[] =>
    Array.from({ length: n }, (_, i) => `(201) 555-${String(1000 + (i % 1000)).padStart(4, '0')}`);

  it('takes exactly the maximum, and refuses one more with a clear 400', async () => {
    const full = await json('POST', '/v1/suppressions/check', { phones: phones(MAX) });
    expect(full.statusCode).toBe(200);
    const body = full.json<{ results: { allowed: boolean; status: string }[] }>();
    expect(body.results).toHaveLength(MAX);
    expect(body.results[MAX - 1]).toEqual({ phone: '+12015551999', allowed: true, status: 'no_record' });

    const over = await json('POST', '/v1/suppressions/check', { phones: phones(MAX + 1) });
    expect(over.statusCode).toBe(400);
    expect(over.json<ErrorReply>()).toMatchObject({
      error: 'invalid_request',
      message: expect.stringMatching(/at most 100000/) as string,
    });
  });
});

describe('the batch check through a system view (?system=)', () => {
  const id = randomUUID().slice(0, 8);
  const prefix = `test:edges:${id}`;
  let dir: string;
  let ledger: InProcessLedger | undefined;
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    dir = tempDir();
    const configFile = join(dir, 'ledger.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        views: [
          { name: 'crm-redis', kind: 'redis', url: REDIS_URL, prefix },
          // Nothing listens there: the view never becomes ready, so its checks must fail closed.
          { name: 'gone', kind: 'redis', url: 'redis://127.0.0.1:1/0', prefix: `test:edges-gone:${id}` },
        ],
      }),
    );
    ledger = await openInProcess(dir, { LEDGER_CONFIG_FILE: configFile, LEDGER_READ_WAIT_MS: '5000' });
    await eventually(
      async () => {
        const { views } = (await ledger!.app.inject({ method: 'GET', url: '/v1/views' })).json<{
          views: { name: string; ready: boolean }[];
        }>();
        expect(views.filter((v) => v.ready).map((v) => v.name)).toEqual(['memory', 'crm-redis']);
      },
      { timeoutMs: 20_000 },
    );
  });
  afterAll(async () => {
    await ledger?.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    removeDir(dir);
  });

  const inject = async <T>(method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const response = await ledger!.app.inject({
      method,
      url,
      ...(payload !== undefined && { payload: payload as object }),
    });
    return { status: response.statusCode, body: response.json<T>() };
  };

  it("answers from that system's view, per phone, like the single check", async () => {
    const stop = await inject<{ position: string }>('POST', '/v1/events', {
      type: 'opt_out',
      phone: PHONE,
      brand: 'acme',
      source: 'api',
    });
    const batch = await inject<{ results: unknown[]; asOf: string }>(
      'POST',
      '/v1/suppressions/check?system=crm-redis',
      { phones: [PHONE, '201-555-0124', 'garbage'], brand: 'acme', minPosition: stop.body.position },
    );
    expect(batch.status).toBe(200);
    expect(batch.body.results).toEqual([
      { phone: PHONE, allowed: false, status: 'opted_out' },
      { phone: '+12015550124', allowed: true, status: 'no_record' },
      { phone: 'garbage', allowed: false, status: 'unknown', error: 'invalid_phone' },
    ]);
    expect(batch.body.asOf).toBe(stop.body.position);
    const single = await inject<{ allowed: boolean; status: string }>(
      'GET',
      `/v1/suppressions/+12015550124?brand=acme&system=crm-redis`,
    );
    expect(single.body).toMatchObject({ allowed: true, status: 'no_record' });
  });

  it('fails closed for every phone when that view cannot vouch for its data', async () => {
    const batch = await inject<{ results: unknown[] }>('POST', '/v1/suppressions/check?system=gone', {
      phones: ['201-555-0125', PHONE],
      brand: 'acme',
    });
    expect(batch.status).toBe(200);
    expect(batch.body.results).toEqual([
      { phone: '+12015550125', allowed: false, status: 'unknown' },
      { phone: PHONE, allowed: false, status: 'unknown' },
    ]);
  });

  it('answers 404 for a system this process does not run, like the single check', async () => {
    const batch = await inject<ErrorReply>('POST', '/v1/suppressions/check?system=nope', {
      phones: [PHONE],
    });
    expect(batch.status).toBe(404);
    expect(batch.body).toMatchObject({
      error: 'not_found',
      message: expect.stringMatching(/nope/) as string,
    });
  });
});

/** A raw TCP connection to a listening app, with what the server wrote and whether it closed. */
async function open(
  port: number,
): Promise<{ socket: Socket; received: () => string; closed: () => boolean }> {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => received, closed: () => closed };
}

describe('slow clients and many connections', () => {
  let dir: string;
  let ledger: InProcessLedger;
  let port: number;
  const sockets: Socket[] = [];

  beforeEach(async () => {
    dir = tempDir();
    ledger = await openInProcess(dir, {
      LEDGER_REQUEST_TIMEOUT_MS: '1000',
      LEDGER_HEADERS_TIMEOUT_MS: '600',
      LEDGER_MAX_CONNECTIONS_PER_CLIENT: '3',
    });
    await ledger.app.listen({ port: 0, host: '127.0.0.1' });
    const address = ledger.app.server.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await ledger.close();
    removeDir(dir);
  });

  it('a body trickled byte by byte is cut off after the request timeout, with a 408', async () => {
    const client = await open(port);
    sockets.push(client.socket);
    client.socket.write(
      'POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{',
    );
    const started = Date.now();
    const trickle = setInterval(() => client.socket.write(' '), 50);
    try {
      await eventually(() => expect(client.closed()).toBe(true), { timeoutMs: 6000, intervalMs: 20 });
    } finally {
      clearInterval(trickle);
    }
    expect(Date.now() - started).toBeLessThan(6000);
    expect(client.received()).toMatch(/^HTTP\/1\.1 408/);
  }, 15_000);

  it('headers trickled line by line are cut off after the headers timeout', async () => {
    const client = await open(port);
    sockets.push(client.socket);
    client.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    let n = 0;
    const trickle = setInterval(() => client.socket.write(`X-Slow-${n++}: y\r\n`), 50);
    try {
      await eventually(() => expect(client.closed()).toBe(true), { timeoutMs: 6000, intervalMs: 20 });
    } finally {
      clearInterval(trickle);
    }
    expect(client.received()).toMatch(/^HTTP\/1\.1 408/);
  }, 15_000);

  it('one client gets at most its share of connections; the ones it has keep working', async () => {
    const kept = [await open(port), await open(port), await open(port)];
    sockets.push(...kept.map((c) => c.socket));
    const extra = await open(port);
    sockets.push(extra.socket);
    await eventually(() => expect(extra.closed()).toBe(true));
    expect(extra.received()).toMatch(/^HTTP\/1\.1 503[\s\S]*LEDGER_MAX_CONNECTIONS_PER_CLIENT/);
    for (const client of kept) {
      client.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await eventually(() => expect(client.received()).toMatch(/^HTTP\/1\.1 200/));
    }
    // A connection closed makes room for a new one.
    kept[0]?.socket.destroy();
    await eventually(async () => {
      const again = await open(port);
      sockets.push(again.socket);
      again.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await eventually(() => expect(again.received()).toMatch(/^HTTP\/1\.1 200/), { timeoutMs: 500 });
    });
  }, 15_000);
});

describe('ledger export and import against a running ledger', () => {
  let dir: string;
  let child: ChildLedger | undefined;

  beforeAll(async () => {
    dir = tempDir();
    child = await startChild(join(dir, 'data'));
  });
  afterAll(async () => {
    await child?.kill('SIGTERM');
    removeDir(dir);
  });

  const post = async (path: string, body: unknown): Promise<number> => {
    const response = await fetch(`${child?.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    await response.arrayBuffer();
    return response.status;
  };

  it('export counts the records the log really holds after a repeated eventId', async () => {
    const event = { type: 'opt_out', phone: '+12015554000', brand: 'acme', source: 'crm', eventId: 'crm-1' };
    expect(await post('/v1/events', event)).toBe(201);
    expect(await post('/v1/events', event)).toBe(200);
    expect(await post('/v1/events', { ...event, phone: '+12015554001', eventId: 'crm-2' })).toBe(201);

    const response = await fetch(`${child?.url}/v1/export`);
    const lines = (await response.text()).trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(response.headers.get('x-ledger-records')).toBe('2');

    const out = join(dir, 'export.jsonl');
    const exported = await runCli(['export', '--out', out], { LEDGER_URL: child?.url ?? '' });
    expect(exported.stderr).toMatch(/export \|.*\| 100% 2\/2 records/);
    expect(exported.code).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(2);
  }, 60_000);

  it('import records a different file that has the same name, and still nothing twice', async () => {
    const env = { LEDGER_URL: child?.url ?? '' };
    mkdirSync(join(dir, 'monday'));
    mkdirSync(join(dir, 'tuesday'));
    const monday = join(dir, 'monday', 'dnc.csv');
    const tuesday = join(dir, 'tuesday', 'dnc.csv');
    writeFileSync(monday, 'phone,brand\n+12015555000,acme\n');
    writeFileSync(tuesday, 'phone,brand\n+12015555001,acme\n');
    const first = await runCli(['import', monday], env);
    expect(JSON.parse(first.stdout)).toMatchObject({ recorded: 1, rejected: 0 });
    const second = await runCli(['import', tuesday], env);
    expect(JSON.parse(second.stdout)).toMatchObject({ recorded: 1, rejected: 0 });
    expect(second.code).toBe(0);
    const check = await runCli(['check', '+12015555001', '--brand', 'acme'], env);
    expect(check.code).toBe(3);
    const again = await runCli(['import', tuesday], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ recorded: 0, duplicates: 1 });
  }, 60_000);
});
