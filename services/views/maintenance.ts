import { randomUUID } from 'node:crypto';
import {
  EMPTY_HISTORY,
  LedgerError,
  scopeStates,
  type E164,
  type ScopeKey,
  type Status,
} from '../ledger/index.js';
import type { Cursor, EventLog, LogPoint } from '../log/index.js';
import {
  MemoryView,
  ProjectorRunner,
  storableText,
  type ScopeRow,
  type SystemView,
} from '../projector/index.js';
import type { SystemEntry } from './systems.js';

export interface RebuildProgress {
  readonly view: string;
  readonly state: 'replaying' | 'switching' | 'done' | 'failed';
  /** Records the new store has applied, summed over partitions. */
  readonly applied: number;
  /** Records the log held when the rebuild started. */
  readonly target: number;
  readonly startedAt: number;
  readonly finishedAt?: number;
  /** Records replayed per second (the records the log held at the start, over the replay's duration). */
  readonly eventsPerSecond?: number;
  readonly error?: string;
}

export interface RowState {
  readonly status: Status;
  readonly allowed: boolean;
  readonly eventId: string | null;
}

export interface Difference {
  readonly phone: E164;
  readonly scope: ScopeKey;
  /** missing: the log gives a row the view lacks; unexpected: the view has a row the log does not give. */
  readonly problem: 'missing' | 'unexpected' | 'different';
  readonly expected?: RowState;
  readonly actual?: RowState;
  /**
   * Set when the rows agree but another structure senders read does not: `suppressed_set`, the Redis
   * set of the scope (missing: the phone is not in it though suppressed; unexpected: it is, though not).
   */
  readonly structure?: 'suppressed_set';
}

export interface ReconcileReport {
  readonly view: string;
  readonly kind: string;
  /** False for views that cannot be read back (webhook): nothing compared. */
  readonly compared: boolean;
  readonly phones: number;
  readonly rows: number;
  readonly differences: number;
  /** The first differences (at most REPORT_LIMIT). */
  readonly examples: readonly Difference[];
  readonly repaired: number;
  readonly asOf: Cursor;
  readonly note?: string;
}

const REPORT_LIMIT = 1000;
const SWITCH_WAIT_MS = 60_000;
const CATCH_UP_WAIT_MS = 30_000;

const total = (cursor: Cursor): number => cursor.reduce((sum: number, p) => sum + p, 0);
const points = (cursor: Cursor): LogPoint[] => cursor.map((position, partition) => ({ partition, position }));

/**
 * Operations on the system views: rebuild one from the start of the log into a fresh store and switch
 * to it atomically; reconcile every view with the fold of the log, and repair what differs.
 */
export class Maintenance {
  private readonly rebuilds = new Map<string, RebuildProgress>();

  constructor(
    private readonly log: EventLog,
    private readonly systems: readonly SystemEntry[],
  ) {}

  private entry(name: string): SystemEntry {
    const entry = this.systems.find((s) => s.view.name === name);
    if (entry === undefined) {
      const names = this.systems.map((s) => s.view.name);
      throw new LedgerError(
        'not_found',
        `no view named ${name} in this process (${names.length === 0 ? 'it runs no system views' : `views: ${names.join(', ')}`})`,
      );
    }
    return entry;
  }

  progress(name: string): RebuildProgress | undefined {
    this.entry(name);
    return this.rebuilds.get(name);
  }

  /**
   * Starts rebuilding `name` and returns at once; `progress(name)` follows it. The new store replays
   * the whole log while the live one keeps serving; then the live runner stops, checks against the view
   * answer unknown (fail closed) for the moment the new store takes to catch up with it, and the new
   * store replaces the live one in one atomic step.
   */
  rebuild(name: string): RebuildProgress {
    const entry = this.entry(name);
    const running = this.rebuilds.get(name);
    if (running !== undefined && (running.state === 'replaying' || running.state === 'switching')) {
      return running;
    }
    const startedAt = Date.now();
    let progress: RebuildProgress = { view: name, state: 'replaying', applied: 0, target: 0, startedAt };
    this.rebuilds.set(name, progress);
    const update = (change: Partial<RebuildProgress>): void => {
      progress = { ...progress, ...change };
      this.rebuilds.set(name, progress);
    };
    void this.runRebuild(entry, update).catch((error: unknown) => {
      update({
        state: 'failed',
        finishedAt: Date.now(),
        error: error instanceof Error ? error.message : String(error),
      });
    });
    return progress;
  }

  private async runRebuild(
    entry: SystemEntry,
    update: (change: Partial<RebuildProgress>) => void,
  ): Promise<void> {
    const head = await this.log.head();
    update({ target: total(head) });
    const staging = await entry.view.staging();
    const runner = entry.newRunner(
      staging,
      `ledger-view-${entry.view.name}-rebuild-${randomUUID().slice(0, 8)}`,
    );
    const ticker = setInterval(() => update({ applied: total(runner.cursor) }), 200);
    let replayMs = 0;
    try {
      const replayStarted = Date.now();
      runner.start();
      await runner.whenReady();
      replayMs = Date.now() - replayStarted;
      update({ applied: total(runner.cursor), state: 'switching' });
      // Fail closed while the stores change hands: the live runner stops, the new store catches up with
      // everything the live one applied (and the log's head), then becomes the live store.
      entry.gate.pause(`view ${entry.view.name} is switching to its rebuilt store`);
      const live = entry.runner;
      await live.stop();
      const head = await this.log.head();
      const target = points(head.map((h, p) => Math.max(h, live.cursor[p] ?? 0) as typeof h));
      if (!(await runner.waitFor(target, SWITCH_WAIT_MS))) {
        throw new Error(`the rebuilt store did not catch up with the log within ${SWITCH_WAIT_MS} ms`);
      }
      await runner.stop();
      await staging.promote();
      update({ applied: total(runner.cursor) });
    } catch (error) {
      await runner.stop();
      await staging.close().catch(() => undefined);
      // Whatever failed, the live store is still the view: feed it again (stores apply each record once,
      // so a live runner that was never stopped overlapping its replacement for a moment changes nothing).
      await this.restartLive(entry);
      throw error;
    } finally {
      clearInterval(ticker);
    }
    await this.restartLive(entry);
    const finishedAt = Date.now();
    // The replay's own rate: the switch-over is a fixed cost, not a rate.
    update({
      state: 'done',
      finishedAt,
      eventsPerSecond: Math.round((total(head) * 1000) / Math.max(1, replayMs)),
    });
  }

  /** A fresh runner for the live view (a stopped runner cannot start again); the old one is stopped. */
  private async restartLive(entry: SystemEntry): Promise<void> {
    const fresh = entry.newRunner();
    fresh.start();
    // The gate stays paused (fail closed) until the new runner has caught up with the log.
    await Promise.race([
      fresh.whenReady(),
      new Promise((resolve) => setTimeout(resolve, SWITCH_WAIT_MS).unref()),
    ]);
    const old = entry.runner;
    entry.replaceRunner(fresh);
    await old.stop();
  }

  /**
   * Compares every readable view with the fold of the log, row by row; with `repair`, rewrites each
   * differing phone from the fold. The fold is taken up to the view's own position, so a view that is
   * merely behind is not reported as wrong.
   */
  async reconcile({ repair = false, view }: { repair?: boolean; view?: string } = {}): Promise<
    ReconcileReport[]
  > {
    const entries = view === undefined ? this.systems : [this.entry(view)];
    const fold = new MemoryView('reconcile');
    const runner = new ProjectorRunner(this.log, fold, {
      group: `ledger-reconcile-${randomUUID().slice(0, 8)}`,
    });
    runner.start();
    try {
      await runner.whenReady();
      const reports: ReconcileReport[] = [];
      for (const entry of entries) reports.push(await this.reconcileOne(entry, fold, runner, repair));
      return reports;
    } finally {
      await runner.stop();
    }
  }

  private async reconcileOne(
    entry: SystemEntry,
    fold: MemoryView,
    foldRunner: ProjectorRunner,
    repair: boolean,
  ): Promise<ReconcileReport> {
    const { view } = entry;
    if (!view.readable) {
      return {
        view: view.name,
        kind: view.kind,
        compared: false,
        phones: 0,
        rows: 0,
        differences: 0,
        examples: [],
        repaired: 0,
        asOf: entry.runner.cursor,
        note: `a ${view.kind} view's state lives in the receiving system and cannot be read back; rebuild it to re-send every change`,
      };
    }
    const status = entry.runner.status();
    if (!status.healthy) {
      throw new LedgerError(
        'unavailable',
        `view ${view.name} is failing to apply the log (${status.lastError ?? 'unknown error'}); reconcile it when it is healthy again`,
      );
    }
    // The view first gets to where the fold is, so it is not blamed for being behind …
    if (!(await entry.runner.waitFor(points(fold.cursor), CATCH_UP_WAIT_MS))) {
      throw new LedgerError(
        'unavailable',
        `view ${view.name} is behind the log; reconcile again when it has caught up`,
      );
    }
    const { actual, listed, rows } = await readView(view);
    // … and the fold then gets to wherever the view had got to while it was read.
    await foldRunner.waitFor(points(entry.runner.cursor), CATCH_UP_WAIT_MS);
    const { differences, wrong, phones } = compareWithFold(
      fold,
      actual,
      listed,
      view.memberships !== undefined,
    );
    let repaired = 0;
    if (repair) {
      for (const phone of wrong) {
        await view.repair(phone, fold.history(phone) ?? EMPTY_HISTORY);
        repaired += 1;
      }
    }
    return {
      view: view.name,
      kind: view.kind,
      compared: true,
      phones: phones.size,
      rows,
      differences: differences.length,
      examples: differences.slice(0, REPORT_LIMIT),
      repaired,
      asOf: fold.cursor,
    };
  }
}

/** Stores keep outside text as `storableText` makes it (PostgreSQL: no NUL, no lone surrogate). */
function sameEventId(stored: string | null, folded: string | null): boolean {
  return stored === folded || (stored !== null && folded !== null && stored === storableText(folded));
}

function stateOf(row: ScopeRow): RowState {
  return { status: row.status, allowed: row.allowed, eventId: row.eventId };
}

/** Every row of a view, and every (phone, scope) its suppressed sets list (where it keeps them). */
async function readView(view: SystemView): Promise<{
  actual: Map<E164, Map<ScopeKey, ScopeRow>>;
  listed: Map<E164, Set<ScopeKey>>;
  rows: number;
}> {
  const actual = new Map<E164, Map<ScopeKey, ScopeRow>>();
  const listed = new Map<E164, Set<ScopeKey>>();
  let rows = 0;
  try {
    for await (const row of view.rows()) {
      rows += 1;
      let phone = actual.get(row.phone);
      if (phone === undefined) actual.set(row.phone, (phone = new Map<ScopeKey, ScopeRow>()));
      phone.set(row.scope, row);
    }
    if (view.memberships !== undefined) {
      for await (const { phone, scope } of view.memberships()) {
        let scopes = listed.get(phone);
        if (scopes === undefined) listed.set(phone, (scopes = new Set<ScopeKey>()));
        scopes.add(scope);
      }
    }
  } catch (error) {
    throw new LedgerError(
      'unavailable',
      `view ${view.name} could not be read: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  return { actual, listed, rows };
}

/**
 * The differences between a view's rows (and suppressed sets, with `compareSets`) and the fold of the
 * log: one per phone and scope, and the phones that differ.
 */
function compareWithFold(
  fold: MemoryView,
  actual: ReadonlyMap<E164, ReadonlyMap<ScopeKey, ScopeRow>>,
  listed: ReadonlyMap<E164, ReadonlySet<ScopeKey>>,
  compareSets: boolean,
): { differences: Difference[]; wrong: Set<E164>; phones: Set<E164> } {
  const differences: Difference[] = [];
  const wrong = new Set<E164>();
  const phones = new Set<E164>([
    ...actual.keys(),
    ...listed.keys(),
    ...[...fold.phones()].map(([phone]) => phone),
  ]);
  for (const phone of phones) {
    const expected = scopeStates(fold.history(phone));
    const have = actual.get(phone) ?? new Map<ScopeKey, ScopeRow>();
    // One difference per phone and scope: a row that differs is reported as such (repair rewrites
    // every structure of the phone); only where the rows agree is a suppressed set compared.
    const rowDiffers = new Set<ScopeKey>();
    for (const [scope, state] of expected) {
      const want: RowState = {
        status: state.status,
        allowed: state.allowed,
        eventId: state.cause?.eventId ?? null,
      };
      const row = have.get(scope);
      if (row === undefined) differences.push({ phone, scope, problem: 'missing', expected: want });
      else if (
        row.status !== want.status ||
        row.allowed !== want.allowed ||
        !sameEventId(row.eventId, want.eventId)
      ) {
        differences.push({ phone, scope, problem: 'different', expected: want, actual: stateOf(row) });
      } else continue;
      rowDiffers.add(scope);
      wrong.add(phone);
    }
    for (const [scope, row] of have) {
      if (expected.has(scope)) continue;
      differences.push({ phone, scope, problem: 'unexpected', actual: stateOf(row) });
      rowDiffers.add(scope);
      wrong.add(phone);
    }
    if (!compareSets) continue;
    const inSets = listed.get(phone) ?? new Set<ScopeKey>();
    for (const [scope, state] of expected) {
      if (rowDiffers.has(scope) || state.allowed === !inSets.has(scope)) continue;
      const want: RowState = {
        status: state.status,
        allowed: state.allowed,
        eventId: state.cause?.eventId ?? null,
      };
      differences.push({
        phone,
        scope,
        problem: state.allowed ? 'unexpected' : 'missing',
        expected: want,
        structure: 'suppressed_set',
      });
      wrong.add(phone);
    }
    for (const scope of inSets) {
      if (expected.has(scope) || rowDiffers.has(scope)) continue;
      differences.push({ phone, scope, problem: 'unexpected', structure: 'suppressed_set' });
      wrong.add(phone);
    }
  }
  return { differences, wrong, phones };
}
