import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { createEventCodec, loadCatalogue } from '../codec/index.js';
import type { Config } from '../config/index.js';
import { factType, LedgerError, START, type E164 } from '../ledger/index.js';
import type { ProjectorRunner } from '../projector/index.js';
import { KafkaEventLog, partitionFor } from '../log/index.js';
import { assembleLedger, type Ledger, type LedgerClock } from './ledger.js';

/** How long intake waits for the central view to reach a phone's partition before deciding a reply. */
const HISTORY_WAIT_MS = 5_000;

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
  const caughtUp = async (phone: E164, runner: ProjectorRunner): Promise<void> => {
    const partition = partitionFor(phone, partitions);
    const head = await log.head();
    const point = { partition, position: head[partition] ?? START };
    if (!(await runner.waitFor([point], HISTORY_WAIT_MS))) {
      throw new LedgerError('unavailable', 'the central view is behind the log; retry shortly');
    }
  };
  return assembleLedger(
    config,
    {
      log,
      // Per-phone audit from Kafka needs a per-phone projection (PostgreSQL); until then, none.
      history: undefined,
      viewGroup: `ledger-memory-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
      // The view's facts, once it has applied everything its partition held when asked.
      historyOf: async (phone, view, runner) => {
        await caughtUp(phone, runner);
        return view.history(phone);
      },
      // Kafka cannot look an id up at append: the view's facts can, once it has caught up.
      findRecorded: async (phone, eventId, view, runner) => {
        await caughtUp(phone, runner);
        const fact = view.history(phone).find((f) => f.eventId === eventId);
        if (fact === undefined) return undefined;
        return {
          partition: partitionFor(phone, partitions),
          position: fact.position,
          type: factType(fact),
          scope: fact.scope,
          recordedAt: fact.recordedAt,
        };
      },
      partitionOf: (phone) => partitionFor(phone, partitions),
      closeLog: () => log.close(),
      intakeReadsCentralView: true,
    },
    clock,
  );
}
