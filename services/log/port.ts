import type { E164, LedgerEvent, Position, Recorded } from '../ledger/index.js';

/**
 * A record as the log holds it. `position` orders the records of one partition; every event of a
 * phone is in one partition (key = E.164), so per phone the order is total.
 */
export interface LogRecord extends Recorded {
  readonly partition: number;
}

export interface Appended extends LogRecord {
  /** True when the event id was already on the log: `event` and `position` are the original's. */
  readonly duplicate: boolean;
}

/** For each partition (by index), the last position read or applied; 0 before the first. */
export type Cursor = readonly Position[];

/** A record the log holds but no schema can read: what is known of it, and why it failed. */
export interface Undecodable {
  readonly partition: number;
  readonly position: Position;
  /** The record's key: the phone, when the producer followed the contract. */
  readonly key: string | null;
  readonly reason: string;
}

export interface Delivery {
  readonly partition: number;
  /** The last position the log holds in this partition, as far as the adapter knows. */
  readonly head: Position;
}

export interface ConsumerSpec {
  /** The consumer's name: its consumer group on Kafka. */
  readonly group: string;
  /** Where a partition resumes when it is assigned: the last position the view applied (0: the start). */
  checkpoint(partition: number): Promise<Position>;
  /**
   * Records of one partition, in order, after its checkpoint. The adapter delivers the next batch of that
   * partition only once this resolves; a rejection stops the consumption (the caller retries inside).
   */
  deliver(records: readonly LogRecord[], delivery: Delivery): Promise<void>;
  /** A record no schema can read: handed over (never dropped) so the view can fail closed for its key. */
  undecodable?(record: Undecodable): Promise<void>;
  /** The transport failed (a crashed Kafka consumer); it retries by itself, the view reports unhealthy. */
  failed?(error: unknown): void;
}

export interface Consumption {
  stop(): Promise<void>;
}

/**
 * The one source of truth. Appends are durable when their promise resolves; an event id the adapter
 * already holds is acknowledged again and stored once (the embedded log knows every id; see each adapter).
 */
export interface EventLog {
  readonly kind: 'embedded' | 'kafka';
  /** How many partitions the log has; fixed for its life (repartitioning would break per-phone order). */
  partitions(): Promise<number>;
  /** Appends atomically and in order: all of the events or none. */
  append(events: readonly LedgerEvent[]): Promise<readonly Appended[]>;
  /** The last position of every partition. */
  head(): Promise<Cursor>;
  /**
   * How many records the log holds up to `upTo`, for logs whose positions can skip (the embedded log
   * spends one on a duplicate). Absent: positions are dense, and the sum of `upTo` is the count.
   */
  count?(upTo: Cursor): Promise<number>;
  /** Delivers every partition from the consumer's checkpoints onwards, then follows the log, until stopped. */
  consume(spec: ConsumerSpec): Consumption;
  /**
   * Why appends cannot be accepted now (a full disk), or undefined when they can: intake's readiness.
   * Cheap enough to be asked on every readiness probe. Optional: an adapter without it is taken as
   * writable, and its failed appends answer for themselves.
   */
  writable?(): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Every record of one phone in log order: audit and intake decisions. */
export interface PhoneHistorySource {
  readPhone(phone: E164): Promise<readonly LogRecord[]>;
}

/** Where a consumer remembers how far it has applied the log. */
export interface CheckpointStore {
  get(consumer: string): Promise<Position>;
  set(consumer: string, position: Position): Promise<void>;
}
