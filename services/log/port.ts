import type { E164, LedgerEvent, Position, Recorded } from '../ledger/index.js';

export interface Appended {
  readonly position: Position;
  /** The event as the log holds it: for a duplicate, the original. */
  readonly event: LedgerEvent;
  readonly duplicate: boolean;
}

/**
 * The one source of truth. Appends are durable when their promise resolves; events of one phone are
 * totally ordered; an event id already on the log is acknowledged again and stored once.
 */
export interface EventLog {
  /** Appends atomically, in order: all of the events or none. */
  append(events: readonly LedgerEvent[]): Promise<readonly Appended[]>;
  /** Records after `after`, in log order, at most `limit`. */
  read(after: Position, limit: number): Promise<readonly Recorded[]>;
  /** Every record of one phone in log order (audit, intake decisions). */
  readPhone(phone: E164): Promise<readonly Recorded[]>;
  /** The position of the newest record, START for an empty log. */
  head(): Promise<Position>;
  /** Resolves once the log holds a record after `after`, or when `signal` aborts. */
  waitForAppend(after: Position, signal?: AbortSignal): Promise<void>;
  readonly checkpoints: CheckpointStore;
  /** The opaque consistency token clients see, and back. */
  token(position: Position): string;
  parseToken(token: string): Position;
  close(): Promise<void>;
}

/** Where a consumer remembers how far it has applied the log. */
export interface CheckpointStore {
  get(consumer: string): Promise<Position>;
  set(consumer: string, position: Position): Promise<void>;
}
