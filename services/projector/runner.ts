import { setTimeout as pause } from 'node:timers/promises';
import { START, type Position } from '../ledger/index.js';
import {
  reached,
  type Consumption,
  type Cursor,
  type Delivery,
  type EventLog,
  type LogPoint,
  type LogRecord,
  type Undecodable,
} from '../log/index.js';

/**
 * A view fed from the log. `applyBatch` gets records of one partition in order; it stores the data and
 * its checkpoint together (one transaction, one MULTI, or one assignment for memory) and skips records
 * at or below the checkpoint, so re-delivery changes nothing.
 */
export interface Projection {
  readonly name: string;
  readonly kind: string;
  checkpoint(partition: number): Promise<Position>;
  applyBatch(records: readonly LogRecord[]): Promise<void>;
  /**
   * A record no schema can read, at its position in the partition. It may have been an opt-out, so
   * the view must fail closed for its key (the phone) rather than skip it; it also advances the
   * checkpoint past it.
   */
  quarantine(record: Undecodable): Promise<void>;
}

export interface RunnerOptions {
  /** The consumer group (default: the projection's name). */
  readonly group?: string;
  readonly retry?: { readonly initialMs: number; readonly maxMs: number };
  readonly now?: () => number;
  readonly onError?: (error: unknown, projection: Projection) => void;
  readonly onApplied?: (projection: Projection, records: readonly LogRecord[]) => void;
  /**
   * How often the log's head is asked for in the background (default a quarter of maxStalenessMs, at
   * most 1 s): the view is only as current as the last time it knew it had everything the log held, so
   * this paces how fresh it can claim to be.
   */
  readonly headPollMs?: number;
  /** Beyond this staleness the status says unhealthy, with why (default: never). */
  readonly maxStalenessMs?: number;
}

export interface ProjectorStatus {
  readonly name: string;
  readonly kind: string;
  readonly position: Cursor;
  readonly head: Cursor;
  readonly lagEvents: number;
  readonly lagMs: number;
  /** How long ago the view last knew it had applied everything the log held (Infinity: never). */
  readonly stalenessMs: number;
  readonly ready: boolean;
  readonly healthy: boolean;
  readonly lastError?: string;
}

const APPLIED_MEMORY = 100_000;
/** Heads asked for but not yet reached, kept newest last; beyond this the oldest go (never claimed). */
const PENDING_HEADS = 32;

class Stopped extends Error {
  constructor() {
    super('the projector was stopped');
  }
}

/**
 * Feeds a projection from the log and keeps the rules every view shares: a failed batch is retried with
 * backoff until it applies — nothing is ever skipped — and meanwhile the view reports itself unhealthy
 * so the gate fails closed; readiness means the log found at start has been applied; lag is the age of
 * the oldest record read but not yet applied.
 */
export class ProjectorRunner {
  private readonly applied: Position[] = [];
  private readonly heads: Position[] = [];
  private readonly oldestPendingAt = new Map<number, number>();
  private target: Cursor | undefined;
  private readyFlag = false;
  private lastError: string | undefined;
  private failing = false;
  private readonly stopController = new AbortController();
  private starting: Promise<void> | undefined;
  private consumption: Consumption | undefined;
  private readyWaiters: (() => void)[] = [];
  private pointWaiters: { points: readonly LogPoint[]; resolve: () => void }[] = [];
  /** Per partition: (last position of a batch, when it was applied), oldest first; bounded. */
  private readonly appliedTimes = new Map<
    number,
    { floor: Position; entries: { position: Position; at: number }[] }
  >();
  private readonly retry: { readonly initialMs: number; readonly maxMs: number };
  private readonly now: () => number;
  /**
   * The last moment this view knew it had applied everything the log held: a head asked for at that
   * moment which the view has since reached. Checks fail closed once it is older than their bound.
   */
  private knownCurrentAt = -Infinity;
  /** Heads of the log, each with the moment it was asked for, that the view has not reached yet. */
  private pendingHeads: { at: number; head: Cursor }[] = [];
  /** Why the last ask for the head failed, until one succeeds. */
  private headError: string | undefined;
  /** The transport failed (a crashed consumer) at this moment; cleared by a batch or a later head reached. */
  private transportFailedAt: number | undefined;
  private transportError: string | undefined;
  /** The log went backwards under the view (a topic replaced or truncated): it can never vouch again. */
  private lost: string | undefined;

  constructor(
    private readonly log: EventLog,
    readonly projection: Projection,
    private readonly options: RunnerOptions = {},
  ) {
    this.retry = options.retry ?? { initialMs: 50, maxMs: 5000 };
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.starting ??= this.begin();
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    await this.starting;
    await this.consumption?.stop();
    for (const waiter of this.pointWaiters) waiter.resolve();
    this.pointWaiters = [];
    // Nobody waits forever on a runner that will not get there.
    const readyWaiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const resolve of readyWaiters) resolve();
  }

  /** Resolves when the log found at start has been applied (or the runner stops). */
  whenReady(): Promise<void> {
    if (this.readyFlag || this.stopController.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Resolves true once every point is applied, false after `timeoutMs`. */
  waitFor(points: readonly LogPoint[], timeoutMs: number): Promise<boolean> {
    if (reached(this.applied, points)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const entry = {
        points,
        resolve: () => {
          clearTimeout(timer);
          resolve(reached(this.applied, points));
        },
      };
      const timer = setTimeout(() => {
        this.pointWaiters = this.pointWaiters.filter((w) => w !== entry);
        resolve(false);
      }, timeoutMs);
      this.pointWaiters.push(entry);
    });
  }

  get ready(): boolean {
    return this.readyFlag;
  }

  get healthy(): boolean {
    return !this.failing && this.transportFailedAt === undefined && this.lost === undefined;
  }

  /**
   * How long ago the view last knew it had applied everything the log held (Infinity: never, or never
   * again). The hot path's freshness test: a clock read and a subtraction, no I/O, no allocation.
   */
  stalenessMs(): number {
    return this.now() - this.knownCurrentAt;
  }

  /** Why the view cannot vouch for being current, beyond replaying and failing batches. */
  get staleReason(): string | undefined {
    return this.lost ?? this.transportError ?? this.headError;
  }

  /** What the view has applied, per partition. */
  get cursor(): Cursor {
    return this.applied;
  }

  /** Age of the oldest record the view has read but not applied; 0 when caught up. */
  lagMs(): number {
    let oldest = Infinity;
    for (const at of this.oldestPendingAt.values()) oldest = Math.min(oldest, at);
    return oldest === Infinity ? 0 : Math.max(0, this.now() - oldest);
  }

  status(): ProjectorStatus {
    const partitions = Math.max(this.applied.length, this.heads.length, this.target?.length ?? 0);
    const position = Array.from({ length: partitions }, (_, p) => this.applied[p] ?? START);
    const head = position.map(
      (applied, p) => Math.max(applied, this.heads[p] ?? START, this.target?.[p] ?? START) as Position,
    );
    const stalenessMs = this.stalenessMs();
    const stale = this.readyFlag && stalenessMs > (this.options.maxStalenessMs ?? Infinity);
    const lastError =
      this.lastError ??
      this.staleReason ??
      (stale ? `the view has not known itself current for ${stalenessMs} ms` : undefined);
    return {
      name: this.projection.name,
      kind: this.projection.kind,
      position,
      head,
      lagEvents: head.reduce((sum, h, p) => sum + (h - (position[p] ?? START)), 0),
      lagMs: this.lagMs(),
      stalenessMs,
      ready: this.readyFlag,
      healthy: this.healthy && !stale,
      ...(lastError !== undefined && { lastError }),
    };
  }

  /** When this process's view applied the point; undefined if before this process or long ago. */
  appliedAt({ partition, position }: LogPoint): number | undefined {
    const times = this.appliedTimes.get(partition);
    if (times === undefined || position <= times.floor) return undefined;
    const { entries } = times;
    let low = 0;
    let high = entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((entries[mid]?.position ?? 0) < position) low = mid + 1;
      else high = mid;
    }
    return entries[low]?.at;
  }

  private async begin(): Promise<void> {
    if (this.stopController.signal.aborted) return;
    const askedAt = this.now();
    const target = await this.withRetry(() => this.log.head());
    if (target === undefined || this.stopController.signal.aborted) return;
    this.target = target;
    target.forEach((head, partition) => this.observeHead(partition, head));
    this.pendingHeads.push({ at: askedAt, head: target });
    void this.pollHead();
    this.consumption = this.log.consume({
      group: this.options.group ?? this.projection.name,
      checkpoint: async (partition) => {
        const checkpoint = await this.withRetry(() => this.projection.checkpoint(partition));
        if (checkpoint === undefined) throw new Stopped();
        this.applied[partition] = checkpoint;
        this.appliedTimes.set(partition, { floor: checkpoint, entries: [] });
        this.afterProgress();
        return checkpoint;
      },
      deliver: (records, delivery) => this.deliver(records, delivery),
      undecodable: (record) => this.quarantine(record),
      failed: (error) => {
        // Not cleared by a checkpoint read (a rejoin reads them before fetching anything): only by a
        // batch applied, or by a head asked for after the failure that the view then reached.
        this.transportFailedAt = this.now();
        this.transportError = error instanceof Error ? error.message : String(error);
        this.options.onError?.(error, this.projection);
      },
    });
    this.afterProgress();
  }

  private async deliver(records: readonly LogRecord[], { partition, head }: Delivery): Promise<void> {
    const first = records[0];
    const last = records[records.length - 1];
    if (first === undefined || last === undefined) return;
    this.observeHead(partition, head);
    if (!this.oldestPendingAt.has(partition)) this.oldestPendingAt.set(partition, first.event.recordedAt);
    const applied = await this.withRetry(async () => {
      await this.projection.applyBatch(records);
      return true;
    });
    if (applied === undefined) throw new Stopped();
    this.applied[partition] = last.position;
    this.transportFailedAt = undefined;
    this.transportError = undefined;
    // The next delivery sets it again from the first record still pending.
    this.oldestPendingAt.delete(partition);
    this.rememberApplied(partition, last.position);
    this.options.onApplied?.(this.projection, records);
    this.afterProgress();
  }

  private async quarantine(record: Undecodable): Promise<void> {
    const done = await this.withRetry(async () => {
      await this.projection.quarantine(record);
      return true;
    });
    if (done === undefined) throw new Stopped();
    this.applied[record.partition] = record.position;
    this.rememberApplied(record.partition, record.position);
    this.afterProgress();
  }

  private observeHead(partition: number, head: Position): void {
    if (head > (this.heads[partition] ?? START)) this.heads[partition] = head;
  }

  /**
   * Asks the log for its head, in the background, until stopped. A head asked for at T and then
   * reached by the view proves it held everything the log held at T (whatever was acknowledged before
   * T is at or below that head). A broker that is dead or hung answers nothing, and the proof ages.
   */
  private async pollHead(): Promise<void> {
    const signal = this.stopController.signal;
    const bound = this.options.maxStalenessMs ?? Infinity;
    const every = this.options.headPollMs ?? Math.max(10, Math.min(1000, Math.floor(bound / 4)));
    while (!signal.aborted) {
      await pause(every, undefined, { signal }).catch(() => undefined);
      if (signal.aborted || this.lost !== undefined) return;
      const at = this.now();
      // What was applied before asking: all of it was below the head then, so the answer cannot be
      // lower unless the log went backwards (records applied while the answer travels may be higher).
      const appliedBefore = [...this.applied];
      let head: Cursor;
      try {
        head = await this.log.head();
      } catch (error) {
        this.headError = `cannot read the log's head: ${error instanceof Error ? error.message : String(error)}`;
        continue;
      }
      this.headError = undefined;
      const behind = head.findIndex((position, p) => position < (appliedBefore[p] ?? START));
      if (head.length < appliedBefore.length || behind >= 0) {
        // Offsets that go backwards mean another log under the same name (a topic deleted and
        // recreated, or truncated): records past the old cursor would be skipped as re-deliveries.
        const p = behind >= 0 ? behind : head.length;
        this.lost =
          `the log went backwards under this view (partition ${p}: head ${head[p] ?? 0}, applied ` +
          `${appliedBefore[p] ?? 0}): the topic was replaced or truncated; restart or rebuild the view`;
        this.knownCurrentAt = -Infinity;
        return;
      }
      head.forEach((position, partition) => this.observeHead(partition, position));
      this.pendingHeads.push({ at, head });
      if (this.pendingHeads.length > PENDING_HEADS) this.pendingHeads.shift();
      this.afterProgress();
    }
  }

  /** Moves knownCurrentAt to the newest asked-for head the view has reached; drops it and older ones. */
  private settleHeads(): void {
    if (this.lost !== undefined) return;
    for (let i = this.pendingHeads.length - 1; i >= 0; i--) {
      const pending = this.pendingHeads[i];
      if (pending === undefined || !pending.head.every((h, p) => (this.applied[p] ?? START) >= h)) continue;
      if (pending.at > this.knownCurrentAt) this.knownCurrentAt = pending.at;
      if (this.transportFailedAt !== undefined && pending.at > this.transportFailedAt) {
        this.transportFailedAt = undefined;
        this.transportError = undefined;
      }
      this.pendingHeads.splice(0, i + 1);
      return;
    }
  }

  private afterProgress(): void {
    if (this.pendingHeads.length > 0) this.settleHeads();
    if (!this.readyFlag && this.target !== undefined) {
      const caughtUp = this.target.every(
        (head, p) => this.applied[p] !== undefined && (this.applied[p] ?? 0) >= head,
      );
      if (caughtUp) this.markReady();
    }
    if (this.pointWaiters.length === 0) return;
    const due = this.pointWaiters.filter((w) => reached(this.applied, w.points));
    if (due.length === 0) return;
    this.pointWaiters = this.pointWaiters.filter((w) => !due.includes(w));
    for (const waiter of due) waiter.resolve();
  }

  private rememberApplied(partition: number, position: Position): void {
    const times = this.appliedTimes.get(partition) ?? { floor: START, entries: [] };
    times.entries.push({ position, at: this.now() });
    if (times.entries.length > APPLIED_MEMORY) {
      const dropped = times.entries.splice(0, times.entries.length - APPLIED_MEMORY);
      times.floor = dropped[dropped.length - 1]?.position ?? times.floor;
    }
    this.appliedTimes.set(partition, times);
  }

  /** Runs `work` until it succeeds, or until the runner stops (then undefined). */
  private async withRetry<T>(work: () => Promise<T>): Promise<T | undefined> {
    let delay = this.retry.initialMs;
    for (;;) {
      try {
        const result = await work();
        if (this.failing) {
          this.failing = false;
          this.lastError = undefined;
        }
        return result;
      } catch (error) {
        this.failing = true;
        this.lastError = error instanceof Error ? error.message : String(error);
        this.options.onError?.(error, this.projection);
        if (this.stopController.signal.aborted) return undefined;
        // Ends early when stopped: the abort rejects, which ends the wait.
        await pause(delay, undefined, { signal: this.stopController.signal }).catch(() => undefined);
        if (this.stopController.signal.aborted) return undefined;
        delay = Math.min(delay * 2, this.retry.maxMs);
      }
    }
  }

  private markReady(): void {
    this.readyFlag = true;
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
