import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { frame } from '../../services/codec/index.js';
import { START, type E164, type LedgerEvent, type Position } from '../../services/ledger/index.js';
import {
  partitionFor,
  type Appended,
  type Consumption,
  type ConsumerSpec,
  type KafkaEventLog,
  type LogRecord,
  type Undecodable,
} from '../../services/log/index.js';
import { eventually } from '../support/eventually.js';
import { confirmation, optIn, optOut } from '../support/given.js';
import {
  codec,
  decodeAll,
  highWatermarks,
  kafkaClient,
  openKafkaLog,
  produceRaw,
  randomPhones,
  readTopic,
  testBrokers,
  uniqueTopic,
} from '../support/kafka.js';

const { ConfigResourceTypes } = kafkajs;
const brokers = testBrokers ?? [];
// needs a broker: make test starts one (infra/kafka/with-kafka.sh sets LEDGER_TEST_KAFKA_BROKERS)
const describeKafka = testBrokers !== undefined ? describe : describe.skip;

const DELIVERY_TIMEOUT_MS = 20_000;

/** A consumer spec that records what it is handed, resuming each partition from `from`. */
function collector(from: readonly number[] = []) {
  const records: LogRecord[] = [];
  const undecodable: Undecodable[] = [];
  const heads: { partition: number; head: Position; last: Position }[] = [];
  const spec: ConsumerSpec = {
    group: `test-${randomUUID()}`,
    checkpoint: (partition) => Promise.resolve((from[partition] ?? START) as Position),
    deliver: (batch, delivery) => {
      records.push(...batch);
      heads.push({ ...delivery, last: batch[batch.length - 1]?.position ?? START });
      return Promise.resolve();
    },
    undecodable: (record) => {
      undecodable.push(record);
      return Promise.resolve();
    },
  };
  const positions = (partition: number): Position[] =>
    records.filter((r) => r.partition === partition).map((r) => r.position);
  return { spec, records, undecodable, heads, positions };
}

/** Creates `topic` as an operator would (broker defaults), unless it exists. */
async function ensureTopic(topic: string, numPartitions = 1): Promise<void> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions }] });
    }
  } finally {
    await admin.disconnect();
  }
}

/** from+1..to, as positions. */
const upTo = (from: number, to: number): number[] =>
  Array.from({ length: to - from }, (_, i) => from + i + 1);

describeKafka('KafkaEventLog on a Kafka broker', () => {
  const opened: KafkaEventLog[] = [];
  const consumptions: Consumption[] = [];

  async function open(topic: string, partitions = 3): Promise<KafkaEventLog> {
    const log = await openKafkaLog(brokers, topic, { partitions });
    opened.push(log);
    return log;
  }

  function consume(log: KafkaEventLog, spec: ConsumerSpec): Consumption {
    const consumption = log.consume(spec);
    consumptions.push(consumption);
    return consumption;
  }

  afterEach(async () => {
    await Promise.all(consumptions.splice(0).map((c) => c.stop()));
    await Promise.all(opened.splice(0).map((log) => log.close()));
  });

  describe('the topic', () => {
    it('is created with the partitions asked for, retention forever and the delete policy, with its dead-letter topic', async () => {
      const topic = uniqueTopic();
      const log = await open(topic, 4);
      expect(await log.partitions()).toBe(4);

      const admin = kafkaClient(brokers).admin();
      await admin.connect();
      try {
        const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
        expect(metadata.topics[0]?.partitions).toHaveLength(4);
        const described = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [
            {
              type: ConfigResourceTypes.TOPIC,
              name: topic,
              configNames: ['retention.ms', 'cleanup.policy'],
            },
          ],
        });
        const entries = Object.fromEntries(
          (described.resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]),
        );
        expect(entries).toEqual({ 'retention.ms': '-1', 'cleanup.policy': 'delete' });
        expect(await admin.listTopics()).toContain(`${topic}.dlq`);
      } finally {
        await admin.disconnect();
      }
    });

    it('an existing topic keeps its partition count, whatever the options ask', async () => {
      const topic = uniqueTopic();
      const first = await open(topic, 2);
      await first.close();
      const again = await open(topic, 5);
      expect(await again.partitions()).toBe(2);
      expect(await highWatermarks(brokers, topic)).toHaveLength(2);
    });

    it('is not created by a process that may not create it (a gate or projector): it refuses to open', async () => {
      const topic = uniqueTopic();
      await expect(openKafkaLog(brokers, topic, { createTopic: false })).rejects.toMatchObject({
        code: 'unavailable',
        message: expect.stringMatching(/does not exist.*only intake/) as string,
      });
      const admin = kafkaClient(brokers).admin();
      await admin.connect();
      try {
        expect(await admin.listTopics()).not.toContain(topic);
      } finally {
        await admin.disconnect();
      }
      const created = await open(topic, 2);
      const reader = await openKafkaLog(brokers, topic, { createTopic: false });
      opened.push(reader);
      expect(await reader.partitions()).toBe(2);
      expect(await reader.head()).toEqual(await created.head());
    });

    it('deleted and recreated under the same name is another log: head() fails from then on, for good', async () => {
      const topic = uniqueTopic();
      const log = await open(topic, 1);
      await log.append([optOut({ phone: randomPhones(1)[0] as E164, eventId: `id-${randomUUID()}` })]);
      expect(await log.head()).toEqual([1]);

      const admin = kafkaClient(brokers).admin();
      await admin.connect();
      try {
        await admin.deleteTopics({ topics: [topic] });
        await eventually(async () => expect(await admin.listTopics()).not.toContain(topic), {
          timeoutMs: 10_000,
          intervalMs: 50,
        });
        await eventually(
          async () => {
            await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
            expect(await admin.listTopics()).toContain(topic);
          },
          { timeoutMs: 10_000, intervalMs: 100 },
        );
      } finally {
        await admin.disconnect();
      }
      await produceRaw(brokers, topic, [{ key: 'x', value: Buffer.from('a') }]);
      await produceRaw(brokers, topic, [{ key: 'x', value: Buffer.from('b') }]);
      // The new topic's offsets have passed the old cursor: only its identity tells the two apart.
      expect(await highWatermarks(brokers, topic)).toEqual([2]);
      // A topic-id check vouches for 250 ms (head() is called per request), so the change is seen
      // within that window, not necessarily at the very next call; from then on, for good.
      await eventually(
        () =>
          expect(log.head()).rejects.toMatchObject({
            code: 'unavailable',
            message: expect.stringMatching(/no longer the topic this process opened/) as string,
          }),
        { timeoutMs: 5_000, intervalMs: 50 },
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      await expect(log.head()).rejects.toMatchObject({ code: 'unavailable' });
    });
  });

  describe('appends', () => {
    it("put every event of a phone in its key's partition, at the position a plain consumer finds it", async () => {
      const topic = uniqueTopic();
      const log = await open(topic, 3);
      // 36 random phones miss one of 3 partitions about once in 700,000 runs (12 did in 1 run of 43).
      const phones = randomPhones(36);
      // Several rounds of concurrent appends, each round queued in one tick: one produce request
      // that spans partitions, whose per-partition base offsets must be mapped back to each caller.
      const appended: Appended[] = [];
      for (let round = 0; round < 3; round += 1) {
        const results = await Promise.all(
          phones.map((phone, i) =>
            i % 4 === 0
              ? log.append([
                  optOut({ phone, eventId: `out-${round}-${randomUUID()}` }),
                  confirmation({ phone, eventId: `confirm-${round}-${randomUUID()}` }),
                ])
              : log.append([optIn({ phone, eventId: `in-${round}-${randomUUID()}` })]),
          ),
        );
        appended.push(...results.flat());
      }
      const partitionsUsed = new Set(appended.map((a) => a.partition));
      expect(partitionsUsed.size).toBe(3);

      const found = decodeAll(await readTopic(brokers, topic));
      expect(found).toHaveLength(appended.length);
      const where = new Map(found.map((r) => [r.event.eventId, r]));
      for (const a of appended) {
        const record = where.get(a.event.eventId);
        expect({
          eventId: a.event.eventId,
          partition: record?.partition,
          position: (record?.offset ?? -2) + 1,
        }).toEqual({
          eventId: a.event.eventId,
          partition: a.partition,
          position: a.position,
        });
        expect(a.duplicate).toBe(false);
      }
      for (const record of found) {
        expect(record.key).toBe(record.event.phone);
        expect(record.partition).toBe(partitionFor(record.event.phone, 3));
        expect(record.event).toEqual(appended.find((a) => a.event.eventId === record.event.eventId)?.event);
      }
      const perPhone = new Map<E164, Set<number>>();
      for (const a of appended)
        perPhone.set(a.event.phone, (perPhone.get(a.event.phone) ?? new Set()).add(a.partition));
      expect([...perPhone.values()].every((partitions) => partitions.size === 1)).toBe(true);

      const head = await log.head();
      expect(head).toEqual(await highWatermarks(brokers, topic));
      expect(head.reduce((sum, h) => sum + h, 0)).toBe(appended.length);
    });

    it('put a phone in the partition any kafkajs producer keyed by the phone picks (the default partitioner)', async () => {
      const topic = uniqueTopic();
      const log = await open(topic, 3);
      const phones = randomPhones(20);
      const mine = await log.append(phones.map((phone) => optOut({ phone, eventId: randomUUID() })));
      await produceRaw(
        brokers,
        topic,
        phones.map((phone) => ({ key: phone, value: codec.encode(optIn({ phone, eventId: randomUUID() })) })),
      );
      const found = decodeAll(await readTopic(brokers, topic));
      for (const phone of phones) {
        const partitions = new Set(found.filter((r) => r.event.phone === phone).map((r) => r.partition));
        expect({ phone, partitions: [...partitions] }).toEqual({
          phone,
          partitions: [mine.find((a) => a.event.phone === phone)?.partition],
        });
      }
    });
  });

  describe('consume()', () => {
    /** Phones spread so that every partition of a 3-partition topic gets `perPartition` events. */
    function eventsForEveryPartition(perPartition: number): LedgerEvent[] {
      const byPartition = new Map<number, E164>();
      for (const phone of randomPhones(60)) {
        const partition = partitionFor(phone, 3);
        if (!byPartition.has(partition)) byPartition.set(partition, phone);
      }
      expect(byPartition.size).toBe(3);
      return [...byPartition.values()].flatMap((phone) =>
        Array.from({ length: perPartition }, (_, i) =>
          (i % 2 === 0 ? optOut : optIn)({ phone, eventId: `${i}-${randomUUID()}` }),
        ),
      );
    }

    it("delivers every partition from the consumer's checkpoint, in order, then follows new appends", async () => {
      const topic = uniqueTopic();
      const log = await open(topic, 3);
      await Promise.all(eventsForEveryPartition(6).map((event) => log.append([event])));
      const head = await log.head();
      expect(head).toEqual([6, 6, 6]);

      const checkpoints = [0, 2, 6];
      const seen = collector(checkpoints);
      consume(log, seen.spec);
      await eventually(
        () => expect([0, 1, 2].map((p) => seen.positions(p))).toEqual([upTo(0, 6), upTo(2, 6), []]),
        { timeoutMs: DELIVERY_TIMEOUT_MS },
      );

      const more = await log.append(eventsForEveryPartition(2));
      const after = await log.head();
      expect(after).toEqual([8, 8, 8]);
      await eventually(
        () => expect([0, 1, 2].map((p) => seen.positions(p))).toEqual([upTo(0, 8), upTo(2, 8), upTo(6, 8)]),
        { timeoutMs: DELIVERY_TIMEOUT_MS },
      );
      const byPoint = new Map(seen.records.map((r) => [`${r.partition}:${r.position}`, r.event]));
      for (const a of more) expect(byPoint.get(`${a.partition}:${a.position}`)).toEqual(a.event);
      for (const { head: reported, last } of seen.heads) expect(reported).toBeGreaterThanOrEqual(last);
      expect(seen.undecodable).toEqual([]);
    });

    it('delivers a partition that holds more than one fetch (1 MiB) after the checkpoint', async () => {
      const topic = uniqueTopic();
      const log = await open(topic, 1);
      const [phone] = randomPhones(1);
      // ~1.6 KB per record (an agent's long note): 1,500 records are ~2.4 MB, over kafkajs' 1 MiB
      // maxBytesPerPartition, so the consumer must move its fetch offset on to see them all.
      const note = 'n'.repeat(1_500);
      for (let chunk = 0; chunk < 5; chunk += 1) {
        await log.append(
          Array.from({ length: 300 }, () => optOut({ phone, eventId: randomUUID(), evidence: { note } })),
        );
      }
      expect(await log.head()).toEqual([1_500]);

      const seen = collector();
      consume(log, seen.spec);
      await eventually(() => expect(seen.positions(0).length).toBe(1_500), {
        timeoutMs: DELIVERY_TIMEOUT_MS,
      });
      expect(seen.positions(0)).toEqual(upTo(0, 1_500));
    }, 40_000);
  });

  describe('a record no schema can read (poison)', () => {
    /** Two phones of one partition of a 3-partition topic. */
    function twoPhonesOfOnePartition(): [E164, E164, number] {
      const phones = randomPhones(40);
      const first = phones[0] as E164;
      const partition = partitionFor(first, 3);
      const second = phones.slice(1).find((p) => partitionFor(p, 3) === partition);
      if (second === undefined) throw new Error('no second phone in the partition');
      return [first, second, partition];
    }

    async function poisonScenario(log: KafkaEventLog, topic: string) {
      const [poisoned, neighbour, partition] = twoPhonesOfOnePartition();
      const [before] = await log.append([optOut({ phone: poisoned, eventId: randomUUID() })]);
      const garbage = Buffer.from([7, 0, 0, 0, 1, 42, 42]);
      const notAvro = frame(1, Buffer.from('definitely not avro'));
      // A foreign producer keyed by the phone, partitioned by kafkajs' default partitioner.
      const [badMagic] = await produceRaw(brokers, topic, [{ key: poisoned, value: garbage }]);
      const [badAvro] = await produceRaw(brokers, topic, [{ key: neighbour, value: notAvro }]);
      const after = await log.append([
        optIn({ phone: poisoned, eventId: randomUUID() }),
        optOut({ phone: neighbour, eventId: randomUUID() }),
      ]);
      expect([badMagic?.partition, badAvro?.partition]).toEqual([partition, partition]);
      return { poisoned, neighbour, partition, before, after, badMagic, badAvro, garbage, notAvro };
    }

    it('goes to <topic>.dlq with its reason, is handed to undecodable, and the partition goes on', async () => {
      const topic = uniqueTopic();
      const log = await open(topic, 3);
      const s = await poisonScenario(log, topic);
      const badMagicAt = Number(s.badMagic?.baseOffset) + 1;
      const badAvroAt = Number(s.badAvro?.baseOffset) + 1;

      const seen = collector();
      consume(log, seen.spec);
      const expected = [s.before, ...s.after].map((a) => a?.position);
      await eventually(() => expect(seen.positions(s.partition)).toEqual(expected), {
        timeoutMs: DELIVERY_TIMEOUT_MS,
      });
      await eventually(() => expect(seen.undecodable).toHaveLength(2));
      expect(seen.undecodable).toEqual([
        {
          partition: s.partition,
          position: badMagicAt,
          key: s.poisoned,
          reason: expect.stringMatching(/magic byte 0/) as string,
        },
        {
          partition: s.partition,
          position: badAvroAt,
          key: s.neighbour,
          reason: expect.stringMatching(/not valid Avro/) as string,
        },
      ]);

      const dead = await readTopic(brokers, `${topic}.dlq`);
      expect(dead.map((r) => ({ key: r.key, value: r.value, headers: r.headers }))).toEqual([
        {
          key: s.poisoned,
          value: s.garbage,
          headers: expect.objectContaining({
            reason: seen.undecodable[0]?.reason,
            sourceTopic: topic,
            sourcePartition: String(s.partition),
            sourceOffset: String(badMagicAt - 1),
            consumerGroup: seen.spec.group,
          }) as Record<string, string>,
        },
        {
          key: s.neighbour,
          value: s.notAvro,
          headers: expect.objectContaining({ reason: seen.undecodable[1]?.reason }) as Record<string, string>,
        },
      ]);
    });

    it('on a topic an operator created (no dead-letter topic yet) is still handed over, and the partition goes on', async () => {
      const topic = uniqueTopic();
      await ensureTopic(topic, 3);
      const log = await open(topic, 3);
      const s = await poisonScenario(log, topic);

      const seen = collector();
      consume(log, seen.spec);
      try {
        await eventually(
          () => {
            expect(seen.undecodable.map((u) => u.key)).toEqual([s.poisoned, s.neighbour]);
            expect(seen.positions(s.partition)).toEqual([s.before, ...s.after].map((a) => a?.position));
          },
          { timeoutMs: 10_000 },
        );
        expect((await readTopic(brokers, `${topic}.dlq`)).map((r) => r.key)).toEqual([
          s.poisoned,
          s.neighbour,
        ]);
      } finally {
        // Whatever happened, let a consumer stuck on a missing dead-letter topic finish, so that
        // stop() returns and no consumer outlives the test.
        await ensureTopic(`${topic}.dlq`);
      }
    }, 60_000);
  });
});
