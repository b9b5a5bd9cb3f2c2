import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { createEventCodec, loadCatalogue } from '../codec/index.js';
import type { Config } from '../config/index.js';
import { LedgerError, type E164 } from '../ledger/index.js';
import { KafkaEventLog, partitionFor } from '../log/index.js';
import { KafkaReads } from './intake-reads.js';
import { assembleLedger, type Ledger, type LedgerClock } from './ledger.js';

/**
 * Every role in one process, on a Kafka topic shared with other processes and producers. The central
 * view replays the topic at each start under a consumer group of its own, so every gate process sees
 * every partition.
 */
export async function openKafkaLedger(
  config: Config,
  clock: LedgerClock & { onLog?: (level: string, message: string, extra: object) => void } = {},
  /** Only a process that takes intake creates the topic; a gate or projector refuses to start without it. */
  { createTopic = true }: { createTopic?: boolean } = {},
): Promise<Ledger> {
  const kafka = config.kafka;
  if (kafka === undefined) throw new LedgerError('invalid_config', 'Kafka mode needs LEDGER_KAFKA_BROKERS');
  const log = await KafkaEventLog.open({
    brokers: kafka.brokers,
    topic: kafka.topic,
    partitions: kafka.partitions,
    replicationFactor: kafka.replicationFactor,
    createTopic,
    clientId: 'suppression-ledger',
    codec: createEventCodec(loadCatalogue()),
    ...(clock.onLog !== undefined && { onLog: clock.onLog }),
  });
  const partitions = await log.partitions();
  const partitionOf = (phone: E164): number => partitionFor(phone, partitions);
  return assembleLedger(
    config,
    {
      log,
      // Kafka cannot be read per phone: audit reads the configuration's postgres view, if it has one.
      history: undefined,
      viewGroup: `ledger-memory-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
      reads: (view, runner) => new KafkaReads(log, view, runner, partitionOf),
      partitionOf,
      closeLog: () => log.close(),
    },
    clock,
  );
}
