import {
  EMPTY_HISTORY,
  evolve,
  scopeStates,
  type E164,
  type PhoneHistory,
  type Position,
  type ScopeKey,
} from '../ledger/index.js';
import type { LogRecord } from '../log/index.js';
import type { ScopeRow } from './system-view.js';

/**
 * The one batch fold every view runs (memory, Redis, PostgreSQL, webhook): pure, so a view only loads
 * the histories of the batch's phones before it and writes what comes out, with its checkpoint, in
 * its store's one atomic step.
 */

/** What a view has applied of a partition: records at or below it are re-deliveries. */
export type CheckpointOf = (partition: number) => Position;

/** One record above the checkpoint, with its phone's history before and after it (the same when it changed nothing). */
export interface FoldStep {
  readonly record: LogRecord;
  readonly before: PhoneHistory;
  readonly after: PhoneHistory;
}

export interface RecordsFold {
  /** The records above the checkpoint, in batch order, each with its phone's history around it. */
  readonly steps: readonly FoldStep[];
  /** The new history of each phone the batch changed (phones it left as they were are absent). */
  readonly after: ReadonlyMap<E164, PhoneHistory>;
  /** The new checkpoint of each partition the batch moved (partitions it did not move are absent). */
  readonly last: ReadonlyMap<number, Position>;
}

/** What the batch does to a phone's rows: every row it has now, and the difference from before. */
export interface RowChange {
  /** Every row of the phone after the batch, in scope order. */
  readonly rows: ReadonlyMap<ScopeKey, ScopeRow>;
  /** Rows new or different (status, allowed, since or cause), in scope order. */
  readonly upserted: readonly ScopeRow[];
  /** Scopes that had a row before and have none now (the fold only adds scopes; this guards it). */
  readonly removed: readonly ScopeKey[];
}

export interface BatchFold extends RecordsFold {
  /** Per phone the batch changed, what its rows became. */
  readonly rowChanges: ReadonlyMap<E164, RowChange>;
}

/**
 * The records of the batch above the checkpoint of their partition. A record at or below the
 * checkpoint, or at or below an earlier record of the batch in its partition, is a re-delivery.
 */
export function freshRecords(records: readonly LogRecord[], checkpoint: CheckpointOf): LogRecord[] {
  const fresh = freshness(checkpoint, new Map());
  return records.filter(fresh);
}

/** A test of each record in batch order: above its partition's checkpoint, moving `last` when it is. */
function freshness(checkpoint: CheckpointOf, last: Map<number, Position>): (record: LogRecord) => boolean {
  return ({ partition, position }) => {
    if (position <= (last.get(partition) ?? checkpoint(partition))) return false;
    last.set(partition, position);
    return true;
  };
}

/**
 * Folds the batch onto the phones' histories `before` (a phone absent there has none): skips the
 * records at or below the checkpoint, `evolve`s the rest in batch order. `before` is only read, so a
 * view whose histories live in memory passes its own map.
 */
export function foldRecords(
  before: ReadonlyMap<E164, PhoneHistory>,
  records: readonly LogRecord[],
  checkpoint: CheckpointOf,
): RecordsFold {
  const after = new Map<E164, PhoneHistory>();
  const last = new Map<number, Position>();
  const steps: FoldStep[] = [];
  const fresh = freshness(checkpoint, last);
  for (const record of records) {
    if (!fresh(record)) continue;
    const phone = record.event.phone;
    const was = after.get(phone) ?? before.get(phone) ?? EMPTY_HISTORY;
    const now = evolve(was, record);
    if (now !== was) after.set(phone, now);
    steps.push({ record, before: was, after: now });
  }
  return { steps, after, last };
}

/** `foldRecords`, and what it does to each changed phone's rows (what per-system views store). */
export function foldBatch(
  before: ReadonlyMap<E164, PhoneHistory>,
  records: readonly LogRecord[],
  checkpoint: CheckpointOf,
): BatchFold {
  const fold = foldRecords(before, records, checkpoint);
  const rowChanges = new Map<E164, RowChange>();
  for (const [phone, history] of fold.after) {
    rowChanges.set(
      phone,
      rowChange(scopeRows(phone, before.get(phone) ?? EMPTY_HISTORY), scopeRows(phone, history)),
    );
  }
  return { ...fold, rowChanges };
}

/**
 * The rows of a phone's history, one per scope it has facts at (`scopeStates`), in scope order: the
 * order writers lock rows in, so concurrent writers of one phone cannot deadlock.
 */
export function scopeRows(phone: E164, history: PhoneHistory): ReadonlyMap<ScopeKey, ScopeRow> {
  const rows = new Map<ScopeKey, ScopeRow>();
  if (history.length === 0) return rows;
  const states = [...scopeStates(history)];
  if (states.length > 1) states.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [scope, state] of states) {
    rows.set(scope, {
      phone,
      scope,
      status: state.status,
      allowed: state.allowed,
      since: state.cause?.occurredAt ?? null,
      eventId: state.cause?.eventId ?? null,
    });
  }
  return rows;
}

/** The difference between a phone's rows before and after. */
export function rowChange(
  before: ReadonlyMap<ScopeKey, ScopeRow>,
  after: ReadonlyMap<ScopeKey, ScopeRow>,
): RowChange {
  const upserted: ScopeRow[] = [];
  for (const row of after.values()) {
    const old = before.get(row.scope);
    if (old === undefined || !sameRow(old, row)) upserted.push(row);
  }
  const removed = [...before.keys()].filter((scope) => !after.has(scope));
  return { rows: after, upserted, removed };
}

/** Whether two rows of one phone and scope say the same. */
export function sameRow(a: ScopeRow, b: ScopeRow): boolean {
  return a.status === b.status && a.allowed === b.allowed && a.since === b.since && a.eventId === b.eventId;
}

/** Whether a sender's answer at the scope differs (status or allowed): what a webhook pushes. */
export function answerChanged(before: ScopeRow | undefined, after: ScopeRow): boolean {
  return before === undefined || before.status !== after.status || before.allowed !== after.allowed;
}
