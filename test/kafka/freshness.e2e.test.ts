import { randomUUID } from 'node:crypto';
import { setTimeout as pause } from 'node:timers/promises';
import { eventually } from '../support/eventually.js';
import {
  getJson,
  kafkaClient,
  LocalCluster,
  randomPhone,
  testBrokers,
  uniqueTopic,
  whenReady,
  type CheckAnswer,
} from '../support/kafka.js';
import { removeDir, startChild, tempDir, type ChildLedger } from '../support/ledger-harness.js';

// Needs Kafka on this machine (make test runs infra/kafka/with-kafka.sh, which sets
// LEDGER_TEST_KAFKA_BROKERS); this file starts its own one-node cluster, 30 ports above the test
// broker's, so that it can kill and freeze the broker without touching anyone else's.
const describeKafka = testBrokers !== undefined ? describe : describe.skip;
const PORT_BASE = Number(process.env.KAFKA_PORT_BASE ?? 9192) + 30;

const BOUND_MS = 1_000;
/** How long the checks after a fault are watched: several bounds. */
const WATCH_MS = 4_000;

interface Role {
  readonly url: string;
  readonly child: ChildLedger;
  readonly dir: string;
}

/**
 * Issue 10: a gate cut off from the log answered `allowed: true` from a stale view as if current
 * (103 times over 26 s with the broker killed, 357 over 90 s with it hung), because staleness was
 * measured only on records already delivered. Intake and gate run as separate processes, as in
 * production; the gate is frozen (SIGSTOP) while an opt-out is acknowledged, so that it cannot have
 * fetched it before the broker goes.
 */
describeKafka('a gate process cut off from Kafka fails closed (issue 10)', () => {
  let runDir: string;
  let cluster: LocalCluster;
  const roles: Role[] = [];
  let brokerDown = false;
  let brokerFrozen = false;

  beforeAll(async () => {
    runDir = tempDir('ledger-kafka-freshness-');
    cluster = await LocalCluster.up(runDir, 1, PORT_BASE);
  }, 180_000);

  afterAll(async () => {
    await LocalCluster.down(runDir);
    removeDir(runDir);
  }, 60_000);

  afterEach(async () => {
    for (const role of roles.splice(0)) {
      role.child.process.kill('SIGCONT');
      await role.child.kill('SIGKILL');
      removeDir(role.dir);
    }
    if (brokerFrozen) cluster.thaw(1);
    brokerFrozen = false;
    if (brokerDown) await cluster.start(1);
    brokerDown = false;
  }, 120_000);

  async function start(
    role: 'intake' | 'gate',
    topic: string,
    env: Record<string, string> = {},
  ): Promise<Role> {
    const dir = tempDir('ledger-kafka-role-');
    try {
      const child = await startChild(
        dir,
        {
          LEDGER_KAFKA_BROKERS: cluster.brokers.join(','),
          LEDGER_TOPIC: topic,
          LEDGER_PARTITIONS: '3',
          LEDGER_MAX_STALENESS_MS: String(BOUND_MS),
          KAFKAJS_NO_PARTITIONER_WARNING: '1',
          ...env,
        },
        ['--role', role],
      );
      const started = { url: child.url, child, dir };
      roles.push(started);
      return started;
    } catch (error) {
      removeDir(dir);
      throw error;
    }
  }

  async function check(gate: Role, phone: string, query = ''): Promise<CheckAnswer> {
    const answer = await getJson<CheckAnswer>(
      `${gate.url}/v1/suppressions/${encodeURIComponent(phone)}?brand=acme${query}`,
    );
    expect(answer.status).toBe(200);
    return answer.body;
  }

  async function optOut(intake: Role, phone: string): Promise<{ status: number; position: string }> {
    const response = await fetch(`${intake.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'opt_out', phone, brand: 'acme', source: 'call_centre' }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await response.json()) as { position: string };
    return { status: response.status, position: body.position };
  }

  /** Checks the gate for WATCH_MS: every answer it gave for the number, by status. */
  async function watch(gate: Role, phone: string): Promise<Record<string, number>> {
    const seen: Record<string, number> = {};
    const until = Date.now() + WATCH_MS;
    while (Date.now() < until) {
      const { allowed, status } = await check(gate, phone);
      const key = `${allowed ? 'allowed' : 'refused'}:${status}`;
      seen[key] = (seen[key] ?? 0) + 1;
      await pause(50);
    }
    return seen;
  }

  /** Freezes the gate while `fault` happens, for longer than the bound, as a GC pause or a stopped VM. */
  async function frozen(gate: Role, fault: () => Promise<void>): Promise<void> {
    const frozenAt = Date.now();
    gate.child.process.kill('SIGSTOP');
    try {
      await fault();
      // The freeze itself is the fault: it must outlast the bound, so this wait is the scenario.
      await pause(Math.max(0, frozenAt + BOUND_MS * 2 - Date.now()));
    } finally {
      gate.child.process.kill('SIGCONT');
    }
  }

  async function givenIntakeAndGate(
    env: Record<string, string> = {},
  ): Promise<{ topic: string; intake: Role; gate: Role }> {
    const topic = uniqueTopic('fresh');
    const intake = await start('intake', topic, env);
    const gate = await start('gate', topic, env);
    await whenReady(gate.url, 60_000);
    return { topic, intake, gate };
  }

  it('broker killed (SIGKILL) after an acknowledged opt-out: the gate answers unknown, never allowed, until it is back', async () => {
    const { intake, gate } = await givenIntakeAndGate();
    const phone = randomPhone();
    expect(await check(gate, phone)).toMatchObject({ allowed: true, status: 'no_record' });

    await frozen(gate, async () => {
      expect((await optOut(intake, phone)).status).toBe(201);
      brokerDown = true;
      await cluster.kill(1);
    });
    expect(await watch(gate, phone)).toEqual({ 'refused:unknown': expect.any(Number) as number });
    const views = await getJson<{ views: { healthy: boolean; lastError?: string }[] }>(
      `${gate.url}/v1/views`,
    );
    expect(views.body.views[0]).toMatchObject({ healthy: false, lastError: expect.any(String) as string });
    expect((await getJson(`${gate.url}/readyz`)).status).toBe(503);

    await cluster.start(1);
    brokerDown = false;
    await eventually(async () => expect(await check(gate, phone)).toMatchObject({ status: 'opted_out' }), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
  }, 180_000);

  it('broker hung (SIGSTOP) after an acknowledged opt-out: unknown for as long as it hangs', async () => {
    const { intake, gate } = await givenIntakeAndGate();
    const phone = randomPhone();
    expect(await check(gate, phone)).toMatchObject({ allowed: true, status: 'no_record' });

    await frozen(gate, async () => {
      expect((await optOut(intake, phone)).status).toBe(201);
      brokerFrozen = true;
      cluster.freeze(1);
    });
    expect(await watch(gate, phone)).toEqual({ 'refused:unknown': expect.any(Number) as number });

    cluster.thaw(1);
    brokerFrozen = false;
    await eventually(async () => expect(await check(gate, phone)).toMatchObject({ status: 'opted_out' }), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
  }, 180_000);

  it('topic deleted and recreated under a running gate: unknown for good, even with minPosition of the new topic', async () => {
    const { topic, intake, gate } = await givenIntakeAndGate({ LEDGER_PARTITIONS: '1' });
    const first = randomPhone();
    const recorded = await optOut(intake, first);
    expect(await check(gate, first, `&minPosition=${recorded.position}`)).toMatchObject({
      status: 'opted_out',
    });

    await intake.child.kill('SIGTERM');
    const admin = kafkaClient(cluster.brokers).admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: [topic] });
      await eventually(async () => expect(await admin.listTopics()).not.toContain(topic), {
        timeoutMs: 20_000,
        intervalMs: 100,
      });
    } finally {
      await admin.disconnect();
    }
    // A new intake creates the topic again, and the first opt-out on it takes the old one's position.
    const again = await start('intake', topic, { LEDGER_PARTITIONS: '1' });
    const second = randomPhone();
    const onNewTopic = await optOut(again, second);
    expect(onNewTopic).toMatchObject({ status: 201, position: recorded.position });

    const answer = await check(gate, second, `&minPosition=${onNewTopic.position}`);
    expect(answer).toMatchObject({ allowed: false, status: 'unknown' });
    expect(await watch(gate, second)).toEqual({ 'refused:unknown': expect.any(Number) as number });
    const views = await getJson<{ views: { lastError?: string }[] }>(`${gate.url}/v1/views`);
    expect(views.body.views[0]?.lastError).toMatch(/no longer the topic this process opened|went backwards/);
  }, 180_000);

  it('a gate started on a missing topic refuses to start, and creates nothing', async () => {
    const topic = uniqueTopic('fresh-missing');
    await expect(start('gate', topic)).rejects.toThrow(
      /exited with 1[\s\S]*does not exist[\s\S]*only intake/,
    );
    const admin = kafkaClient(cluster.brokers).admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).not.toContain(topic);
    } finally {
      await admin.disconnect();
    }
  }, 60_000);

  it('intake answers 503 unavailable with Retry-After, not 500, while Kafka is down', async () => {
    const topic = uniqueTopic('fresh-intake');
    const intake = await start('intake', topic);
    await whenReady(intake.url, 60_000);
    brokerDown = true;
    await cluster.kill(1);
    const response = await fetch(`${intake.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'opt_out',
        phone: randomPhone(),
        brand: 'acme',
        source: 'call_centre',
        eventId: `retry-${randomUUID()}`,
      }),
      signal: AbortSignal.timeout(90_000),
    });
    expect({ status: response.status, retryAfter: response.headers.get('retry-after') }).toEqual({
      status: 503,
      retryAfter: '1',
    });
    expect(await response.json()).toMatchObject({ error: 'unavailable' });
  }, 150_000);
});
