import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { E164 } from '../../services/ledger/index.js';
import { partitionFor } from '../../services/log/index.js';
import { eventually } from '../support/eventually.js';
import {
  getJson,
  postJson,
  produceRaw,
  randomPhone,
  randomPhones,
  readTopic,
  startKafkaChild,
  testBrokers,
  uniqueTopic,
  whenReady,
  type CheckAnswer,
  type KafkaChild,
} from '../support/kafka.js';

const brokers = testBrokers ?? [];
// needs a broker: make test starts one (infra/kafka/with-kafka.sh sets LEDGER_TEST_KAFKA_BROKERS)
const describeKafka = testBrokers !== undefined ? describe : describe.skip;

const PRODUCER_EXAMPLE = resolve(__dirname, '../../dist/services/producer/example.js');

interface Produced {
  eventId: string;
  phone: string;
  position: string;
}

interface Recorded {
  eventId: string;
  phone: string;
  position: string;
  duplicate?: boolean;
}

interface Inbound {
  intent: string;
  eventId: string | null;
  position: string | null;
  reply: string | null;
}

/** The producer library's example, run as a separate process (a CRM writing straight to the topic). */
function runProducerExample(topic: string, phone: string, brand: string): Promise<Produced> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [PRODUCER_EXAMPLE, phone, brand], {
      env: {
        PATH: process.env.PATH ?? '',
        LEDGER_KAFKA_BROKERS: brokers.join(','),
        LEDGER_TOPIC: topic,
        KAFKAJS_NO_PARTITIONER_WARNING: '1',
      },
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`producer example exited with ${code}:\n${stdout}${stderr}`));
      try {
        resolveRun(JSON.parse(stdout.trim().split('\n').pop() ?? '') as Produced);
      } catch (error) {
        reject(new Error(`producer example printed no JSON: ${String(error)}\n${stdout}${stderr}`));
      }
    });
  });
}

describeKafka('the ledger on Kafka, end to end through HTTP', () => {
  let topic: string;
  let ledger: KafkaChild | undefined;

  beforeEach(async () => {
    topic = uniqueTopic('ledger-e2e');
    ledger = await startKafkaChild(brokers, topic);
    await whenReady(ledger.url);
  });

  afterEach(async () => {
    await ledger?.stop();
    ledger = undefined;
  });

  const check = async (phone: string, query: string): Promise<CheckAnswer> => {
    const answer = await getJson<CheckAnswer>(
      `${ledger?.url}/v1/suppressions/${encodeURIComponent(phone)}?${query}`,
    );
    expect(answer.status).toBe(200);
    return answer.body;
  };

  it('an opt-out produced by another process with the producer library is honoured by the gate', async () => {
    const phone = randomPhone();
    const produced = await runProducerExample(topic, phone, 'acme');
    expect(produced).toMatchObject({ phone, eventId: expect.any(String) as string });
    expect(produced.position).toMatch(new RegExp(`^${partitionFor(phone, 3)}:\\d+$`));

    const blocked = await check(phone, `brand=acme&minPosition=${produced.position}`);
    expect(blocked).toMatchObject({
      phone,
      allowed: false,
      status: 'opted_out',
      eventId: produced.eventId,
    });
    // Brand scope: another brand may still send.
    expect(await check(phone, 'brand=globex')).toMatchObject({ allowed: true, status: 'no_record' });
  });

  it('STOP by SMS → read-your-write check is suppressed, one confirmation only → START → allowed', async () => {
    const phone = randomPhone();
    const stop = await postJson<Inbound>(`${ledger?.url}/v1/inbound/sms`, {
      from: phone,
      to: '12345',
      body: 'STOP',
      messageId: `SM-${randomUUID()}`,
    });
    expect(stop.status).toBe(200);
    expect(stop.body).toMatchObject({
      intent: 'opt_out',
      reply: expect.stringMatching(/unsubscribed/) as string,
    });
    expect(stop.body.position).toMatch(new RegExp(`^${partitionFor(phone, 3)}:\\d+$`));

    expect(await check(phone, `minPosition=${stop.body.position}`)).toMatchObject({
      allowed: false,
      status: 'opted_out',
      eventId: stop.body.eventId,
    });

    // Intake on Kafka decides against the view: a second STOP gets no second confirmation.
    const again = await postJson<Inbound>(`${ledger?.url}/v1/inbound/sms`, {
      from: phone,
      to: '12345',
      body: 'stop',
      messageId: `SM-${randomUUID()}`,
    });
    expect(again.body).toMatchObject({ intent: 'opt_out', reply: null });

    const start = await postJson<Inbound>(`${ledger?.url}/v1/inbound/sms`, {
      from: phone,
      to: '12345',
      body: 'START',
      messageId: `SM-${randomUUID()}`,
    });
    expect(start.body.intent).toBe('opt_in');
    expect(await check(phone, `minPosition=${start.body.position}`)).toMatchObject({
      allowed: true,
      status: 'opted_in',
    });
  });

  it('a poison record fails closed for its phone only: the next opt-out in its partition is applied, and it is in the DLQ', async () => {
    const [poisoned, ...others] = randomPhones(40) as [E164, ...E164[]];
    const partition = partitionFor(poisoned, 3);
    const neighbour = others.find((phone) => partitionFor(phone, 3) === partition);
    if (neighbour === undefined) throw new Error('no second phone in the partition');

    const optIn = await postJson<Recorded>(`${ledger?.url}/v1/events`, {
      type: 'opt_in',
      phone: poisoned,
      brand: 'acme',
      source: 'web_form',
      evidence: { formUrl: 'https://acme.example/join', ip: '192.0.2.1' },
    });
    expect(optIn.status).toBe(201);
    expect(await check(poisoned, `brand=acme&minPosition=${optIn.body.position}`)).toMatchObject({
      allowed: true,
      status: 'opted_in',
    });

    // Another system writes garbage under the phone's key: it may have been an opt-out.
    const garbage = Buffer.from([0xde, 0xad, 0xbe, 0xef, 1, 2, 3]);
    const [poison] = await produceRaw(brokers, topic, [{ key: poisoned, value: garbage }]);
    expect(poison?.partition).toBe(partition);
    const poisonAt = `${partition}:${Number(poison?.baseOffset) + 1}`;

    const stop = await postJson<Recorded>(`${ledger?.url}/v1/events`, {
      type: 'opt_out',
      phone: neighbour,
      brand: 'acme',
      source: 'crm',
    });
    expect(stop.status).toBe(201);
    expect(stop.body.position).toMatch(new RegExp(`^${partition}:\\d+$`));

    expect(await check(neighbour, `brand=acme&minPosition=${stop.body.position}`)).toMatchObject({
      allowed: false,
      status: 'opted_out',
      eventId: stop.body.eventId,
    });
    const failClosed = await check(poisoned, `brand=acme&minPosition=${poisonAt}`);
    expect(failClosed).toMatchObject({ allowed: false, status: 'unknown' });
    expect(failClosed.reason).toMatch(/cannot be read/);
    expect(failClosed.reason).toContain(poisonAt);

    const dead = await eventually(
      async () => {
        const records = await readTopic(brokers, `${topic}.dlq`);
        expect(records).toHaveLength(1);
        return records;
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    expect(dead[0]).toMatchObject({ key: poisoned, value: garbage });
    expect(dead[0]?.headers.reason).toMatch(/magic byte 0/);
  });

  it("a provider's retried webhook (same message id) is answered with the original and not appended again", async () => {
    const phone = randomPhone();
    const message = { from: phone, to: '12345', body: 'START', messageId: `SM-${randomUUID()}` };
    const first = await postJson<Inbound & { duplicate: boolean }>(`${ledger?.url}/v1/inbound/sms`, message);
    expect(first.body).toMatchObject({ intent: 'opt_in', duplicate: false });
    expect(first.body.reply).not.toBeNull();
    const retried = await postJson<Inbound & { duplicate: boolean }>(
      `${ledger?.url}/v1/inbound/sms`,
      message,
    );
    expect(retried.body).toMatchObject({
      intent: 'opt_in',
      eventId: first.body.eventId,
      position: first.body.position,
      reply: null,
      duplicate: true,
    });
    // Nothing was appended by the retry: the next record of the phone's partition follows the first.
    const next = await postJson<Inbound>(`${ledger?.url}/v1/inbound/sms`, {
      ...message,
      body: 'STOP',
      messageId: `SM-${randomUUID()}`,
    });
    const [partition, offset] = (first.body.position ?? '').split(':').map(Number);
    const [nextPartition, nextOffset] = (next.body.position ?? '').split(':').map(Number);
    expect(nextPartition).toBe(partition);
    expect(nextOffset).toBe((offset ?? 0) + 1);
  });

  it('exports the whole topic as JSON Lines, every partition in order, as it stood when asked', async () => {
    const phones = Array.from({ length: 12 }, () => randomPhone());
    for (const phone of phones) {
      await postJson(`${ledger?.url}/v1/events`, { type: 'opt_out', phone, brand: 'acme', source: 'crm' });
    }
    const response = await fetch(`${ledger?.url}/v1/export`, { signal: AbortSignal.timeout(30_000) });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { position: string; event: { phone: string } });
    expect(lines).toHaveLength(Number(response.headers.get('x-ledger-records')));
    expect(lines.map((l) => l.event.phone).sort()).toEqual([...phones].sort());
    for (const line of lines)
      expect(line.position).toMatch(new RegExp(`^${partitionFor(line.event.phone, 3)}:\\d+$`));
  });

  it('a repeated eventId is applied once, and acknowledged with the original (200)', async () => {
    const phone = randomPhone();
    const stop = { type: 'opt_out', phone, brand: 'acme', source: 'crm', eventId: `crm-${randomUUID()}` };
    const first = await postJson<Recorded>(`${ledger?.url}/v1/events`, stop);
    expect(first.status).toBe(201);
    const optIn = await postJson<Recorded>(`${ledger?.url}/v1/events`, {
      type: 'opt_in',
      phone,
      brand: 'acme',
      source: 'web_form',
      evidence: { formUrl: 'https://acme.example/join', ip: '192.0.2.1' },
    });
    expect(optIn.status).toBe(201);
    // The CRM retries its opt-out (its first reply was lost): later than the opt-in, but the same fact.
    const retried = await postJson<Recorded>(`${ledger?.url}/v1/events`, stop);
    expect(retried.body.eventId).toBe(stop.eventId);

    expect(await check(phone, `brand=acme&minPosition=${retried.body.position}`)).toMatchObject({
      allowed: true,
      status: 'opted_in',
      eventId: optIn.body.eventId,
    });
    // docs/design.md §4: "a repeated `eventId` → `200` with the original".
    expect({ status: retried.status, position: retried.body.position }).toEqual({
      status: 200,
      position: first.body.position,
    });
  });
});
