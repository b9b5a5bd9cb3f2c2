import { join } from 'node:path';
import { createEventCodec, loadCatalogue } from '../services/codec/index.js';
import { decideRecord } from '../services/intake/index.js';
import { load } from './figures/http.js';
import { kafkaTool } from './kafka.js';
import { durationSeconds, quick, round } from './measure.js';
import { runJsonChild, scratchDir, startLedger, startReference, uniqueTag } from './processes.js';
import type { ProducerLoadResult, ProducerLoadSpec } from './producer-load.js';
import { attempt, ratioOf, type Figure, type FigureOutput } from './results.js';
import { eventIdAt, phoneAt } from './synthetic.js';

/**
 * Figure 6: events recorded per second. POST /v1/events under autocannon (a new number and a new event
 * every request) on the embedded log beside fastify's constant route, and into Kafka (acks=all); the
 * producer library into Kafka; and Kafka's own kafka-producer-perf-test (acks=all, idempotent, records
 * the size of our Avro event) against the same broker, as the reference of both Kafka figures.
 */
const CONNECTIONS = 50;
const ms = (v: number): string => `${round(v, 1)} ms`;

/** The Avro record (with its wire header) of an event like the ones the benchmarks record. */
export function avroEventSize(): number {
  const codec = createEventCodec(loadCatalogue());
  const event = decideRecord(
    {
      type: 'opt_out',
      phone: phoneAt(0),
      brand: 'acme',
      source: 'crm',
      sourceSystem: 'bench',
      actor: 'key-bench',
    },
    { now: Date.now(), newId: () => eventIdAt(0) },
  );
  return codec.encode(event).length;
}

export async function ingestEmbedded(): Promise<FigureOutput> {
  const duration = durationSeconds(8);
  const ledger = await startLedger({ dataDir: join(scratchDir('ingest-embedded'), 'data') });
  const reference = await startReference();
  try {
    const figures = await attempt(
      { id: 'ingest-http-embedded', name: 'ingest POST /v1/events, embedded log', unit: 'events/s' },
      async () => {
        const spec = { workload: 'events', connections: CONNECTIONS, duration, warmup: 2 } as const;
        const ours = await load({ ...spec, url: ledger.url, phoneOffset: 40_000_000 });
        const ref = await load({ ...spec, url: reference.url, phoneOffset: 40_000_000 });
        return {
          id: 'ingest-http-embedded',
          name: `ingest POST /v1/events, embedded log (fsync per commit), ${CONNECTIONS} connections`,
          unit: 'events/s',
          ours: ours.requestsPerSecond,
          reference: {
            name: 'fastify constant-JSON POST route',
            value: ref.requestsPerSecond,
            unit: 'req/s',
            detail: { latency: ref.latency },
          },
          ratio: ratioOf(ours.requestsPerSecond, ref.requestsPerSecond),
          detail: {
            summary: `p50 ${ms(ours.latency.p50)}, p99 ${ms(ours.latency.p99)}`,
            latency: ours.latency,
            non2xx: ours.non2xx,
            errors: ours.errors,
          },
        };
      },
    );
    return { figures };
  } finally {
    await Promise.all([ledger.stop(), reference.stop()]);
  }
}

interface PerfTest {
  readonly records: number;
  readonly recordsPerSecond: number;
  readonly mbPerSecond: number;
  readonly avgLatencyMs: number;
  readonly maxLatencyMs: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly recordSize: number;
}

/** kafka-producer-perf-test with acks=all and idempotence on, into a new 6-partition topic. */
async function perfTest(brokers: string, recordSize: number, records: number): Promise<PerfTest> {
  const topic = `bench.perf.${uniqueTag()}`;
  await kafkaTool(
    [
      'topics',
      '--bootstrap-server',
      brokers,
      '--create',
      '--topic',
      topic,
      '--partitions',
      '6',
      '--replication-factor',
      '1',
    ],
    60_000,
  );
  const { stdout } = await kafkaTool(
    [
      'producer-perf-test',
      '--topic',
      topic,
      '--num-records',
      String(records),
      '--record-size',
      String(recordSize),
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${brokers}`,
      'acks=all',
      'enable.idempotence=true',
    ],
    180_000,
    '-Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true',
  );
  const final =
    /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency(?:, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th)?/.exec(
      stdout,
    );
  if (final === null) throw new Error(`kafka-producer-perf-test printed no summary:\n${stdout.slice(-2000)}`);
  return {
    records: Number(final[1]),
    recordsPerSecond: Number(final[2]),
    mbPerSecond: Number(final[3]),
    avgLatencyMs: Number(final[4]),
    maxLatencyMs: Number(final[5]),
    ...(final[6] !== undefined && { p50Ms: Number(final[6]) }),
    ...(final[8] !== undefined && { p99Ms: Number(final[8]) }),
    recordSize,
  };
}

export async function ingestKafka(): Promise<FigureOutput> {
  const brokers = process.env.BENCH_KAFKA_BROKERS;
  if (brokers === undefined) throw new Error('BENCH_KAFKA_BROKERS is not set');
  const duration = durationSeconds(8);
  const recordSize = avroEventSize();
  const figures: Figure[] = [];
  let reference: PerfTest | undefined;
  let referenceError: string | undefined;
  try {
    reference = await perfTest(brokers, recordSize, quick() ? 100_000 : 500_000);
  } catch (error) {
    referenceError = String(error);
  }
  const perfRef =
    reference === undefined
      ? null
      : {
          name: `kafka-producer-perf-test (acks=all, idempotent, ${recordSize} B records)`,
          value: reference.recordsPerSecond,
          unit: 'records/s',
          detail: { ...reference },
        };
  const tag = uniqueTag();
  const ledger = await startLedger({
    dataDir: join(scratchDir('ingest-kafka'), 'data'),
    env: { LEDGER_KAFKA_BROKERS: brokers, LEDGER_TOPIC: `bench.ingest.${tag}`, LEDGER_PARTITIONS: '6' },
    readyTimeoutMs: 120_000,
  });
  try {
    figures.push(
      ...(await attempt(
        {
          id: 'ingest-http-kafka',
          name: 'ingest POST /v1/events into Kafka (acks=all)',
          unit: 'events/s',
          target: '≥ 10,000 events/s',
        },
        async () => {
          const ours = await load({
            url: ledger.url,
            workload: 'events',
            connections: CONNECTIONS,
            duration,
            warmup: 2,
            phoneOffset: 50_000_000,
          });
          return {
            id: 'ingest-http-kafka',
            name: `ingest POST /v1/events into Kafka (acks=all), ${CONNECTIONS} connections`,
            unit: 'events/s',
            ours: ours.requestsPerSecond,
            reference: perfRef,
            ratio: ratioOf(ours.requestsPerSecond, reference?.recordsPerSecond),
            target: {
              text: '≥ 10,000 events/s',
              met: ours.requestsPerSecond >= 10_000 && ours.non2xx === 0,
              note: `${round(ours.requestsPerSecond).toLocaleString('en-US')} events/s`,
            },
            detail: {
              summary: `p50 ${ms(ours.latency.p50)}, p99 ${ms(ours.latency.p99)}`,
              latency: ours.latency,
              non2xx: ours.non2xx,
              errors: ours.errors,
              ...(referenceError !== undefined && { referenceError }),
            },
          };
        },
      )),
    );
  } finally {
    await ledger.stop();
  }
  figures.push(
    ...(await attempt(
      {
        id: 'ingest-producer-kafka',
        name: 'ingest through the producer library into Kafka',
        unit: 'events/s',
        target: '≥ 50,000 events/s',
      },
      async () => {
        const spec: ProducerLoadSpec = {
          brokers: brokers.split(','),
          topic: `bench.producer.${tag}`,
          duration,
          warmup: 2,
          batchSize: 1000,
          inFlight: 8,
          phoneOffset: 60_000_000,
        };
        const ours = await runJsonChild<ProducerLoadResult>('producer library', 'producer-load.js', spec, {
          timeoutMs: (duration + 90) * 1000,
        });
        return {
          id: 'ingest-producer-kafka',
          name: `ingest through LedgerProducer.recordMany into Kafka (${spec.inFlight} × ${spec.batchSize} in flight)`,
          unit: 'events/s',
          ours: ours.eventsPerSecond,
          reference: perfRef,
          ratio: ratioOf(ours.eventsPerSecond, reference?.recordsPerSecond),
          target: {
            text: '≥ 50,000 events/s',
            met: ours.eventsPerSecond >= 50_000,
            note: `${round(ours.eventsPerSecond).toLocaleString('en-US')} events/s`,
          },
          detail: {
            summary: `${ours.cpuMicrosecondsPerEvent} µs CPU an event in the producer process; call p50 ${ms(ours.callLatency.p50)}`,
            ...ours,
            ...(referenceError !== undefined && { referenceError }),
          },
        };
      },
    )),
  );
  return { figures };
}
