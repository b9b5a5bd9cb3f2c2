import { writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../services/api/index.js';
import { loadConfig } from '../../services/config/index.js';
import type { EmbeddedEventLog } from '../../services/log/index.js';
import { openEmbeddedLedger, type Ledger } from '../../services/runtime/index.js';
import { eventually } from '../support/eventually.js';
import {
  openInProcess,
  removeDir,
  startChild,
  tempDir,
  type ChildLedger,
  type InProcessLedger,
} from '../support/ledger-harness.js';

interface Answer<T> {
  status: number;
  headers: Headers;
  body: T;
}

async function request<T>(url: string, body?: unknown): Promise<Answer<T>> {
  const response = await fetch(url, {
    ...(body !== undefined && {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as T };
}

/** A loopback port nothing listens on: taken, then given back. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface RoleState {
  ready: boolean;
  reason?: string;
}
interface Readiness {
  status: string;
  error?: string;
  message?: string;
  roles: {
    intake?: RoleState;
    gate?: RoleState;
    projector?: RoleState & { views: Record<string, RoleState & { healthy: boolean }> };
  };
}
interface ViewStatus {
  name: string;
  ready: boolean;
  healthy: boolean;
  lastError?: string;
}
interface Check {
  allowed: boolean;
  status: string;
  reason: string;
}

const optOut = (phone: string) => ({ type: 'opt_out', phone, brand: 'acme', source: 'api' });

describe('a sending system down: intake and the gate go on, the view says what is wrong', () => {
  let dir: string;
  let configFile: string;
  const children: ChildLedger[] = [];

  beforeAll(async () => {
    dir = tempDir();
    configFile = join(dir, 'ledger.json');
    const [redisPort, crmPort] = [await deadPort(), await deadPort()];
    writeFileSync(
      configFile,
      JSON.stringify({
        views: [
          {
            name: 'crm-redis',
            kind: 'redis',
            url: `redis://127.0.0.1:${redisPort}/0`,
            prefix: 'test:health',
          },
          { name: 'crm-hook', kind: 'webhook', url: `http://127.0.0.1:${crmPort}/crm` },
        ],
      }),
    );
  });
  afterAll(async () => {
    for (const child of children) await child.kill('SIGTERM');
    removeDir(dir);
  });

  it('all roles in one process: ready (degraded), STOPs recorded, checks through the dead views unknown', async () => {
    const child = await startChild(join(dir, 'all'), { LEDGER_CONFIG_FILE: configFile });
    children.push(child);
    const { url } = child;

    const ready = await eventually(
      async () => {
        const answer = await request<Readiness>(`${url}/readyz`);
        expect(answer.status).toBe(200);
        expect(answer.body.roles.projector?.views['crm-redis']).toMatchObject({
          ready: false,
          healthy: false,
        });
        return answer.body;
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    expect(ready).toMatchObject({
      status: 'degraded',
      roles: { intake: { ready: true }, gate: { ready: true } },
    });
    expect(ready.roles.projector?.views['crm-redis']?.reason).toMatch(/crm-redis is failing/);

    const phone = '+12015550161';
    const recorded = await request<{ position: string }>(`${url}/v1/events`, optOut(phone));
    expect(recorded.status).toBe(201);
    const inbound = await request<{ intent: string; eventId: string | null }>(`${url}/v1/inbound/sms`, {
      from: '+12015550162',
      to: '12345',
      body: 'STOP',
      brand: 'acme',
    });
    expect(inbound).toMatchObject({ status: 200, body: { intent: 'opt_out' } });
    expect(inbound.body.eventId).not.toBeNull();

    // The webhook view learns its CRM is down from the first change it cannot deliver.
    const views = await eventually(
      async () => {
        const listed = (await request<{ views: ViewStatus[] }>(`${url}/v1/views`)).body.views;
        expect(listed.find((v) => v.name === 'crm-hook')).toMatchObject({ healthy: false });
        return listed;
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    expect(views.find((v) => v.name === 'memory')).toMatchObject({ healthy: true, ready: true });
    expect(views.find((v) => v.name === 'crm-redis')).toMatchObject({
      ready: false,
      healthy: false,
      lastError: expect.stringMatching(/cannot connect to Redis for view crm-redis.*ECONNREFUSED/) as string,
    });
    expect(views.find((v) => v.name === 'crm-hook')?.lastError).toMatch(/ECONNREFUSED/);

    for (const system of ['crm-redis', 'crm-hook']) {
      const check = await request<Check>(`${url}/v1/suppressions/${phone}?brand=acme&system=${system}`);
      expect(check.body).toMatchObject({ allowed: false, status: 'unknown' });
      expect(check.body.reason).toMatch(new RegExp(`view ${system} is failing`));
    }
    const central = await request<Check>(
      `${url}/v1/suppressions/${phone}?brand=acme&minPosition=${encodeURIComponent(recorded.body.position)}`,
    );
    expect(central.body).toMatchObject({ allowed: false, status: 'opted_out' });

    const still = await request<Readiness>(`${url}/readyz`);
    expect(still.status).toBe(200);
    expect(still.body.roles.projector?.views['crm-hook']).toMatchObject({ ready: false, healthy: false });
  }, 60_000);
});

describe('a full disk', () => {
  let dir: string;
  let child: ChildLedger | undefined;

  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(async () => {
    await child?.kill('SIGTERM');
    removeDir(dir);
  });

  it('answers 503 with Retry-After, is not ready while appends fail, and loses nothing it acknowledged', async () => {
    const data = join(dir, 'data');
    // The cap makes SQLite itself answer SQLITE_FULL, as a disk with no space left does.
    child = await startChild(data, { LEDGER_LOG_MAX_BYTES: '65536' });
    const acknowledged: string[] = [];
    let refused: Answer<{ error: string; message: string }> | undefined;
    for (let i = 0; i < 2000 && refused === undefined; i++) {
      const phone = `+1201555${String(3000 + i)}`;
      const answer = await request<{ error: string; message: string }>(`${child.url}/v1/events`, {
        ...optOut(phone),
        evidence: { rawText: `STOP ${'x'.repeat(1500)}` },
      });
      if (answer.status === 201) acknowledged.push(phone);
      else refused = answer;
    }
    expect(acknowledged.length).toBeGreaterThan(5);
    expect(refused?.status).toBe(503);
    expect(refused?.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused?.body).toEqual({
      error: 'unavailable',
      message: expect.stringMatching(/disk is full/) as string,
    });

    const readiness = await request<Readiness>(`${child.url}/readyz`);
    expect(readiness.status).toBe(503);
    expect(readiness.body.roles.intake).toMatchObject({
      ready: false,
      reason: expect.stringMatching(/disk is full/) as string,
    });
    expect(readiness.body.roles.gate).toEqual({ ready: true });
    expect((await request<{ status: string }>(`${child.url}/healthz`)).status).toBe(200);

    // Space freed (a larger cap) and a restart: every acknowledged opt-out is there, appends work.
    await child.kill('SIGTERM');
    child = await startChild(data, { LEDGER_LOG_MAX_BYTES: String(16 * 1024 * 1024) });
    const url = child.url;
    await eventually(async () => expect((await request(`${url}/readyz`)).status).toBe(200), {
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    for (const phone of acknowledged) {
      expect((await request<Check>(`${url}/v1/suppressions/${phone}?brand=acme`)).body).toMatchObject({
        allowed: false,
        status: 'opted_out',
      });
    }
    expect((await request(`${url}/v1/events`, optOut('+12015559999'))).status).toBe(201);
  }, 90_000);

  it('ready again, without a restart or an append, once space is freed', async () => {
    const inProcess: InProcessLedger = await openInProcess(join(dir, 'in-process'), {
      LEDGER_LOG_MAX_BYTES: '65536',
    });
    try {
      const { app, ledger } = inProcess;
      await ledger.ready();
      let status = 201;
      for (let i = 0; status === 201 && i < 2000; i++) {
        const response = await app.inject({
          method: 'POST',
          url: '/v1/events',
          payload: { ...optOut(`+1201555${String(5000 + i)}`), evidence: { rawText: 'x'.repeat(1500) } },
        });
        status = response.statusCode;
      }
      expect(status).toBe(503);
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);

      (ledger.log as EmbeddedEventLog).limitSize(16 * 1024 * 1024);
      await eventually(
        async () => expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200),
        {
          timeoutMs: 5000,
          intervalMs: 50,
        },
      );
    } finally {
      await inProcess.close();
    }
  }, 60_000);
});

describe('a process that runs only the projector role', () => {
  let dir: string;
  let crm: Server;
  let projector: { app: FastifyInstance; ledger: Ledger } | undefined;

  beforeEach(async () => {
    dir = tempDir();
    crm = createHttpServer((_request, response) => response.writeHead(204).end());
    await new Promise<void>((resolve) => crm.listen(0, '127.0.0.1', resolve));
  });
  afterEach(async () => {
    await projector?.app.close();
    await projector?.ledger.close();
    projector = undefined;
    await new Promise<void>((resolve) => crm.close(() => resolve()));
    removeDir(dir);
  });

  /** Roles as `ledger start --role projector` wires them (in process: the embedded log allows no second process). */
  async function startProjector(views: object[]): Promise<{ app: FastifyInstance; ledger: Ledger }> {
    const configFile = join(dir, 'ledger.json');
    writeFileSync(configFile, JSON.stringify({ views }));
    const config = loadConfig({
      LEDGER_DATA_DIR: dir,
      LEDGER_LOG_LEVEL: 'silent',
      LEDGER_CONFIG_FILE: configFile,
    });
    const ledger = openEmbeddedLedger(config);
    const app = await buildApp(ledger, { roles: ['projector'] });
    ledger.start({ central: false, systems: true });
    return { app, ledger };
  }
  const readyz = async (app: FastifyInstance) => {
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    return { status: response.statusCode, body: response.json<Readiness>() };
  };
  const deadRedis = async () => ({
    name: 'crm-redis',
    kind: 'redis',
    url: `redis://127.0.0.1:${await deadPort()}/0`,
    prefix: 'test:health:projector',
  });

  it('is not ready when none of its views can answer, and says why', async () => {
    projector = await startProjector([await deadRedis()]);
    const { app } = projector;
    const answer = await eventually(
      async () => {
        const readiness = await readyz(app);
        expect(readiness.body.roles.projector?.views['crm-redis']).toMatchObject({ healthy: false });
        return readiness;
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({
      error: 'unavailable',
      status: 'unavailable',
      message: 'projector: no system view can answer checks',
    });
    expect(answer.body.roles).not.toHaveProperty('intake');
    expect(answer.body.roles).not.toHaveProperty('gate');
  });

  it('stays ready (degraded) while another of its views answers: every replica shares the dead store', async () => {
    const { port } = crm.address() as AddressInfo;
    projector = await startProjector([
      await deadRedis(),
      { name: 'crm-hook', kind: 'webhook', url: `http://127.0.0.1:${port}/crm` },
    ]);
    const { app } = projector;
    const answer = await eventually(
      async () => {
        const readiness = await readyz(app);
        expect(readiness.status).toBe(200);
        return readiness;
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    expect(answer.body).toMatchObject({
      status: 'degraded',
      roles: {
        projector: {
          ready: true,
          views: {
            'crm-redis': { ready: false, healthy: false },
            'crm-hook': { ready: true, healthy: true },
          },
        },
      },
    });
  });
});
