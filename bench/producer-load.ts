import { LedgerProducer, type ConsentRecord } from '../services/producer/index.js';
import { latencyOf, nowMs, round, Samples, sleep, type Latency } from './measure.js';
import { phoneAt } from './synthetic.js';

/**
 * The producer library as a sending system uses it, in a process of its own: `inFlight` recordMany
 * calls of `batchSize` records each always outstanding, for `duration` seconds.
 */
export interface ProducerLoadSpec {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly duration: number;
  readonly warmup: number;
  readonly batchSize: number;
  readonly inFlight: number;
  readonly phoneOffset: number;
}

export interface ProducerLoadResult {
  readonly eventsPerSecond: number;
  readonly events: number;
  readonly seconds: number;
  /** Per recordMany call (ms): validation, encoding and the acks=all round trip. */
  readonly callLatency: Latency;
  /** CPU time of this process per event (µs): what the library costs the sender. */
  readonly cpuMicrosecondsPerEvent: number;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ProducerLoadSpec;
  const producer = await LedgerProducer.connect({
    brokers: spec.brokers,
    topic: spec.topic,
    sourceSystem: 'bench',
    partitions: 6,
  });
  let next = spec.phoneOffset;
  const batch = (): ConsentRecord[] =>
    Array.from({ length: spec.batchSize }, () => ({
      type: 'opt_out',
      phone: phoneAt(next++),
      brand: 'acme',
      source: 'crm',
    }));
  const drive = async (
    seconds: number,
    samples?: Samples,
  ): Promise<{ events: number; seconds: number; cpuUs: number }> => {
    let stop = false;
    let events = 0;
    const cpu = process.cpuUsage();
    const started = nowMs();
    const worker = async (): Promise<void> => {
      while (!stop) {
        const records = batch();
        const t = nowMs();
        await producer.recordMany(records);
        samples?.push(nowMs() - t);
        if (!stop) events += records.length;
      }
    };
    const workers = Array.from({ length: spec.inFlight }, worker);
    await sleep(seconds * 1000);
    stop = true;
    const elapsed = (nowMs() - started) / 1000;
    const used = process.cpuUsage(cpu);
    await Promise.all(workers);
    return { events, seconds: elapsed, cpuUs: used.user + used.system };
  };
  if (spec.warmup > 0) await drive(spec.warmup);
  const samples = new Samples();
  const { events, seconds, cpuUs } = await drive(spec.duration, samples);
  await producer.close();
  const result: ProducerLoadResult = {
    eventsPerSecond: round(events / seconds, 1),
    events,
    seconds: round(seconds, 2),
    callLatency: latencyOf(samples.values()),
    cpuMicrosecondsPerEvent: round(cpuUs / Math.max(1, events), 2),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

await main();
