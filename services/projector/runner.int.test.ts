import { rmSync } from 'node:fs';
import {
  foldHistory,
  START,
  type E164,
  type EffectiveState,
  type LedgerEvent,
  type PhoneHistory,
  type Position,
  type Recorded,
} from '../ledger/index.js';
import { EmbeddedEventLog } from '../log/index.js';
import { MemoryView, ProjectorRunner, type Projection, type RunnerOptions } from './index.js';
import { eventually } from '../../test/support/eventually.js';
import { freshDir, phoneNo, readAll, uniqueOptOut } from '../../test/support/event-log-contract.js';
import { confirmation, optIn, optOut, suspected, T0 } from '../../test/support/given.js';

/** A projection that records every batch it is offered and fails the first `failures` of them. */
class FlakyProjection implements Projection {
  readonly name = 'flaky';
  readonly kind = 'test';
  /** Positions of every batch offered, failed or not, in the order offered. */
  readonly offered: Position[][] = [];
  /** Positions of every batch that applied. Deliberately not de-duplicated: re-delivery must show. */
  readonly applied: Position[] = [];

  constructor(private failures: number) {}

  failNext(failures: number): void {
    this.failures = failures;
  }

  checkpoint(): Promise<Position> {
    return Promise.resolve(this.applied[this.applied.length - 1] ?? START);
  }

  applyBatch(records: readonly Recorded[]): Promise<void> {
    this.offered.push(records.map((r) => r.position));
    if (this.failures > 0) {
      this.failures -= 1;
      return Promise.reject(new Error('view store unavailable'));
    }
    this.applied.push(...records.map((r) => r.position));
    return Promise.resolve();
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

  checkpoint(): Promise<Position> {
    return this.view.checkpoint();
  }

  async applyBatch(records: readonly Recorded[]): Promise<void> {
    this.batchesStarted += 1;
    if (this.shut !== undefined) await this.shut.promise;
    await this.view.applyBatch(records);
  }
}

/** Whether `promise` settles within `ms`: a bound on hanging, not a performance figure. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

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

  function runner(projection: Projection, options: RunnerOptions = {}): ProjectorRunner {
    const created = new ProjectorRunner(log, projection, options);
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
    it('is ready at once on an empty log', async () => {
      const projector = runner(new MemoryView());
      projector.start();
      await projector.whenReady();
      expect(projector.status()).toMatchObject({ position: START, lagEvents: 0, ready: true, healthy: true });
    });

    it('replays the log it finds at start, in batches, then reports ready', async () => {
      const head = await appendOptOuts(50);
      const view = new MemoryView();
      const batches: Position[][] = [];
      const projector = runner(view, {
        batchSize: 7,
        onApplied: (_, records) => batches.push(records.map((r) => r.position)),
      });
      const ready = projector.whenReady();
      expect(projector.ready).toBe(false);

      projector.start();
      await ready;

      expect(view.appliedPosition).toBe(head);
      expect(batches.flat()).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(batches.every((batch) => batch.length <= 7)).toBe(true);
      expect(projector.status()).toMatchObject({
        position: head,
        head,
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
  });

  describe('following the log', () => {
    it('applies a new append once it is recorded, without waiting for a poll', async () => {
      const view = new MemoryView();
      const projector = runner(view);
      projector.start();
      await projector.whenReady();

      const stop = optOut({ phone: phoneNo(1), eventId: 'live-stop' });
      const [appended] = await log.append([stop]);

      await expect(projector.waitForPosition(appended!.position, 1000)).resolves.toBe(true);
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
      await expect(projector.waitForPosition(await log.head(), 2000)).resolves.toBe(true);

      expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      for (let caller = 0; caller < 4; caller += 1) {
        expect(view.history(phoneNo(caller))).toEqual(foldHistory(await log.readPhone(phoneNo(caller))));
      }
    });
  });

  describe('waitForPosition', () => {
    it('resolves true at once for a position already applied', async () => {
      const head = await appendOptOuts(3);
      const projector = runner(new MemoryView());
      projector.start();
      await projector.whenReady();
      await expect(projector.waitForPosition(head, 0)).resolves.toBe(true);
    });

    it('resolves true when a position appended later is applied', async () => {
      const projector = runner(new MemoryView());
      projector.start();
      await projector.whenReady();

      const waiting = projector.waitForPosition(2 as Position, 2000);
      await appendOptOuts(2);
      await expect(waiting).resolves.toBe(true);
    });

    it('resolves false when the position is not applied within the timeout', async () => {
      const head = await appendOptOuts(2);
      const projector = runner(new MemoryView());
      projector.start();
      await projector.whenReady();
      await expect(projector.waitForPosition((head + 1) as Position, 20)).resolves.toBe(false);
    });
  });

  describe('a failing projection', () => {
    it('reports unhealthy meanwhile, retries the same batch, then applies everything once, in order', async () => {
      const head = await appendOptOuts(10);
      const projection = new FlakyProjection(3);
      const duringFailures: ReturnType<ProjectorRunner['status']>[] = [];
      const projector: ProjectorRunner = runner(projection, {
        batchSize: 4,
        retry: FAST_RETRY,
        onError: () => duringFailures.push(projector.status()),
      });

      projector.start();
      await projector.whenReady();

      expect(duringFailures).toHaveLength(3);
      for (const status of duringFailures) {
        expect(status).toMatchObject({ healthy: false, lastError: 'view store unavailable', ready: false });
        expect(status.position).toBe(START);
      }
      expect(projection.offered.slice(0, 4)).toEqual([
        [1, 2, 3, 4],
        [1, 2, 3, 4],
        [1, 2, 3, 4],
        [1, 2, 3, 4],
      ]);
      expect(projection.applied).toEqual(Array.from({ length: head }, (_, i) => i + 1));
      expect(projector.healthy).toBe(true);
      expect(projector.status()).not.toHaveProperty('lastError');
      expect(projector.status()).toMatchObject({ position: head, healthy: true, ready: true });
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
      await expect(projector.waitForPosition(rest, 2000)).resolves.toBe(true);

      expect(duringFailures.map((s) => [s.healthy, s.lastError, s.position])).toEqual([
        [false, 'view store unavailable', START],
        [false, 'view store unavailable', START],
      ]);
      expect(projection.offered.slice(0, 3).map((batch) => batch[0])).toEqual([
        first?.position,
        first?.position,
        first?.position,
      ]);
      expect(projection.applied).toEqual([1, 2, 3, 4]);
      expect(projector.healthy).toBe(true);
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
      // Volume across many phones and batches, deterministic so a failure reproduces.
      const kinds = [optOut, optIn, suspected] as const;
      await log.append(
        Array.from({ length: 300 }, (_, i) =>
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
      const head = await log.head();
      const view = new MemoryView();
      const first = runner(view, { batchSize: 64 });
      first.start();
      await first.whenReady();
      await first.stop();
      const before = snapshot(view, phones);
      expect(view.appliedPosition).toBe(head);
      expect(before.find((s) => s.phone === phones[1])?.checks[0]).toMatchObject({
        status: 'opted_out',
        staleOptIn: { eventId: 'b-in-stale' },
      });

      const all = await readAll(log);
      await view.applyBatch(all);
      expect(snapshot(view, phones)).toEqual(before);
      expect(view.appliedPosition).toBe(head);

      let redelivered = 0;
      const sameViewFromStart: Projection = {
        name: 'memory-again',
        kind: view.kind,
        checkpoint: () => Promise.resolve(START),
        applyBatch: (records) => view.applyBatch(records),
      };
      const second = runner(sameViewFromStart, {
        batchSize: 50,
        onApplied: (_, records) => (redelivered += records.length),
      });
      second.start();
      await second.whenReady();
      expect(redelivered).toBe(all.length);
      expect(snapshot(view, phones)).toEqual(before);
      expect(view.appliedPosition).toBe(head);

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
      const projector = runner(projection, { batchSize: 4, now: () => clock });

      projector.start();
      await eventually(() => expect(projection.batchesStarted).toBe(1));
      clock += 250;
      expect(projector.status()).toMatchObject({
        name: 'valved',
        kind: 'memory',
        position: START,
        head: 10,
        lagEvents: 10,
        lagMs: 250,
        ready: false,
        healthy: true,
      });

      projection.open();
      await projector.whenReady();
      await eventually(() =>
        expect(projector.status()).toMatchObject({ position: 10, head: 10, lagEvents: 0, lagMs: 0 }),
      );

      projection.close();
      clock += 5_000; // idle time while caught up is not lag
      await appendOptOuts(3, 5, clock);
      await eventually(() => expect(projection.batchesStarted).toBe(4));
      clock += 40;
      expect(projector.status()).toMatchObject({
        position: 10,
        head: 13,
        lagEvents: 3,
        lagMs: 40,
        ready: true,
      });

      projection.open();
      await eventually(() =>
        expect(projector.status()).toMatchObject({ position: 13, head: 13, lagEvents: 0, lagMs: 0 }),
      );
    });

    it('remembers when each position was applied, from this process only', async () => {
      let clock = 5_000;
      await appendOptOuts(3);
      const projector = runner(new MemoryView(), {
        batchSize: 2,
        now: () => clock,
        onApplied: () => (clock += 100),
      });
      projector.start();
      await projector.whenReady();

      expect([0, 1, 2, 3, 4].map((p) => projector.appliedAt(p as Position))).toEqual([
        undefined,
        5_000,
        5_000,
        5_100,
        undefined,
      ]);

      clock = 9_000;
      const [live] = await log.append([uniqueOptOut()]);
      await projector.waitForPosition(live!.position, 1000);
      expect(projector.appliedAt(live!.position)).toBe(9_000);
    });

    it('knows no apply time for positions below the checkpoint it started from', async () => {
      await appendOptOuts(3);
      const view = new MemoryView();
      await view.applyBatch((await readAll(log)).slice(0, 2));
      const projector = runner(view, { now: () => 7_000 });
      projector.start();
      await projector.whenReady();

      expect([1, 2, 3].map((p) => projector.appliedAt(p as Position))).toEqual([undefined, undefined, 7_000]);
    });
  });

  describe('stop()', () => {
    it('returns promptly while the runner waits for appends, and applies nothing after', async () => {
      const view = new MemoryView();
      const projector = runner(view);
      projector.start();
      await projector.whenReady();

      await expect(settlesWithin(projector.stop(), 1000)).resolves.toBe(true);
      const head = await appendOptOuts(1);
      await expect(projector.waitForPosition(head, 20)).resolves.toBe(false);
      expect(view.appliedPosition).toBe(START);
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
    });

    it('releases callers waiting for a position with false', async () => {
      const projector = runner(new MemoryView());
      projector.start();
      await projector.whenReady();
      const waiting = projector.waitForPosition(99 as Position, 60_000);

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
      expect(projector.status().position).toBe(projection.view.appliedPosition);
      expect(projector.status().position).toBe(3);
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

  describe('a view with a durable checkpoint', () => {
    it('answers waitForPosition for positions its checkpoint already covers, with nothing new appended', async () => {
      await appendOptOuts(3);
      const projection = new FlakyProjection(0);
      await projection.applyBatch((await readAll(log)).slice());
      const projector = runner(projection);
      projector.start();
      await expect(projector.waitForPosition(2 as Position, 1000)).resolves.toBe(true);
    });
  });
});
