import { rmSync } from 'node:fs';
import {
  asPosition,
  foldHistory,
  START,
  type E164,
  type EffectiveState,
  type LedgerEvent,
  type PhoneHistory,
  type Position,
} from '../ledger/index.js';
import {
  EmbeddedEventLog,
  type ConsumerSpec,
  type EventLog,
  type LogPoint,
  type LogRecord,
} from '../log/index.js';
import { MemoryView, ProjectorRunner, StoreLost, type Projection, type RunnerOptions } from './index.js';
import { NotTransient } from '../retry/index.js';
import { eventually } from '../../test/support/eventually.js';
import {
  freshDir,
  phoneNo,
  readAllEmbedded,
  settlesWithin,
  uniqueOptOut,
} from '../../test/support/event-log-contract.js';
import { confirmation, optIn, optOut, suspected, T0 } from '../../test/support/given.js';

/** A projection that records every batch it is offered and fails the first `failures` of them. */
class FlakyProjection implements Projection {
  readonly name = 'flaky';
  readonly kind = 'test';
  /** Positions of every batch offered, failed or not, in the order offered. */
  readonly offered: Position[][] = [];
  /** Positions of every batch that applied. Deliberately not de-duplicated: re-delivery must show. */
  readonly applied: Position[] = [];

  constructor(
    private failures: number,
    private readonly failure: () => Error = () => new Error('view store unavailable'),
  ) {}

  failNext(failures: number): void {
    this.failures = failures;
  }

  /** The embedded log has partition 0 only. */
  checkpoint(partition: number): Promise<Position> {
    return Promise.resolve(partition === 0 ? (this.applied[this.applied.length - 1] ?? START) : START);
  }

  applyBatch(records: readonly LogRecord[]): Promise<void> {
    expect(records.every((r) => r.partition === 0)).toBe(true);
    this.offered.push(records.map((r) => r.position));
    if (this.failures > 0) {
      this.failures -= 1;
      return Promise.reject(this.failure());
    }
    this.applied.push(...records.map((r) => r.position));
    return Promise.resolve();
  }

  quarantine(): Promise<void> {
    return Promise.reject(new Error('the embedded log has no undecodable records'));
  }
}

/** A MemoryView whose applyBatch waits while the valve is shut, to hold the runner mid-batch. */
class ValvedView implements Projection {
  readonly name = 'valved';
  readonly kind = 'memory';
  readonly view = new MemoryView('valved');
  batchesStarted = 0;
  private shut: { promise: Promise<void>; open: () => void } | undefined;

  close(): void {
    let open = (): void => undefined;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.shut = { promise, open };
  }

  open(): void {
    this.shut?.open();
    this.shut = undefined;
  }

  checkpoint(partition: number): Promise<Position> {
    return this.view.checkpoint(partition);
  }

  async applyBatch(records: readonly LogRecord[]): Promise<void> {
    this.batchesStarted += 1;
    if (this.shut !== undefined) await this.shut.promise;
    await this.view.applyBatch(records);
  }

  quarantine(): Promise<void> {
    return Promise.reject(new Error('the embedded log has no undecodable records'));
  }
}

/** A point of the embedded log's only partition. */
const at = (position: number): LogPoint => ({ partition: 0, position: asPosition(position) });

/** 1, 2, … n: the positions of the first n records of the embedded log. */
const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

/** The embedded log hands consume() at most this many records at a time (services/log/embedded.ts). */
const EMBEDDED_BATCH = 2000;

const BRAND = 'acme';
const FAST_RETRY = { initialMs: 1, maxMs: 4 };

describe('ProjectorRunner over the embedded log', () => {
  let dir: string;
  let log: EmbeddedEventLog;
  let runners: ProjectorRunner[];

  beforeEach(() => {
    dir = freshDir('ledger-projector-');
    log = EmbeddedEventLog.open(dir);
    runners = [];
  });

  afterEach(async () => {
    await Promise.all(runners.map((runner) => runner.stop()));
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function runner(projection: Projection, options: RunnerOptions = {}, on: EventLog = log): ProjectorRunner {
    const created = new ProjectorRunner(on, projection, options);
    runners.push(created);
    return created;
  }

  async function appendOptOuts(count: number, phones = 5, recordedAt?: number): Promise<Position> {
    const appended = await log.append(
      Array.from({ length: count }, (_, i) => {
        const event = uniqueOptOut(phoneNo(i % phones));
        return recordedAt === undefined ? event : { ...event, recordedAt };
      }),
    );
    return appended[appended.length - 1]?.position ?? START;
  }

  describe('replay and readiness', () => {
    it('knows nothing before it starts', () => {
      const projector = runner(new MemoryView());
      expect(projector.status()).toMatchObject({
        position: [],
        head: [],
        lagEvents: 0,
        lagMs: 0,
        ready: false,
        healthy: true,
      });
      expect(projector.cursor).toEqual([]);
    });

    it('is ready only once the projection has vouched for its store; a loss found then replays first', async () => {
      /** A memory view whose vouch waits for the test, and fails with StoreLost while `lose` is set. */
      class Vouching extends MemoryView {
        vouches = 0;
        resets = 0;
        lose = true;
        release: () => void = () => undefined;
        vouch(): Promise<void> {
          this.vouches += 1;
          if (this.lose) {
            this.lose = false;
            return Promise.reject(new StoreLost(this.name, 'emptied behind its back'));
          }
          return new Promise((resolve) => (this.release = resolve));
        }
        reset(): Promise<void> {
          this.resets += 1;
          return Promise.resolve();
        }
      }
      const view = new Vouching();
      const last = await appendOptOuts(3);
      const projector = runner(view, { retry: { initialMs: 5, maxMs: 20 } });
      projector.start();
      // Caught up, but its store not vouched for: not ready (checks through it answer unknown).
      await eventually(() => expect(view.vouches).toBe(2));
      expect(projector.cursor).toEqual([last]);
      expect(view.resets).toBe(1);
      expect(projector.status().ready).toBe(false);
      view.release();
      await projector.whenReady();
      expect(projector.status()).toMatchObject({ ready: true, healthy: true, position: [last] });
    });

    it('is ready at once on an empty log', async () => {
      const projector = runner(new MemoryView());
      projector.start();
      await projector.whenReady();
      expect(projector.status()).toMatchObject({
        position: [START],
        head: [START],
        lagEvents: 0,
        ready: true,
        healthy: true,
      });
      expect(projector.cursor).toEqual([START]);
    });

    it('replays the log it finds at start, batch by batch, then reports ready', async () => {
      const count = 2 * EMBEDDED_BATCH + 500;
      const head = await appendOptOuts(count);
      const view = new MemoryView();
      const batches: Position[][] = [];
      const readyWhenApplied: boolean[] = [];
      const projector: ProjectorRunner = runner(view, {
        onApplied: (_, records) => {
          batches.push(records.map((r) => r.position));
          readyWhenApplied.push(projector.ready);
        },
      });
      const ready = projector.whenReady();
      expect(projector.ready).toBe(false);

      projector.start();
      await ready;

      expect(view.cursor).toEqual([head]);
      expect(projector.cursor).toEqual([head]);
      expect(batches.flat()).toEqual(upTo(count));
      expect(batches.length).toBeGreaterThan(1);
      // Not ready after an earlier batch: readiness is the whole log found at start.
      expect(readyWhenApplied.slice(0, -1)).toEqual(batches.slice(0, -1).map(() => false));
      expect(projector.status()).toMatchObject({
        position: [head],
        head: [head],
        lagEvents: 0,
        ready: true,
        healthy: true,
      });
      for (let i = 0; i < 5; i += 1) {
        expect(view.history(phoneNo(i))).toEqual(foldHistory(await log.readPhone(phoneNo(i))));
        expect(view.check(phoneNo(i), BRAND)).toMatchObject({ status: 'opted_out', allowed: false });
      }
    });

    it('resolves whenReady for callers that ask after it became ready', async () => {
      await appendOptOuts(3);
      const projector = runner(new MemoryView());
      projector.start();
      await projector.whenReady();
      await expect(projector.whenReady()).resolves.toBeUndefined();
    });

    it("consumes as options.group, else as the projection's name", async () => {
      const groups: string[] = [];
      const spying: EventLog = {
        kind: log.kind,
        partitions: () => log.partitions(),
        append: (events) => log.append(events),
        head: () => log.head(),
        close: () => log.close(),
        consume: (spec: ConsumerSpec) => {
          groups.push(spec.group);
          return log.consume(spec);
        },
      };
      const named = runner(new MemoryView('by-name'), {}, spying);
      const grouped = runner(new MemoryView('by-option'), { group: 'ledger-memory-7' }, spying);
      named.start();
      grouped.start();
      await Promise.all([named.whenReady(), grouped.whenReady()]);
      expect(groups.sort()).toEqual(['by-name', 'ledger-memory-7']);
    });
  });

  describe('following the log', () => {
    it('applies a new append once it is recorded, without waiting for a poll', async () => {
      const view = new MemoryView();
      const projector = runner(view);
      projector.start();
      await projector.whenReady();

      const stop = optOut({ phone: phoneNo(1), eventId: 'live-stop' });
      const [appended] = await log.append([stop]);

      await expect(projector.waitFor([appended!], 1000)).resolves.toBe(true);
      expect(appended?.partition).toBe(0);
      expect(view.check(phoneNo(1), BRAND)).toMatchObject({
        status: 'opted_out',
        allowed: false,
        cause: { eventId: 'live-stop', position: appended?.position },
      });
    });

    it('applies concurrent appends exactly once, in log order', async () => {
      const view = new MemoryView();
      const seen: Position[] = [];
      const projector = runner(view, {
        onApplied: (_, records) => seen.push(...records.map((r) => r.position)),
      });
      projector.start();
      await projector.whenReady();

      await Promise.all(
        Array.from({ length: 4 }, async (_, caller) => {
          for (let i = 0; i < 50; i += 1) await log.append([uniqueOptOut(phoneNo(caller))]);
        }),
      );
      await expect(projector.waitFor([at(log.last)], 2000)).resolves.toBe(true);

      expect(seen).toEqual(upTo(200));
      expect(projector.cursor).toEqual([200]);
      for (let caller = 0; caller < 4; caller += 1) {
        expect(view.history(phoneNo(caller))).toEqual(foldHistory(await log.readPhone(phoneNo(caller))));
      }
    });
  });

  describe('waitFor', () => {
    it('resolves true at once for points already applied, and for no points', async () => {
      const head = await appendOptOuts(3);
      const projector = runner(new MemoryView());
      projector.start();
      await projector.whenReady();
      await expect(projector.waitFor([at(head)], 0)).resolves.toBe(true);
      await expect(projector.waitFor([at(1), at(head)], 0)).resolves.toBe(true);
      await expect(projector.waitFor([], 0)).resolves.toBe(true);
    });

    it('resolves true when a position appended later is applied', async () => {
      const projector = runner(new MemoryView());
      projector.start();
      await projector.whenReady();

      const waiting = projector.waitFor([at(2)], 2000);
      await appendOptOuts(2);
      await expect(waiting).resolves.toBe(true);
    });

    it('resolves false when a point is not applied within the timeout', async () => {
      const head = await appendOptOuts(2);
      const projector = runner(new MemoryView());
      projector.start();
      await projector.whenReady();
      await expect(projector.waitFor([at(head + 1)], 20)).resolves.toBe(false);
      // Every point must be reached, not some.
      await expect(projector.waitFor([at(head), at(head + 1)], 20)).resolves.toBe(false);
      // A partition the log does not have is never reached.
      await expect(projector.waitFor([{ partition: 1, position: asPosition(1) }], 20)).resolves.toBe(false);
    });
  });

  describe('a failing projection', () => {
    it('reports unhealthy meanwhile, retries the same batch, then applies everything once, in order', async () => {
      const count = EMBEDDED_BATCH + 500;
      const head = await appendOptOuts(count);
      const projection = new FlakyProjection(3);
      const duringFailures: ReturnType<ProjectorRunner['status']>[] = [];
      const projector: ProjectorRunner = runner(projection, {
        retry: FAST_RETRY,
        onError: () => duringFailures.push(projector.status()),
      });

      projector.start();
      await projector.whenReady();

      expect(duringFailures).toHaveLength(3);
      for (const status of duringFailures) {
        expect(status).toMatchObject({
          healthy: false,
          lastError: 'view store unavailable',
          ready: false,
          position: [START],
        });
      }
      // [first, last, length] of every batch offered: the first batch four times, then the rest once.
      const firstBatch = [1, EMBEDDED_BATCH, EMBEDDED_BATCH];
      expect(projection.offered.map((batch) => [batch[0], batch[batch.length - 1], batch.length])).toEqual([
        firstBatch,
        firstBatch,
        firstBatch,
        firstBatch,
        [EMBEDDED_BATCH + 1, count, 500],
      ]);
      expect(projection.applied).toEqual(upTo(head));
      expect(projector.healthy).toBe(true);
      expect(projector.status()).not.toHaveProperty('lastError');
      expect(projector.status()).toMatchObject({ position: [head], healthy: true, ready: true });
    });

    it('holds a live opt-out until the view takes it, skipping nothing after it', async () => {
      const projection = new FlakyProjection(0);
      const duringFailures: ReturnType<ProjectorRunner['status']>[] = [];
      const projector: ProjectorRunner = runner(projection, {
        retry: FAST_RETRY,
        onError: () => duringFailures.push(projector.status()),
      });
      projector.start();
      await projector.whenReady();

      projection.failNext(2);
      const [first] = await log.append([uniqueOptOut(phoneNo(1))]);
      const rest = await appendOptOuts(3);
      await expect(projector.waitFor([at(rest)], 2000)).resolves.toBe(true);

      expect(duringFailures.map((s) => [s.healthy, s.lastError, s.position])).toEqual([
        [false, 'view store unavailable', [START]],
        [false, 'view store unavailable', [START]],
      ]);
      expect(projection.offered.slice(0, 3).map((batch) => batch[0])).toEqual([
        first?.position,
        first?.position,
        first?.position,
      ]);
      expect(projection.applied).toEqual([1, 2, 3, 4]);
      expect(projector.healthy).toBe(true);
    });

    it('a bug is retried all the same (nothing skipped), reported as not transient, the view failing closed meanwhile', async () => {
      const head = await appendOptOuts(3);
      const bug = (): Error => new TypeError("Cannot read properties of undefined (reading 'scope')");
      const projection = new FlakyProjection(2, bug);
      const reported: unknown[] = [];
      const duringFailures: ReturnType<ProjectorRunner['status']>[] = [];
      const projector: ProjectorRunner = runner(projection, {
        retry: FAST_RETRY,
        onError: (error) => {
          reported.push(error);
          duringFailures.push(projector.status());
        },
      });

      projector.start();
      await projector.whenReady();

      expect(reported).toHaveLength(2);
      for (const error of reported) {
        expect(error).toBeInstanceOf(NotTransient);
        expect((error as NotTransient).cause).toBeInstanceOf(TypeError);
      }
      for (const status of duringFailures) {
        expect(status).toMatchObject({ healthy: false, ready: false, position: [START] });
        expect(status.lastError).toBe(
          "view flaky: Cannot read properties of undefined (reading 'scope') — not a transient failure (a bug, or invalid data or settings): retried every 4 ms until it is fixed",
        );
      }
      expect(projection.offered.map((batch) => batch[0])).toEqual([1, 1, 1]);
      expect(projection.applied).toEqual(upTo(head));
      expect(projector.status()).toMatchObject({ healthy: true, ready: true, position: [head] });
      expect(projector.status()).not.toHaveProperty('lastError');
    });
  });

  describe('replaying the whole log twice changes nothing', () => {
    const brands: readonly [string, string?][] = [
      ['acme'],
      ['acme', 'promo'],
      ['acme', 'alerts'],
      ['other'],
      ['other', 'x'],
    ];

    function snapshot(view: MemoryView, phones: readonly E164[]) {
      return phones.map((phone) => ({
        phone,
        history: view.history(phone),
        checks: brands.map(([brand, program]): EffectiveState => view.check(phone, brand, program)),
      }));
    }

    /** Every kind of event, every scope width, a stale opt-in, a duplicate and a confirmation. */
    async function appendHistories(): Promise<readonly E164[]> {
      const [a, b, c, d, e] = [phoneNo(1), phoneNo(2), phoneNo(3), phoneNo(4), phoneNo(5)];
      const events: LedgerEvent[] = [
        optOut({ phone: a, eventId: 'a-out', occurredAt: T0 }),
        optOut({ phone: b, eventId: 'b-out-global', scope: 'global', occurredAt: T0 + 10 }),
        confirmation({ phone: b, eventId: 'b-confirm', confirms: 'b-out-global', occurredAt: T0 + 11 }),
        optIn({ phone: a, eventId: 'a-in', occurredAt: T0 + 20 }),
        suspected({ phone: c, eventId: 'c-suspected', occurredAt: T0 }),
        optIn({ phone: b, eventId: 'b-in-stale', occurredAt: T0 - 1000 }),
        suspected({
          phone: a,
          eventId: 'a-suspected-promo',
          scope: 'program:acme/promo',
          occurredAt: T0 + 30,
        }),
        optOut({ phone: c, eventId: 'c-out', occurredAt: T0 + 5 }),
        optIn({ phone: d, eventId: 'd-in-promo', scope: 'program:acme/promo', occurredAt: T0 }),
        optOut({ phone: d, eventId: 'd-out-other', scope: 'program:other/x', occurredAt: T0 + 1 }),
        confirmation({ phone: e, eventId: 'e-confirm-only' }),
      ];
      await log.append(events.slice(0, 4));
      await log.append(events.slice(4));
      await log.append([events[0]!, optOut({ phone: c, eventId: 'c-out' })]);
      // Volume across many phones and more than one batch, deterministic so a failure reproduces.
      const kinds = [optOut, optIn, suspected] as const;
      await log.append(
        Array.from({ length: EMBEDDED_BATCH + 300 }, (_, i) =>
          kinds[i % 3]!({
            phone: phoneNo(10 + ((i * 7) % 23)),
            eventId: `bulk-${i}`,
            scope: i % 5 === 0 ? 'global' : i % 5 === 1 ? 'program:acme/promo' : 'brand:acme',
            occurredAt: T0 + ((i * 37) % 101),
          }),
        ),
      );
      return [a, b, c, d, e, ...Array.from({ length: 23 }, (_, i) => phoneNo(10 + i))];
    }

    it('whether records are re-applied in one batch or re-delivered by a second runner from position 0', async () => {
      const phones = await appendHistories();
      const head = log.last;
      const view = new MemoryView();
      const first = runner(view);
      first.start();
      await first.whenReady();
      await first.stop();
      const before = snapshot(view, phones);
      expect(view.cursor).toEqual([head]);
      expect(before.find((s) => s.phone === phones[1])?.checks[0]).toMatchObject({
        status: 'opted_out',
        staleOptIn: { eventId: 'b-in-stale' },
      });

      const all = await readAllEmbedded(log);
      await view.applyBatch(all);
      expect(snapshot(view, phones)).toEqual(before);
      expect(view.cursor).toEqual([head]);

      let redelivered = 0;
      const sameViewFromStart: Projection = {
        name: 'memory-again',
        kind: view.kind,
        checkpoint: () => Promise.resolve(START),
        applyBatch: (records) => view.applyBatch(records),
        quarantine: (record) => view.quarantine(record),
      };
      const second = runner(sameViewFromStart, {
        onApplied: (_, records) => (redelivered += records.length),
      });
      second.start();
      await second.whenReady();
      expect(redelivered).toBe(all.length);
      expect(snapshot(view, phones)).toEqual(before);
      expect(view.cursor).toEqual([head]);

      const rebuilt = new MemoryView();
      await rebuilt.applyBatch(all);
      expect(snapshot(rebuilt, phones)).toEqual(before);
      for (const phone of phones) {
        const fold: PhoneHistory = foldHistory(await log.readPhone(phone));
        expect(view.history(phone)).toEqual(fold);
      }
    });
  });

  describe('status and appliedAt', () => {
    it('reports lag as events behind and the age of the oldest unapplied event, none once caught up', async () => {
      let clock = 1_000_000;
      await appendOptOuts(10, 5, clock);
      const projection = new ValvedView();
      projection.close();
      const projector = runner(projection, { now: () => clock });

      projector.start();
      await eventually(() => expect(projection.batchesStarted).toBe(1));
      clock += 250;
      expect(projector.status()).toMatchObject({
        name: 'valved',
        kind: 'memory',
        position: [START],
        head: [10],
        lagEvents: 10,
        lagMs: 250,
        ready: false,
        healthy: true,
      });

      projection.open();
      await projector.whenReady();
      await eventually(() =>
        expect(projector.status()).toMatchObject({ position: [10], head: [10], lagEvents: 0, lagMs: 0 }),
      );

      projection.close();
      clock += 5_000; // idle time while caught up is not lag
      await appendOptOuts(3, 5, clock);
      await eventually(() => expect(projection.batchesStarted).toBe(2));
      clock += 40;
      expect(projector.status()).toMatchObject({
        position: [10],
        head: [13],
        lagEvents: 3,
        lagMs: 40,
        ready: true,
      });

      projection.open();
      await eventually(() =>
        expect(projector.status()).toMatchObject({ position: [13], head: [13], lagEvents: 0, lagMs: 0 }),
      );
    });

    it('remembers when each position was applied, from this process only', async () => {
      let clock = 5_000;
      const count = EMBEDDED_BATCH + 500;
      await appendOptOuts(count);
      const projector = runner(new MemoryView(), {
        now: () => clock,
        onApplied: () => (clock += 100),
      });
      projector.start();
      await projector.whenReady();

      // Two batches at replay: 1…2000 applied at 5 000, the rest at 5 100.
      expect(
        [0, 1, EMBEDDED_BATCH, EMBEDDED_BATCH + 1, count, count + 1].map((p) => projector.appliedAt(at(p))),
      ).toEqual([undefined, 5_000, 5_000, 5_100, 5_100, undefined]);
      expect(projector.appliedAt({ partition: 1, position: asPosition(1) })).toBeUndefined();

      clock = 9_000;
      const [live] = await log.append([uniqueOptOut()]);
      await expect(projector.waitFor([live!], 1000)).resolves.toBe(true);
      expect(projector.appliedAt(live!)).toBe(9_000);
    });

    it('knows no apply time for positions below the checkpoint it started from', async () => {
      await appendOptOuts(3);
      const view = new MemoryView();
      await view.applyBatch((await readAllEmbedded(log)).slice(0, 2));
      const projector = runner(view, { now: () => 7_000 });
      projector.start();
      await projector.whenReady();

      expect([1, 2, 3].map((p) => projector.appliedAt(at(p)))).toEqual([undefined, undefined, 7_000]);
    });
  });

  describe('stop()', () => {
    it('returns promptly while the runner waits for appends, and applies nothing after', async () => {
      const projection = new FlakyProjection(0);
      const projector = runner(projection);
      projector.start();
      await projector.whenReady();

      await expect(settlesWithin(projector.stop(), 1000)).resolves.toBe(true);
      const head = await appendOptOuts(1);
      await expect(projector.waitFor([at(head)], 20)).resolves.toBe(false);
      expect(projection.offered).toEqual([]);
      expect(projector.cursor).toEqual([START]);
    });

    it('returns promptly while a failing batch waits to be retried', async () => {
      await appendOptOuts(1);
      const errors: unknown[] = [];
      const projector = runner(new FlakyProjection(Infinity), {
        retry: { initialMs: 60_000, maxMs: 60_000 },
        onError: (error) => errors.push(error),
      });
      projector.start();
      await eventually(() => expect(errors).toHaveLength(1));

      await expect(settlesWithin(projector.stop(), 1000)).resolves.toBe(true);
      expect(projector.healthy).toBe(false);
      expect(projector.cursor).toEqual([START]);
    });

    it('returns promptly while the checkpoint cannot be read, and is neither ready nor healthy', async () => {
      await appendOptOuts(1);
      const errors: unknown[] = [];
      const view = new MemoryView();
      const unreadable: Projection = {
        name: 'unreadable',
        kind: 'test',
        checkpoint: () => Promise.reject(new Error('checkpoint store unavailable')),
        applyBatch: (records) => view.applyBatch(records),
        quarantine: (record) => view.quarantine(record),
      };
      const projector = runner(unreadable, {
        retry: { initialMs: 60_000, maxMs: 60_000 },
        onError: (error) => errors.push(error),
      });
      projector.start();
      await eventually(() => expect(errors).toHaveLength(1));
      expect(projector.status()).toMatchObject({
        ready: false,
        healthy: false,
        lastError: 'checkpoint store unavailable',
      });

      await expect(settlesWithin(projector.stop(), 1000)).resolves.toBe(true);
      expect(view.cursor).toEqual([]);
    });

    it('releases callers waiting for a point with false', async () => {
      const projector = runner(new MemoryView());
      projector.start();
      await projector.whenReady();
      const waiting = projector.waitFor([at(99)], 60_000);

      await projector.stop();
      await expect(waiting).resolves.toBe(false);
    });

    it('records a batch that finishes applying while stop() is under way', async () => {
      await appendOptOuts(3);
      const projection = new ValvedView();
      projection.close();
      const projector = runner(projection);
      projector.start();
      await eventually(() => expect(projection.batchesStarted).toBe(1));
      const stopping = projector.stop();
      projection.open();
      await stopping;
      expect(projector.status().position).toEqual(projection.view.cursor);
      expect(projector.status().position).toEqual([3]);
      expect(projector.cursor).toEqual([3]);
    });

    it('releases whenReady() waiters when stopped before the replay is done', async () => {
      await appendOptOuts(2);
      const projection = new ValvedView();
      projection.close();
      const projector = runner(projection);
      projector.start();
      const ready = projector.whenReady();
      await eventually(() => expect(projection.batchesStarted).toBe(1));
      const stopping = projector.stop();
      projection.open();
      await stopping;
      expect(await settlesWithin(ready, 1000)).toBe(true);
    });
  });

  it('answers whenReady() asked after stop() of a runner that never got ready', async () => {
    await appendOptOuts(1);
    const projector = runner(new MemoryView());
    await projector.stop();
    expect(await settlesWithin(projector.whenReady(), 200)).toBe(true);
  });

  it('does not start consuming when start() comes after stop()', async () => {
    await appendOptOuts(2);
    const view = new MemoryView();
    const projector = runner(view);
    await projector.stop();
    projector.start();
    await appendOptOuts(1);
    expect(await settlesWithin(projector.whenReady(), 200)).toBe(true);
    expect(view.cursor).toEqual([]);
  });

  describe('a view with a durable checkpoint', () => {
    it('answers waitFor for points its checkpoint already covers, with nothing new appended', async () => {
      await appendOptOuts(3);
      const projection = new FlakyProjection(0);
      await projection.applyBatch(await readAllEmbedded(log));
      const projector = runner(projection);
      projector.start();
      await expect(projector.waitFor([at(2)], 1000)).resolves.toBe(true);
      await expect(projector.waitFor([at(3)], 1000)).resolves.toBe(true);
      expect(projection.offered).toEqual([[1, 2, 3]]);
    });
  });
});
