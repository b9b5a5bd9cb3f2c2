import { setTimeout as pause } from 'node:timers/promises';
import { LedgerError, START, type Position } from '../ledger/index.js';
import { NotTransient, retry, RetryAborted } from '../retry/index.js';
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
  /**
   * Rejects with StoreLost when the store no longer holds what the view wrote to it (flushed,
   * truncated, its checkpoint gone or moved back). The runner calls it every `verifyEveryMs` while idle,
   * so a loss is noticed without new events; views whose store cannot be lost leave it out.
   */
  verify?(): Promise<void>;
  /** Empties the store so it can be replayed from the start of the log (after a StoreLost). */
  reset?(): Promise<void>;
  /**
   * Called once the runner has caught up with the log's head after opening or emptying the store:
   * from then on the store holds the whole log. Stores senders read directly mark it there, and answer
   * `unknown` until then (a replay after a loss must not answer no_record for an opt-out not yet
   * replayed). The view becomes ready only after it resolves; StoreLost starts the replay again.
   */
  vouch?(): Promise<void>;
  /**
   * What the view itself cannot vouch for beyond applying the log (a webhook's changes the receiver
   * never accepted): merged into `status()`. The runner's `healthy` (applying the log works, which the
   * gates read) stays its own, so a view can fail closed per phone rather than as a whole.
   */
  condition?(): ProjectionCondition;
}

/**
 * The view's store lost data: a Redis restart without persistence, FLUSHDB, eviction, a truncated or
 * dropped table, a checkpoint that vanished or went backwards. Retrying the batch would build on the
 * loss (the next batch rewrote the checkpoint from 0 and the earlier opt-outs were gone for good), so
 * the runner instead marks the view not ready, empties the store and replays the log from the start.
 */
export class StoreLost extends LedgerError {
  constructor(view: string, what: string) {
    super('unavailable', `view ${view}: its store lost data (${what}); replaying the log from the start`);
  }
}

export interface ProjectionCondition {
  readonly healthy: boolean;
  readonly lastError?: string;
  /** Changes owed to the receiving system (webhook views). */
  readonly deadLetters?: number;
}

export interface RunnerOptions {
  /** The consumer group (default: the projection's name). */
  readonly group?: string;
  readonly retry?: { readonly initialMs: number; readonly maxMs: number };
  readonly now?: () => number;
  readonly onError?: (error: unknown, projection: Projection) => void;
  readonly onApplied?: (projection: Projection, records: readonly LogRecord[]) => void;
  /** How often an idle view's store is verified (`Projection.verify`), default 1000 ms. */
  readonly verifyEveryMs?: number;
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
  /** Changes owed to the receiving system (webhook views only). */
  readonly deadLetters?: number;
}

const APPLIED_MEMORY = 100_000;
/** Heads asked for but not yet reached, kept newest last; beyond this the oldest go (never claimed). */
const PENDING_HEADS = 32;

/** The store was lost while a retry waited: that retry's work belongs to the consumption before. */
class Superseded extends Error {}

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
  /** Batches being applied now (partitions may be fed concurrently). */
  private applying = 0;
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
  /** Why the view is replaying after its store lost data; cleared once it has caught up again. */
  private lost: string | undefined;
  private replaying: Promise<void> | undefined;
  private verifier: NodeJS.Timeout | undefined;
  private verifying = false;
  /** The store is being marked as holding the whole log (`Projection.vouch`); ready once it is. */
  private vouching: Promise<void> | undefined;
  /** Bumped when the store is lost: callbacks of the consumption before it then change nothing. */
  private generation = 0;
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
  private logLost: string | undefined;
  private pollingHead = false;

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
    clearInterval(this.verifier);
    await this.starting;
    await this.replaying;
    await this.vouching;
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

  /**
   * A failure the runner did not see itself: the view's store could not be opened before the runner
   * started, or a delivery attempt failed inside a batch that is still retrying. The view reports
   * unhealthy with it (its checks fail closed) until the next batch applies. Once started, only a
   * failure during a batch counts: one outside (a repair's POST) would never be cleared by a batch.
   */
  reportFailure(error: unknown): void {
    if (this.starting !== undefined && this.applying === 0) return;
    this.failing = true;
    this.lastError = withCauses(error);
  }

  get healthy(): boolean {
    return (
      !this.failing &&
      this.transportFailedAt === undefined &&
      this.lost === undefined &&
      this.logLost === undefined
    );
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
    return this.logLost ?? this.transportError ?? this.headError;
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
    const own = this.projection.condition?.();
    const stalenessMs = this.stalenessMs();
    const stale = this.readyFlag && stalenessMs > (this.options.maxStalenessMs ?? Infinity);
    const lastError =
      this.lastError ??
      this.lost ??
      this.staleReason ??
      own?.lastError ??
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
      healthy: this.healthy && !stale && own?.healthy !== false,
      ...(lastError !== undefined && { lastError }),
      ...(own?.deadLetters !== undefined && { deadLetters: own.deadLetters }),
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
    if (this.projection.verify !== undefined && this.verifier === undefined) {
      this.verifier = setInterval(() => void this.verify(), this.options.verifyEveryMs ?? 1000);
      this.verifier.unref();
    }
    const askedAt = this.now();
    const target = await this.withRetry(() => this.log.head());
    if (target === undefined || this.stopController.signal.aborted) return;
    this.target = target;
    target.forEach((head, partition) => this.observeHead(partition, head));
    this.pendingHeads.push({ at: askedAt, head: target });
    // Once per runner: a replay after a lost store begins again, and must not start a second poller.
    if (!this.pollingHead) {
      this.pollingHead = true;
      void this.pollHead();
    }
    this.consumption = this.log.consume({
      group: this.options.group ?? this.projection.name,
      checkpoint: async (partition) => {
        const generation = this.generation;
        const checkpoint = await this.withRetry(() => this.projection.checkpoint(partition), generation);
        if (checkpoint === undefined || generation !== this.generation) throw new Stopped();
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

  /** Verifies an idle, ready view's store; a loss starts the replay from the start. */
  private async verify(): Promise<void> {
    const projection = this.projection;
    if (
      projection.verify === undefined ||
      this.verifying ||
      !this.readyFlag ||
      this.replaying !== undefined
    ) {
      return;
    }
    this.verifying = true;
    const generation = this.generation;
    try {
      await projection.verify();
    } catch (error) {
      // Any other failure (the store unreachable) shows in the next batch or check; only a loss acts here.
      if (error instanceof StoreLost) this.storeLost(error, generation);
    } finally {
      this.verifying = false;
    }
  }

  /**
   * The store lost data: not ready (checks through the view answer unknown) and unhealthy until a new
   * consumption has replayed the log from the start into the emptied store.
   */
  private storeLost(error: StoreLost, generation = this.generation): void {
    // Found by a consumption already replaced: the replay under way deals with it.
    if (generation !== this.generation) return;
    this.generation += 1;
    this.lost = error.message;
    this.readyFlag = false;
    this.options.onError?.(error, this.projection);
    const replay = (this.replaying ?? Promise.resolve())
      .then(() => this.replayFromStart())
      .catch((failure: unknown) => this.options.onError?.(failure, this.projection));
    const tracked: Promise<void> = replay.finally(() => {
      if (this.replaying === tracked) this.replaying = undefined;
    });
    this.replaying = tracked;
  }

  private async replayFromStart(): Promise<void> {
    // The consumption ends once the callback that found the loss has returned; awaiting it here is safe
    // because that callback does not wait for this.
    const consumption = this.consumption;
    this.consumption = undefined;
    await consumption?.stop();
    // A vouch still under way must land before the store is emptied, never after it.
    await this.vouching;
    if (this.stopController.signal.aborted) return;
    const reset = await this.withRetry(async () => {
      await this.projection.reset?.();
      return true;
    });
    if (reset === undefined) return;
    this.applied.length = 0;
    this.heads.length = 0;
    this.oldestPendingAt.clear();
    this.appliedTimes.clear();
    this.target = undefined;
    // withRetry cleared these on success; the loss is reported until the replay has caught up.
    await this.begin();
  }

  private async deliver(records: readonly LogRecord[], { partition, head }: Delivery): Promise<void> {
    const generation = this.generation;
    if (this.replaying !== undefined) throw new Stopped();
    const first = records[0];
    const last = records[records.length - 1];
    if (first === undefined || last === undefined) return;
    this.observeHead(partition, head);
    if (!this.oldestPendingAt.has(partition)) this.oldestPendingAt.set(partition, first.event.recordedAt);
    const applied = await this.withRetry(async () => {
      this.applying++;
      try {
        await this.projection.applyBatch(records);
      } finally {
        this.applying--;
      }
      return true;
    }, generation);
    if (applied === undefined || generation !== this.generation) throw new Stopped();
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
    const generation = this.generation;
    const done = await this.withRetry(async () => {
      await this.projection.quarantine(record);
      return true;
    }, generation);
    if (done === undefined || generation !== this.generation) throw new Stopped();
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
      if (signal.aborted || this.logLost !== undefined) return;
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
        this.logLost =
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
    if (this.logLost !== undefined) return;
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
      if (caughtUp) this.vouchThenReady();
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

  /**
   * Runs `work` until it succeeds, or until the runner stops or (given the generation it belongs to) the
   * store is lost meanwhile: then undefined. A failure retrying will not cure (a bug, invalid data) is
   * retried all the same, every maxMs, and reported as what it is (NotTransient) while the view fails
   * closed: skipping the batch could skip an opt-out.
   */
  private async withRetry<T>(work: () => Promise<T>, generation?: number): Promise<T | undefined> {
    const superseded = (): boolean => generation !== undefined && generation !== this.generation;
    try {
      const result = await retry(
        async (attempt) => {
          // A store lost while waiting: the replay under way takes over from this consumption.
          if (attempt > 1 && superseded()) throw new Superseded();
          return work();
        },
        {
          ...this.retry,
          signal: this.stopController.signal,
          // Nothing is ever skipped: a bug is retried too (slowly), reported as one, the view unhealthy.
          persist: true,
          // Retrying would build on the loss: the consumption ends here and replays from the start.
          stopOn: (error) => error instanceof StoreLost || error instanceof Superseded,
          onError: (error, { retriable }) => {
            const reported = retriable
              ? error
              : new NotTransient(`view ${this.projection.name}`, error, this.retry.maxMs);
            this.failing = true;
            this.lastError = reported instanceof Error ? reported.message : String(reported);
            this.options.onError?.(reported, this.projection);
          },
        },
      );
      if (this.failing) {
        this.failing = false;
        this.lastError = undefined;
      }
      return result;
    } catch (error) {
      if (error instanceof StoreLost) this.storeLost(error, generation);
      else if (!(error instanceof Superseded || error instanceof RetryAborted)) throw error;
      return undefined;
    }
  }

  /** Marks the store as holding the whole log (if it keeps such a mark), then the view ready. */
  private vouchThenReady(): void {
    const projection = this.projection;
    if (projection.vouch === undefined) return this.markReady();
    if (this.vouching !== undefined) return;
    const generation = this.generation;
    const tracked: Promise<void> = this.withRetry(async () => {
      await projection.vouch?.();
      return true;
    }, generation)
      .then((done) => {
        if (done !== undefined && generation === this.generation && !this.stopController.signal.aborted) {
          this.markReady();
        }
      })
      // Not ready, and told: nobody awaits this promise but stop(), so it must never reject.
      .catch((error: unknown) => this.options.onError?.(error, this.projection))
      .finally(() => {
        if (this.vouching === tracked) this.vouching = undefined;
      });
    this.vouching = tracked;
  }

  private markReady(): void {
    this.readyFlag = true;
    this.lost = undefined;
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** An error's message followed by its causes' ("cannot connect to Redis …: connect ECONNREFUSED …"). */
function withCauses(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    const message =
      current instanceof Error
        ? current.message
        : typeof current === 'string'
          ? current
          : JSON.stringify(current);
    if (message !== '' && !parts.some((part) => part.includes(message))) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ');
}
