import type { Position, Recorded } from '../ledger/index.js';
import type { EventLog } from '../log/index.js';

/**
 * A view fed from the log. `applyBatch` stores the data and the new checkpoint together (one
 * transaction, one MULTI, or one assignment for memory) and skips records at or below its checkpoint,
 * so re-delivery changes nothing.
 */
export interface Projection {
  readonly name: string;
  readonly kind: string;
  checkpoint(): Promise<Position>;
  applyBatch(records: readonly Recorded[]): Promise<void>;
}

export interface RunnerOptions {
  readonly batchSize?: number;
  readonly retry?: { readonly initialMs: number; readonly maxMs: number };
  readonly now?: () => number;
  readonly onError?: (error: unknown, projection: Projection) => void;
  readonly onApplied?: (projection: Projection, records: readonly Recorded[]) => void;
}

export interface ProjectorStatus {
  readonly name: string;
  readonly kind: string;
  readonly position: Position;
  readonly head: Position;
  readonly lagEvents: number;
  readonly lagMs: number;
  readonly ready: boolean;
  readonly healthy: boolean;
  readonly lastError?: string;
}

const APPLIED_MEMORY = 100_000;

/**
 * Read from the checkpoint → apply → repeat; when caught up, sleep until the log wakes it. A failed
 * batch is retried with backoff until it applies: nothing is ever skipped, and meanwhile the projector
 * reports itself unhealthy so the gate fails closed.
 */
export class ProjectorRunner {
  private position: Position | undefined;
  private knownHead: Position | undefined;
  /** recordedAt of the oldest record read but not yet applied: what lag is measured from. */
  private oldestPendingAt: number | undefined;
  private readyFlag = false;
  private lastError: string | undefined;
  private failing = false;
  private readonly stopController = new AbortController();
  private loop: Promise<void> | undefined;
  private readyWaiters: (() => void)[] = [];
  private positionWaiters: { position: Position; resolve: () => void }[] = [];
  /** (last position of a batch, when it was applied), oldest first; bounded. */
  private applied: { position: Position; at: number }[] = [];
  private appliedFloor: Position = 0 as Position;
  private readonly batchSize: number;
  private readonly retry: { readonly initialMs: number; readonly maxMs: number };
  private readonly now: () => number;

  constructor(
    private readonly log: EventLog,
    readonly projection: Projection,
    private readonly options: RunnerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 2000;
    this.retry = options.retry ?? { initialMs: 50, maxMs: 5000 };
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    await this.loop;
    for (const waiter of this.positionWaiters) waiter.resolve();
    this.positionWaiters = [];
    // Nobody waits forever on a runner that will not get there.
    const readyWaiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const resolve of readyWaiters) resolve();
  }

  /** Resolves when the initial replay up to the head seen at start is done. */
  whenReady(): Promise<void> {
    if (this.readyFlag) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Resolves true once `position` is applied, false after `timeoutMs`. */
  waitForPosition(position: Position, timeoutMs: number): Promise<boolean> {
    if (this.position !== undefined && this.position >= position) return Promise.resolve(true);
    return new Promise((resolve) => {
      const entry = {
        position,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.position !== undefined && this.position >= position);
        },
      };
      const timer = setTimeout(() => {
        this.positionWaiters = this.positionWaiters.filter((w) => w !== entry);
        resolve(false);
      }, timeoutMs);
      this.positionWaiters.push(entry);
    });
  }

  get ready(): boolean {
    return this.readyFlag;
  }

  get healthy(): boolean {
    return !this.failing;
  }

  /** Age of the oldest record the view has read but not applied; 0 when caught up. */
  lagMs(): number {
    return this.oldestPendingAt === undefined ? 0 : Math.max(0, this.now() - this.oldestPendingAt);
  }

  status(): ProjectorStatus {
    const position = this.position ?? (0 as Position);
    const head = this.knownHead ?? position;
    return {
      name: this.projection.name,
      kind: this.projection.kind,
      position,
      head,
      lagEvents: Math.max(0, head - position),
      lagMs: this.lagMs(),
      ready: this.readyFlag,
      healthy: !this.failing,
      ...(this.lastError !== undefined && { lastError: this.lastError }),
    };
  }

  private async run(): Promise<void> {
    const signal = this.stopController.signal;
    const checkpoint = await this.withRetry(() => this.projection.checkpoint());
    if (checkpoint === undefined) return;
    this.position = checkpoint;
    this.appliedFloor = checkpoint;
    this.releasePositionWaiters();
    const target = await this.log.head();
    this.observeHead(target);
    if (this.position >= target) this.markReady();
    while (!signal.aborted) {
      const from: Position = this.position;
      const records: readonly Recorded[] | undefined = await this.withRetry(() =>
        this.log.read(from, this.batchSize),
      );
      if (records === undefined) return;
      const last = records[records.length - 1];
      if (last === undefined) {
        this.oldestPendingAt = undefined;
        if (!this.readyFlag) this.markReady();
        await this.log.waitForAppend(from, signal);
        if (!signal.aborted) this.observeHead(await this.log.head());
        continue;
      }
      this.observeHead(last.position);
      this.oldestPendingAt ??= records[0]?.event.recordedAt;
      const applied = await this.withRetry(async () => {
        await this.projection.applyBatch(records);
        return true;
      });
      if (applied === undefined) return;
      this.position = last.position;
      // The next read (right below) sets it again from the first record still pending.
      this.oldestPendingAt = undefined;
      this.rememberApplied(last.position);
      this.options.onApplied?.(this.projection, records);
      this.releasePositionWaiters();
      if (!this.readyFlag && this.position >= target) this.markReady();
      // A long replay reads synchronously from SQLite: give the event loop a turn between batches so
      // health checks and fail-closed answers are still served meanwhile.
      if (records.length === this.batchSize) await yieldToEventLoop();
    }
  }

  /** When this process's view applied `position`; undefined if before this process or long ago. */
  appliedAt(position: Position): number | undefined {
    if (position <= this.appliedFloor) return undefined;
    let low = 0;
    let high = this.applied.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.applied[mid]?.position ?? 0) < position) low = mid + 1;
      else high = mid;
    }
    return this.applied[low]?.at;
  }

  private rememberApplied(position: Position): void {
    this.applied.push({ position, at: this.now() });
    if (this.applied.length > APPLIED_MEMORY) {
      const dropped = this.applied.splice(0, this.applied.length - APPLIED_MEMORY);
      this.appliedFloor = dropped[dropped.length - 1]?.position ?? this.appliedFloor;
    }
  }

  private observeHead(head: Position): void {
    if (this.knownHead === undefined || head > this.knownHead) this.knownHead = head;
  }

  /** Runs `work` until it succeeds or the runner stops (then undefined). */
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
        await sleep(delay, this.stopController.signal);
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

  private releasePositionWaiters(): void {
    if (this.positionWaiters.length === 0) return;
    const position = this.position ?? 0;
    const due = this.positionWaiters.filter((w) => w.position <= position);
    if (due.length === 0) return;
    this.positionWaiters = this.positionWaiters.filter((w) => w.position > position);
    for (const waiter of due) waiter.resolve();
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
