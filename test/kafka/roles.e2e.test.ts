import { randomUUID } from 'node:crypto';
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

  it('refuses --role on the embedded log, and the projector role until it has views to run, saying why', async () => {
    const embedded = await runCli(['start', '--role', 'gate'], { LEDGER_DATA_DIR: dir, PORT: '0' });
    expect(embedded.code).toBe(78);
    expect(embedded.stderr).toMatch(/--role gate needs Kafka mode/);
    const projector = await runCli(['start', '--role', 'projector'], {
      LEDGER_KAFKA_BROKERS: brokers ?? '',
      PORT: '0',
    });
    expect(projector.code).toBe(78);
    expect(projector.stderr).toMatch(/--role projector runs the system views declared under "views".*none are declared/);
  });
});
