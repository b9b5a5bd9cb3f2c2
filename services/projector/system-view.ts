import type { E164, PhoneHistory, ScopeKey, Status } from '../ledger/index.js';
import type { LogRecord } from '../log/index.js';
import type { Projection } from './runner.js';

/**
 * One row of a per-system view: the effective state of a phone at one scope it has facts at (see
 * `scopeStates` in the ledger). A check for (brand b, program p) reads the most specific row present
 * among program:b/p, brand:b and global; no row at all means no_record.
 */
export interface ScopeRow {
  readonly phone: E164;
  readonly scope: ScopeKey;
  readonly status: Status;
  readonly allowed: boolean;
  /** occurredAt (epoch ms) of the fact that caused the status; null for no_record. */
  readonly since: number | null;
  /** The event id of that fact; null for no_record. */
  readonly eventId: string | null;
}

/** What a view answers for one check, read from its own store the way a sender would read it. */
export interface ViewAnswer {
  readonly status: Status | 'unknown';
  readonly allowed: boolean;
  readonly since: number | null;
  readonly eventId: string | null;
  /** Set when the answer is unknown because the log holds an unreadable record for this phone. */
  readonly quarantined?: string;
  /** Why the answer is unknown for another reason (a webhook change the receiver never accepted). */
  readonly reason?: string;
}

/**
 * A sending system's own view (Redis, PostgreSQL, webhook …): a projection with a store outside this
 * process. The runner feeds it; the gate, `reconcile` and `rebuild` use the rest.
 */
export interface SystemView extends Projection {
  /** Connects and creates what the store needs (tables, indexes); safe to call on an existing store. */
  open(): Promise<void>;
  close(): Promise<void>;
  /** The answer from the view's own store. */
  check(phone: E164, brand: string, program?: string): Promise<ViewAnswer>;
  /**
   * Every event of a phone, for views that keep them (PostgreSQL): where the log cannot be read per
   * phone (Kafka), the configuration's postgres view is the per-number audit's source.
   */
  readPhone?(phone: E164): Promise<readonly LogRecord[]>;
  /** False for views whose state lives in another system (webhook): reconcile cannot read them. */
  readonly readable: boolean;
  /** Every row the view holds, any order (reconcile). */
  rows(): AsyncIterable<ScopeRow>;
  /**
   * Every (phone, scope) listed as suppressed in a structure senders read besides the rows (Redis: the
   * `suppressed:<scope>` sets campaign builders subtract), any order, so reconcile compares those too.
   * Views whose rows are all a sender reads leave it out.
   */
  memberships?(): AsyncIterable<{ readonly phone: E164; readonly scope: ScopeKey }>;
  /**
   * Replaces what the view holds for the phone with `history` (the fold of the log) and the rows it
   * gives (`scopeStates`), removing rows it does not give; the checkpoint is untouched (reconcile --repair).
   */
  repair(phone: E164, history: PhoneHistory): Promise<void>;
  /**
   * A new, empty store beside this one (same connection, staging names) for `rebuild`: fed from the
   * start of the log, then `promote`d, which replaces the live store with it in one atomic step.
   */
  staging(): Promise<SystemView & { promote(): Promise<void> }>;
}

/** The row a check for (brand, program?) reads: the most specific present, as the contract says. */
export function rowFor<R>(rows: ReadonlyMap<ScopeKey, R>, brand: string, program?: string): R | undefined {
  return (
    (program === undefined ? undefined : rows.get(`program:${brand}/${program}`)) ??
    rows.get(`brand:${brand}`) ??
    rows.get('global')
  );
}
