import kafkajs from 'kafkajs';
import type { Admin, Consumer, Kafka, Producer, RecordMetadata } from 'kafkajs';
import type { EventCodec } from '../codec/index.js';
import { asPosition, LedgerError, START, type LedgerEvent, type Position } from '../ledger/index.js';
import { retry } from '../retry/index.js';
import { fetchTopicId } from './kafka-topic-id.js';
import type { Appended, Consumption, ConsumerSpec, Cursor, EventLog, LogRecord } from './port.js';

const { Kafka: KafkaClient, logLevel: LogLevel, Partitioners } = kafkajs;
/** Sends of one partition's records before the append is refused (each on a fresh producer). */
const SEND_ATTEMPTS = 4;
/** Between those sends: long enough for a leader to move, short enough for a caller waiting on it. */
const SEND_RETRY = { initialMs: 250, maxMs: 1_000 };
const defaultPartitioner = Partitioners.DefaultPartitioner();
/** How long asking a broker for the topic's id may take before the ask counts as failed. */
const TOPIC_ID_TIMEOUT_MS = 5_000;
/**
 * How long a check of the topic's id vouches for it: head() is asked per inbound message by intake and
 * every poll by each view, and one broker round trip on a fresh connection each time would be wasteful.
 * A topic replaced within this window is found by the next check, and every view fails closed for good.
 */
const TOPIC_ID_RECHECK_MS = 250;

export interface KafkaLogOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  /** Used only when the topic does not exist yet. */
  readonly partitions: number;
  /** Used only when the topic does not exist yet; -1 takes the broker's default. */
  readonly replicationFactor: number;
  /**
   * Whether opening creates a missing topic (default true). Only intake (or an operator) creates the
   * log: a gate or projector started on a missing topic refuses, instead of serving an empty log that
   * a mistyped LEDGER_TOPIC or a deleted topic would look like.
   */
  readonly createTopic?: boolean;
  readonly clientId: string;
  readonly codec: EventCodec;
  /** Where undecodable records go, with the reason in a header. Default `<topic>.dlq`. */
  readonly deadLetterTopic?: string;
  readonly onLog?: (level: 'error' | 'warn' | 'info', message: string, extra: object) => void;
}

interface Pending {
  readonly messages: readonly { key: string; value: Buffer; partition: number }[];
  readonly events: readonly LedgerEvent[];
  readonly resolve: (appended: readonly Appended[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The log on Apache Kafka: one topic, key = the phone in E.164 (so a phone's events share a partition
 * and are totally ordered), values in Avro with the Confluent wire header. The producer is idempotent
 * with acks=all; a record's position is its offset + 1, so 0 means "nothing yet".
 *
 * Unlike the embedded log, Kafka cannot look an event id up before appending: a repeated id is appended
 * again, and the views apply it once (the fold skips an event id the phone already has).
 */
export class KafkaEventLog implements EventLog {
  readonly kind = 'kafka';
  private queue: Pending[] = [];
  private flushScheduled = false;
  private flushing: Promise<void> | undefined;
  private readonly consumers = new Set<Consumer>();
  private closed = false;
  /** Aborted on close: an append's retries stop waiting (the append is then refused). */
  private readonly closing = new AbortController();
  /** Set for good once the topic's id is not the one pinned at open: another topic under the name. */
  private replaced: string | undefined;
  /** The latest check of the topic's id: when it was asked, and its answer (shared while in flight). */
  private idCheck: { at: number; id: Promise<string | undefined> } | undefined;

  private constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private producer: Producer,
    private readonly options: KafkaLogOptions,
    private readonly partitionCount: number,
    /** The topic's id when this log was opened: its identity, which its name is not. */
    private readonly topicId: string,
  ) {}

  /** Connects, creates the topic if it is missing (retention forever, delete policy) and checks it. */
  static async open(options: KafkaLogOptions): Promise<KafkaEventLog> {
    const kafka = new KafkaClient({
      clientId: options.clientId,
      brokers: [...options.brokers],
      logLevel: LogLevel.WARN,
      retry: { initialRetryTime: 100, retries: 8 },
      logCreator:
        () =>
        ({ level, log }) => {
          const { message, ...extra } = log;
          if (level <= LogLevel.ERROR) options.onLog?.('error', message, extra);
          else if (level <= LogLevel.WARN) options.onLog?.('warn', message, extra);
        },
    });
    const admin = kafka.admin();
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    try {
      await admin.connect();
      const partitions = await ensureTopic(admin, options);
      const topicId = await fetchTopicId(options.brokers, options.topic, TOPIC_ID_TIMEOUT_MS);
      if (topicId === undefined) throw new Error(`topic ${options.topic} disappeared while opening it`);
      await producer.connect();
      return new KafkaEventLog(kafka, admin, producer, options, partitions, topicId);
    } catch (error) {
      await Promise.allSettled([admin.disconnect(), producer.disconnect()]);
      if (error instanceof LedgerError) throw error;
      throw new LedgerError(
        'unavailable',
        `cannot reach Kafka at ${options.brokers.join(',')} for topic ${options.topic}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  partitions(): Promise<number> {
    return Promise.resolve(this.partitionCount);
  }

  private currentTopicId(): Promise<string | undefined> {
    const now = Date.now();
    if (this.idCheck === undefined || now - this.idCheck.at > TOPIC_ID_RECHECK_MS) {
      const id = fetchTopicId(this.options.brokers, this.options.topic, TOPIC_ID_TIMEOUT_MS);
      this.idCheck = { at: now, id };
      // A failed check is not reused: the next head() asks again.
      id.catch(() => {
        if (this.idCheck?.id === id) this.idCheck = undefined;
      });
    }
    return this.idCheck.id;
  }

  /**
   * Appends concurrently queued in one tick go out as one produce request (acks=all). The events of one
   * call are one phone's in practice (an opt-out and its confirmation): same partition, one batch.
   */
  append(events: readonly LedgerEvent[]): Promise<readonly Appended[]> {
    if (this.closed) return Promise.reject(new LedgerError('unavailable', 'the event log is closed'));
    if (events.length === 0) return Promise.resolve([]);
    let messages: { key: string; value: Buffer; partition: number }[];
    try {
      // The partition is set here, by the same partitioner kafkajs would use, so each record's offset
      // can be read back from the per-partition base offsets of the reply.
      messages = events.map((event) => ({
        key: event.phone,
        value: this.options.codec.encode(event),
        partition: partitionFor(event.phone, this.partitionCount),
      }));
    } catch (error) {
      return Promise.reject(
        new LedgerError('internal', 'an event could not be encoded for the log', { cause: error }),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ messages, events, resolve, reject });
      this.scheduleFlush();
    });
  }

  /**
   * Group commit: one flush in flight at a time; what arrives meanwhile waits and goes out together in
   * the next one, so under load the batches grow instead of the requests.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled || this.flushing !== undefined) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        if (this.queue.length > 0) this.scheduleFlush();
      });
    });
  }

  /**
   * One produce request per partition, in parallel, each checked to be answered for its partition:
   * kafkajs can resolve a multi-partition send while a leader that died mid-send lost one partition's
   * messages (tulios/kafkajs#1303; seen here killing a broker of the 3-node cluster). A caller is
   * acknowledged only when every partition its events went to was.
   */
  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const byPartition = new Map<number, { key: string; value: Buffer; partition: number }[]>();
    for (const pending of batch) {
      for (const message of pending.messages) {
        const messages = byPartition.get(message.partition) ?? [];
        messages.push(message);
        byPartition.set(message.partition, messages);
      }
    }
    const next = new Map<number, bigint>();
    const failed = new Map<number, unknown>();
    let remaining = [...byPartition.keys()];
    // A failed partition is sent again on a fresh producer (see replaceProducer), a few times, while a
    // leader moves. If the failed send was written after all, the record is on the log twice under one
    // event id, and the views apply it once.
    await retry(
      async () => {
        const outcomes = await Promise.allSettled(
          remaining.map((partition) => this.sendPartition(partition, byPartition)),
        );
        failed.clear();
        outcomes.forEach((outcome, i) => {
          const partition = remaining[i] ?? 0;
          if (outcome.status === 'fulfilled') next.set(partition, outcome.value);
          else failed.set(partition, outcome.reason);
        });
        remaining = [...failed.keys()];
        if (remaining.length === 0) return;
        await this.replaceProducer();
        throw failed.values().next().value;
      },
      {
        ...SEND_RETRY,
        maxAttempts: SEND_ATTEMPTS,
        signal: this.closing.signal,
        // Even what kafkajs calls non-retriable (an out-of-order sequence) is tried again: the fresh
        // producer is the cure for the idempotent producer's own state.
        retriable: () => true,
      },
    ).catch(() => undefined); // what failed is in `failed`, answered per caller below
    // The messages of a partition follow its base offset in queue order: assign offsets in that order.
    for (const pending of batch) {
      const failure = pending.messages
        .map((m) => failed.get(m.partition))
        .find((reason) => reason !== undefined);
      const appended = pending.events.map((event, i): Appended => {
        const partition = pending.messages[i]?.partition ?? 0;
        const offset = next.get(partition) ?? 0n;
        next.set(partition, offset + 1n);
        return { partition, position: asPosition(Number(offset) + 1), event, duplicate: false };
      });
      if (failure === undefined) pending.resolve(appended);
      else {
        pending.reject(
          new LedgerError(
            'unavailable',
            `Kafka did not acknowledge the append: ${(failure as Error).message}`,
            {
              cause: failure,
            },
          ),
        );
      }
    }
  }

  private async sendPartition(
    partition: number,
    byPartition: ReadonlyMap<number, readonly { key: string; value: Buffer; partition: number }[]>,
  ): Promise<bigint> {
    const metadata: RecordMetadata[] = await this.producer.send({
      topic: this.options.topic,
      acks: -1,
      messages: [...(byPartition.get(partition) ?? [])],
    });
    const answer = metadata.find((meta) => meta.partition === partition);
    if (answer?.baseOffset === undefined || answer.errorCode !== 0) {
      throw new Error(
        `partition ${partition} was not acknowledged (error code ${answer?.errorCode ?? 'none'})`,
      );
    }
    return BigInt(answer.baseOffset);
  }

  /**
   * After a failed send kafkajs rolls the idempotent producer's sequence numbers back, yet the broker
   * may have written the batch; the next batch then looks like its duplicate and is acknowledged
   * without being written (seen here restarting a broker mid-ingest). A new producer (a new producer
   * id) never carries that state over.
   */
  private async replaceProducer(): Promise<void> {
    const old = this.producer;
    this.producer = newProducer(this.kafka);
    void old.disconnect().catch(() => undefined);
    try {
      await this.producer.connect();
    } catch (error) {
      this.options.onLog?.('error', 'reconnecting the producer failed; the next append retries it', {
        error: String(error),
      });
    }
  }

  /**
   * The last position of every partition, of the topic this log was opened on: once the name holds
   * another topic (deleted and recreated), this fails for good, so no view can again claim to be
   * current on a cursor that belongs to the old one. Fails as `unavailable` while Kafka is unreachable.
   */
  async head(): Promise<Cursor> {
    const { topic } = this.options;
    // For good: no retry brings the old topic back (unavailable all the same, so callers fail closed).
    if (this.replaced !== undefined) {
      throw new LedgerError('unavailable', this.replaced, { retriable: false });
    }
    let offsets: { partition: number; high: string }[];
    let topicId: string | undefined;
    try {
      [offsets, topicId] = await Promise.all([this.admin.fetchTopicOffsets(topic), this.currentTopicId()]);
    } catch (error) {
      throw new LedgerError(
        'unavailable',
        `cannot read the head of topic ${topic} from Kafka: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (topicId !== this.topicId || offsets.length !== this.partitionCount) {
      this.replaced =
        `topic ${topic} is no longer the topic this process opened (id ${this.topicId}, now ` +
        `${topicId ?? 'none'}; ${offsets.length} partitions, opened with ${this.partitionCount}): it was ` +
        'deleted and recreated; restart the process so its views replay the new topic';
      this.options.onLog?.('error', this.replaced, { topic });
      throw new LedgerError('unavailable', this.replaced, { retriable: false });
    }
    const cursor: Position[] = Array.from({ length: this.partitionCount }, () => asPosition(0));
    for (const { partition, high } of offsets) cursor[partition] = asPosition(Number(high));
    return cursor;
  }

  /**
   * One consumer group per view. Offsets are never committed to Kafka: the view's own checkpoint is the
   * truth, and each assigned partition is sought to it. Partitions are consumed concurrently, so a view
   * stuck on one partition (its retries inside deliver) holds back only that partition.
   */
  consume(spec: ConsumerSpec): Consumption {
    let stopped = false;
    const consumer = this.kafka.consumer({
      groupId: spec.group,
      // kafkajs restarts a crashed consumer; never once this consumption is stopped.
      retry: { restartOnFailure: () => Promise.resolve(!stopped) },
      maxWaitTimeInMs: 50,
      sessionTimeout: 30_000,
      heartbeatInterval: 1_000,
      allowAutoTopicCreation: false,
    });
    this.consumers.add(consumer);
    const topic = this.options.topic;
    const deadLetterTopic = this.options.deadLetterTopic ?? `${topic}.dlq`;
    /** Per partition: the last position delivered (after the checkpoint). Guards against re-delivery. */
    const delivered = new Map<number, Position>();
    const seekAssigned = async (assignment: Record<string, number[]>): Promise<void> => {
      for (const partition of assignment[topic] ?? []) {
        const checkpoint = await spec.checkpoint(partition);
        delivered.set(partition, checkpoint);
        consumer.seek({ topic, partition, offset: String(checkpoint) });
      }
    };
    const running = (async () => {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!stopped) spec.failed?.(payload.error);
      });
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        void seekAssigned(payload.memberAssignment).catch((error: unknown) =>
          this.options.onLog?.('error', 'seeking to the view checkpoint failed', { error: String(error) }),
        );
      });
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: this.partitionCount,
        eachBatchAutoResolve: false,
        eachBatch: async (payload) => {
          const { batch } = payload;
          const { partition } = batch;
          if (delivered.get(partition) === undefined) return; // not sought yet: the seek re-fetches
          // Records of another topic under the same name: their positions mean nothing to the view.
          if (this.replaced !== undefined) return;
          const head = asPosition(Number(batch.highWatermark));
          let pending: LogRecord[] = [];
          let pendingLastOffset = '';
          // Resolving moves kafkajs' fetch position on (nothing is committed: the view's checkpoint
          // is the truth). Unresolved records are fetched again, so resolve exactly what was handed over.
          const flushPending = async (): Promise<void> => {
            const last = pending[pending.length - 1];
            if (last === undefined) return;
            const records = pending;
            pending = [];
            // kafkajs' high watermark can lag the records it hands over; the log holds at least those.
            await spec.deliver(records, { partition, head: last.position > head ? last.position : head });
            delivered.set(partition, last.position);
            payload.resolveOffset(pendingLastOffset);
            await payload.heartbeat();
          };
          for (const message of batch.messages) {
            if (!payload.isRunning() || payload.isStale() || stopped) return;
            const position = asPosition(Number(message.offset) + 1);
            if (position <= (delivered.get(partition) ?? START)) {
              payload.resolveOffset(message.offset);
              continue;
            }
            try {
              if (message.value === null) throw new LedgerError('undecodable_record', 'record has no value');
              pending.push({ partition, position, event: this.options.codec.decode(message.value) });
              pendingLastOffset = message.offset;
            } catch (error) {
              await flushPending();
              const key = message.key?.toString() ?? null;
              const reason = (error as Error).message;
              await this.copyToDeadLetters(deadLetterTopic, {
                topic: deadLetterTopic,
                acks: -1,
                messages: [
                  {
                    key: message.key,
                    value: message.value,
                    headers: {
                      reason,
                      sourceTopic: topic,
                      sourcePartition: String(partition),
                      sourceOffset: message.offset,
                      consumerGroup: spec.group,
                    },
                  },
                ],
              });
              await spec.undecodable?.({ partition, position, key, reason });
              delivered.set(partition, position);
              payload.resolveOffset(message.offset);
            }
          }
          await flushPending();
        },
      });
    })();
    return {
      stop: async () => {
        stopped = true;
        await running.catch(() => undefined);
        await consumer.disconnect().catch(() => undefined);
        this.consumers.delete(consumer);
      },
    };
  }

  /**
   * The dead-letter topic holds a copy for operators; the record itself stays on the log at its
   * position. A copy that cannot be written is logged, and the consumer goes on: stalling a partition
   * would hold back the opt-outs behind it.
   */
  private async copyToDeadLetters(topic: string, record: Parameters<Producer['send']>[0]): Promise<void> {
    try {
      await this.producer.send(record);
    } catch (error) {
      this.options.onLog?.('error', `could not copy an undecodable record to ${topic}`, {
        error: String(error),
      });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    await this.flushing;
    if (this.queue.length > 0) await this.flush();
    await Promise.allSettled([...this.consumers].map((consumer) => consumer.disconnect()));
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }
}

function newProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
}

async function ensureTopic(admin: Admin, options: KafkaLogOptions): Promise<number> {
  const existing = await admin.listTopics();
  if (options.createTopic === false) {
    if (!existing.includes(options.topic)) {
      throw new LedgerError(
        'unavailable',
        `topic ${options.topic} does not exist on Kafka at ${options.brokers.join(',')}: only intake ` +
          '(ledger start --role intake, or all roles) or an operator creates it; check LEDGER_TOPIC, or start intake first',
      );
    }
    return partitionsOf(admin, options.topic);
  }
  const deadLetterTopic = options.deadLetterTopic ?? `${options.topic}.dlq`;
  const missing = [
    ...(existing.includes(options.topic)
      ? []
      : [
          {
            topic: options.topic,
            numPartitions: options.partitions,
            replicationFactor: options.replicationFactor,
            configEntries: [
              { name: 'retention.ms', value: '-1' },
              { name: 'retention.bytes', value: '-1' },
              { name: 'cleanup.policy', value: 'delete' },
            ],
          },
        ]),
    // Checked on its own: an operator may have created the log's topic but not its dead letters.
    ...(existing.includes(deadLetterTopic)
      ? []
      : [
          {
            topic: deadLetterTopic,
            numPartitions: 1,
            replicationFactor: options.replicationFactor,
            configEntries: [{ name: 'retention.ms', value: '-1' }],
          },
        ]),
  ];
  if (missing.length > 0) {
    try {
      await admin.createTopics({ waitForLeaders: true, topics: missing });
    } catch (error) {
      // Another process may have created them a moment ago; anything else shows in the check below.
      const names = (await admin.listTopics()).filter((t) => missing.some((m) => m.topic === t));
      if (names.length !== missing.length) throw error;
    }
  }
  return partitionsOf(admin, options.topic);
}

async function partitionsOf(admin: Admin, topic: string): Promise<number> {
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  const count = metadata.topics[0]?.partitions.length ?? 0;
  if (count === 0) throw new Error(`topic ${topic} has no partitions`);
  return count;
}

/**
 * The partition for a key, by kafkajs' own default partitioner (murmur2, the Java client's choice), so
 * other producers that key by phone land each phone in the same partition as the ledger does.
 */
export function partitionFor(key: string, partitions: number): number {
  return defaultPartitioner({
    topic: 'ledger',
    partitionMetadata: Array.from({ length: partitions }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    })),
    message: { key, value: null },
  });
}
