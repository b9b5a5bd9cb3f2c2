import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import {
  asPosition,
  coveringScopes,
  effectiveState,
  foldHistory,
  scopeStates,
  START,
  type E164,
  type LedgerEvent,
  type Position,
  type ScopeKey,
} from '../ledger/index.js';
import { EmbeddedEventLog, type LogRecord } from '../log/index.js';
import { ProjectorRunner, StoreLost, type RunnerOptions } from './index.js';
import { RedisView } from './redis-view.js';
import { eventually } from '../../test/support/eventually.js';
import { freshDir, phoneNo, readAllEmbedded } from '../../test/support/event-log-contract.js';
import { confirmation, optIn, optOut, PHONE, reviewed, suspected, T0 } from '../../test/support/given.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';

const REDIS_PORT = 6379;
const REDIS_URL = `redis://127.0.0.1:${REDIS_PORT}/0`;
const FAST_RETRY = { initialMs: 5, maxMs: 50 };
/** Long enough for a reconnect; only a failing test waits this long. */
const SETTLE = { timeoutMs: 10_000 };
const SCOPES: readonly ScopeKey[] = ['global', 'brand:acme', 'brand:beta', 'program:acme/promo'];
/** (brand, program?) checks that between them read every row SCOPES can give, and a few that read none. */
const CHECKS: readonly (readonly [string, string?])[] = [
  ['acme'],
  ['acme', 'promo'],
  ['acme', 'other'],
  ['beta'],
  ['beta', 'promo'],
  ['zeta'],
];

/**
 * `count` events over `phones` phones at every scope: opt-outs, opt-ins (some occurring before the
 * opt-out in force, so the stale opt-in rule applies), suspected opt-outs and their reviews,
 * confirmations. Deterministic for a seed.
 */
function mixedEvents(count: number, phones: number, seed = 7): LedgerEvent[] {
  let state = seed;
  const next = (n: number): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return Math.floor(state / 65536) % n;
  };
  const undecided = new Map<E164, { id: string; scope: ScopeKey }[]>();
  const events: LedgerEvent[] = [];
  for (let i = 0; i < count; i += 1) {
    const phone = phoneNo(next(phones));
    const scope = SCOPES[next(SCOPES.length)] ?? 'global';
    const occurredAt = T0 + i * 1000 - next(4) * 3000;
    const fields = { phone, scope, occurredAt, recordedAt: T0 + i * 1000, eventId: `e${seed}-${i}` };
    const roll = next(10);
    const pending = undecided.get(phone) ?? [];
    if (roll === 9 && pending.length > 0) {
      const { id, scope: at } = pending.shift() ?? { id: '', scope: 'global' };
      events.push(
        reviewed({ ...fields, scope: at, resolves: id, outcome: next(2) === 0 ? 'confirmed' : 'dismissed' }),
      );
    } else if (roll <= 3 || roll === 9) {
      events.push(optOut(fields));
    } else if (roll <= 6) {
      events.push(optIn(fields));
    } else if (roll === 7) {
      events.push(suspected(fields));
      undecided.set(phone, [...pending, { id: fields.eventId, scope }]);
    } else {
      events.push(confirmation({ ...fields, confirms: `e${seed}-${i - 1}` }));
    }
  }
  return events;
}

/** Records as the embedded log would hand them over: partition 0, positions from `after + 1`. */
function asRecords(events: readonly LedgerEvent[], after = 0): LogRecord[] {
  return events.map((event, i) => ({ partition: 0, position: asPosition(after + i + 1), event }));
}

function byPhone(records: readonly LogRecord[]): Map<E164, LogRecord[]> {
  const phones = new Map<E164, LogRecord[]>();
  for (const record of records) {
    const list = phones.get(record.event.phone) ?? [];
    list.push(record);
    phones.set(record.event.phone, list);
  }
  return phones;
}

describe('RedisView', () => {
  let admin: Redis;
  let dir: string;
  let log: EmbeddedEventLog;
  let prefix: string;
  let views: RedisView[];
  let runners: ProjectorRunner[];
  let proxies: TcpProxy[];

  beforeAll(async () => {
    admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await admin.connect();
  });

  afterAll(async () => {
    await admin.quit();
  });

  beforeEach(() => {
    dir = freshDir('ledger-redis-view-');
    log = EmbeddedEventLog.open(dir);
    prefix = `test:${randomUUID()}`;
    views = [];
    runners = [];
    proxies = [];
  });

  afterEach(async () => {
    await Promise.all(runners.map((runner) => runner.stop()));
    await Promise.all(views.map((view) => view.close()));
    await Promise.all(proxies.map((proxy) => proxy.down()));
    await log.close();
    rmSync(dir, { recursive: true, force: true });
    const keys = await keysOf(prefix);
    if (keys.length > 0) await admin.unlink(...keys);
  });

  async function openView(url = REDIS_URL): Promise<RedisView> {
    const view = new RedisView({ name: 'sms', url, prefix });
    views.push(view);
    await view.open();
    return view;
  }

  function run(view: RedisView, options: RunnerOptions = {}): ProjectorRunner {
    const runner = new ProjectorRunner(log, view, { retry: FAST_RETRY, ...options });
    runners.push(runner);
    runner.start();
    return runner;
  }

  /** Appends and waits until the runner has applied it. */
  async function record(runner: ProjectorRunner, ...events: LedgerEvent[]): Promise<Position> {
    const appended = await log.append(events);
    const last = appended[appended.length - 1]?.position ?? START;
    expect(await runner.waitFor([{ partition: 0, position: last }], SETTLE.timeoutMs)).toBe(true);
    // Ready once the store is marked as holding the whole log (until then checks answer unknown).
    await runner.whenReady();
    return last;
  }

  async function keysOf(match: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await admin.scan(cursor, 'MATCH', `${match}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    return keys.sort();
  }

  /** Every key under `of` (staging keys included) with its whole content, in a comparable form. */
  async function dump(of = prefix): Promise<Record<string, unknown>> {
    const content: Record<string, unknown> = {};
    for (const key of await keysOf(of)) {
      const type = await admin.type(key);
      if (type === 'hash') content[key] = await admin.hgetall(key);
      else if (type === 'set') content[key] = (await admin.smembers(key)).sort();
      else content[key] = type;
    }
    return content;
  }

  async function suppressedIn(scope: ScopeKey, phone: E164 = PHONE): Promise<boolean> {
    return (await admin.sismember(`${prefix}:suppressed:${scope}`, phone)) === 1;
  }

  async function rowsOf(phone: E164 = PHONE): Promise<unknown> {
    const stored = await admin.hget(`${prefix}:rows`, phone);
    return stored === null ? null : JSON.parse(stored);
  }

  /**
   * The store holds exactly what folding `records` gives: each phone's facts and rows, every
   * suppressed set with exactly its members, the checkpoint at the last record.
   */
  async function expectStoreIsFoldOf(records: readonly LogRecord[], of = prefix): Promise<void> {
    const facts: Record<string, unknown> = {};
    const rows: Record<string, unknown> = {};
    const suppressed = new Map<ScopeKey, E164[]>();
    for (const [phone, own] of byPhone(records)) {
      const history = foldHistory(own);
      if (history.length === 0) continue;
      facts[phone] = history;
      const phoneRows: Record<string, unknown> = {};
      for (const [scope, state] of scopeStates(history)) {
        phoneRows[scope] = [
          state.status,
          state.allowed,
          state.cause?.occurredAt ?? null,
          state.cause?.eventId ?? null,
        ];
        if (!state.allowed) suppressed.set(scope, [...(suppressed.get(scope) ?? []), phone]);
      }
      rows[phone] = phoneRows;
    }
    const parsed = (hash: Record<string, string>): Record<string, unknown> =>
      Object.fromEntries(Object.entries(hash).map(([field, json]) => [field, JSON.parse(json)]));
    // Read the way the view reads them, on the test's own connection.
    const reader = new RedisView({ name: 'reader', url: REDIS_URL, prefix: of }, admin);
    const phones = (await admin.hkeys(`${of}:facts`)).sort() as E164[];
    expect(phones).toEqual(Object.keys(facts).sort());
    const held = await Promise.all(phones.map(async (phone) => [phone, await reader.history(phone)]));
    expect(Object.fromEntries(held)).toEqual(facts);
    expect(parsed(await admin.hgetall(`${of}:rows`))).toEqual(rows);
    const setKeys = await keysOf(`${of}:suppressed:`);
    expect(setKeys).toEqual([...suppressed.keys()].map((scope) => `${of}:suppressed:${scope}`).sort());
    for (const [scope, phones] of suppressed) {
      expect((await admin.smembers(`${of}:suppressed:${scope}`)).sort()).toEqual(phones.sort());
    }
    const last = records[records.length - 1]?.position ?? START;
    expect(await admin.hget(`${of}:checkpoint`, '0')).toBe(String(last));
  }

  /** check() answers, for every phone and CHECKS, what effectiveState gives for the fold of `records`. */
  async function expectChecksAgree(view: RedisView, records: readonly LogRecord[]): Promise<void> {
    for (const [phone, own] of byPhone(records)) {
      const history = foldHistory(own);
      for (const [brand, program] of CHECKS) {
        const state = effectiveState(history, brand, program);
        const answer = await view.check(phone, brand, program);
        expect({ phone, brand, program, ...answer }).toEqual({
          phone,
          brand,
          program,
          status: state.status,
          allowed: state.allowed,
          since: state.cause?.occurredAt ?? null,
          eventId: state.cause?.eventId ?? null,
        });
        // The set-based variant: the union of the covering scopes' sets holds every phone the check suppresses.
        const listed = await Promise.all(
          coveringScopes(brand, program).map((scope) => admin.sismember(view.suppressedKey(scope), phone)),
        );
        if (!state.allowed)
          expect({ phone, brand, program, listed: listed.includes(1) }).toMatchObject({ listed: true });
      }
    }
  }

  describe('following the log', () => {
    it('shows a STOP in the rows hash and the suppressed set, and an opt-in lifts it', async () => {
      const view = await openView();
      const runner = run(view);

      await record(runner, optOut({ eventId: 'stop-1' }));
      expect(await rowsOf()).toEqual({ 'brand:acme': ['opted_out', false, T0, 'stop-1'] });
      expect(await suppressedIn('brand:acme')).toBe(true);
      expect(await admin.smembers(`${prefix}:scopes`)).toEqual(['brand:acme']);
      expect(await view.check(PHONE, 'acme')).toEqual({
        status: 'opted_out',
        allowed: false,
        since: T0,
        eventId: 'stop-1',
      });
      expect(await view.check(PHONE, 'beta')).toEqual({
        status: 'no_record',
        allowed: true,
        since: null,
        eventId: null,
      });

      await record(runner, optIn({ eventId: 'start-1', occurredAt: T0 + 60_000 }));
      expect(await rowsOf()).toEqual({ 'brand:acme': ['opted_in', true, T0 + 60_000, 'start-1'] });
      expect(await suppressedIn('brand:acme')).toBe(false);
      expect(await view.check(PHONE, 'acme', 'promo')).toMatchObject({ status: 'opted_in', allowed: true });
    });

    it('answers like the fold at every scope, keeping a stale opt-in from lifting a later opt-out', async () => {
      const view = await openView();
      const runner = run(view);
      const other = phoneNo(42);
      const events = [
        optOut({ eventId: 'global-out', scope: 'global', occurredAt: T0 }),
        optIn({ eventId: 'acme-in', scope: 'brand:acme', occurredAt: T0 + 1000 }),
        optOut({ eventId: 'promo-out', scope: 'program:acme/promo', occurredAt: T0 + 2000 }),
        // Arrives later on the log but happened before the opt-out in force: it lifts nothing.
        optIn({ eventId: 'promo-in-stale', scope: 'program:acme/promo', occurredAt: T0 + 1500 }),
        optOut({ phone: other, eventId: 'other-out', scope: 'brand:beta', occurredAt: T0 }),
        optIn({ phone: other, eventId: 'other-in-global', scope: 'global', occurredAt: T0 + 5000 }),
      ];
      const applied: LedgerEvent[] = [];
      for (const event of events) {
        await record(runner, event);
        applied.push(event);
        await expectChecksAgree(view, asRecords(applied));
      }

      expect(await view.check(PHONE, 'acme', 'promo')).toEqual({
        status: 'opted_out',
        allowed: false,
        since: T0 + 2000,
        eventId: 'promo-out',
      });
      expect(await view.check(PHONE, 'acme')).toMatchObject({ status: 'opted_in', eventId: 'acme-in' });
      expect(await view.check(PHONE, 'beta')).toMatchObject({ status: 'opted_out', eventId: 'global-out' });
      // A global opt-in leaves the brand's opt-out standing: it was recorded at a narrower scope.
      expect(await view.check(other, 'beta')).toMatchObject({ status: 'opted_out', allowed: false });
      expect(await view.check(other, 'gamma')).toMatchObject({ status: 'opted_in', allowed: true });
      expect(await suppressedIn('global')).toBe(true);
      expect(await suppressedIn('brand:acme')).toBe(false);
      expect(await suppressedIn('program:acme/promo')).toBe(true);
      expect(await suppressedIn('brand:beta', other)).toBe(true);
      await expectStoreIsFoldOf(await readAllEmbedded(log));
    });

    it('suppresses a suspected opt-out until a review decides it', async () => {
      const view = await openView();
      const runner = run(view);
      const confirmed = phoneNo(7);

      await record(runner, suspected({}), suspected({ phone: confirmed, eventId: 'suspected-2' }));
      expect(await view.check(PHONE, 'acme')).toMatchObject({ status: 'pending_review', allowed: false });
      expect(await suppressedIn('brand:acme')).toBe(true);
      expect(await suppressedIn('brand:acme', confirmed)).toBe(true);

      await record(
        runner,
        reviewed({ outcome: 'dismissed' }),
        reviewed({ phone: confirmed, eventId: 'review-2', resolves: 'suspected-2' }),
      );
      expect(await view.check(PHONE, 'acme')).toMatchObject({ status: 'no_record', allowed: true });
      expect(await suppressedIn('brand:acme')).toBe(false);
      expect(await view.check(confirmed, 'acme')).toMatchObject({ status: 'opted_out', allowed: false });
      expect(await suppressedIn('brand:acme', confirmed)).toBe(true);
      await expectStoreIsFoldOf(await readAllEmbedded(log));
    });

    it('folds a long mixed log into exactly the fold, batch by batch', async () => {
      const view = await openView();
      const runner = run(view);
      await record(runner, ...mixedEvents(3000, 200));
      const records = await readAllEmbedded(log);
      await expectStoreIsFoldOf(records);
      await expectChecksAgree(view, records);
    });
  });

  describe('replaying twice changes nothing', () => {
    it('leaves every key as it was after a second runner and a re-delivery of applied records', async () => {
      const view = await openView();
      const first = run(view);
      await record(first, ...mixedEvents(1500, 100));
      const records = await readAllEmbedded(log);
      const before = await dump();
      await first.stop();

      const again = await openView();
      const second = run(again, { group: 'second' });
      await second.whenReady();
      expect(second.cursor).toEqual([records[records.length - 1]?.position]);
      expect(await dump()).toEqual(before);

      for (let i = 0; i < records.length; i += 400) await again.applyBatch(records.slice(i, i + 400));
      await again.applyBatch(records);
      expect(await dump()).toEqual(before);
      await expectStoreIsFoldOf(records);
    });

    it('applies only the new part of a batch that overlaps what was applied', async () => {
      const view = await openView();
      const records = asRecords(mixedEvents(600, 50));
      await view.applyBatch(records.slice(0, 400));
      await view.applyBatch(records.slice(200, 600));
      await expectStoreIsFoldOf(records);
    });

    it('lets no writer overwrite another: a batch folded from facts read before a later write folds again', async () => {
      const one = await openView();
      const other = await openView();
      const records = asRecords(mixedEvents(2000, 30));
      for (let round = 0; round < 5; round += 1) {
        const upTo = (round + 1) * 400;
        await Promise.all([
          one.applyBatch(records.slice(0, upTo - 200)),
          other.applyBatch(records.slice(0, upTo)),
          one.applyBatch(records.slice(upTo - 300, upTo)),
        ]);
      }
      await expectStoreIsFoldOf(records);
    });

    it('applies 100,000 events in batches of 1,000 into exactly the fold', async () => {
      const view = await openView();
      const records = asRecords(mixedEvents(100_000, 5000, 11));
      for (let i = 0; i < records.length; i += 1000) await view.applyBatch(records.slice(i, i + 1000));
      await expectStoreIsFoldOf(records);
    }, 120_000);
  });

  describe('when Redis goes away', () => {
    it('rejects calls instead of hanging, reports unhealthy, then catches up with nothing lost or doubled', async () => {
      const proxy = new TcpProxy(REDIS_PORT);
      proxies.push(proxy);
      await proxy.up();
      const view = await openView(`redis://${proxy.url}/0`);
      const runner = run(view);
      await record(runner, ...mixedEvents(300, 40, 1));

      await proxy.down();
      await expect(view.check(PHONE, 'acme')).rejects.toThrow();
      await log.append(mixedEvents(200, 40, 2));
      const failing = await eventually(() => {
        const status = runner.status();
        expect(status).toMatchObject({ healthy: false, lastError: expect.any(String) as string });
        return status;
      }, SETTLE);
      expect(failing.lagEvents).toBeGreaterThan(0);
      // The log keeps taking events while the view is down.
      await log.append(mixedEvents(200, 40, 3));
      expect(runner.status()).toMatchObject({ healthy: false });

      await proxy.up();
      const last = await record(runner, ...mixedEvents(100, 40, 4));
      await eventually(() => expect(runner.status()).toMatchObject({ healthy: true, lagEvents: 0 }), SETTLE);
      expect(runner.cursor).toEqual([last]);
      const records = await readAllEmbedded(log);
      expect(records).toHaveLength(800);
      await expectStoreIsFoldOf(records);
    });

    it('fails open() with a clear error when Redis cannot be reached, and opens once it can', async () => {
      const proxy = new TcpProxy(REDIS_PORT);
      proxies.push(proxy);
      await proxy.up();
      const url = `redis://${proxy.url}/0`;
      await proxy.down();
      const view = new RedisView({ name: 'sms', url, prefix });
      views.push(view);
      await expect(view.open()).rejects.toMatchObject({ code: 'unavailable' });

      await proxy.up();
      await view.open();
      // A new store answers unknown until its runner has caught up with the log and vouched for it.
      expect(await view.check(PHONE, 'acme')).toMatchObject({ status: 'unknown', allowed: false });
      await view.vouch();
      expect(await view.check(PHONE, 'acme')).toMatchObject({ status: 'no_record' });
    });
  });

  describe('reconcile', () => {
    it('no longer yields a row deleted by hand; repair restores exactly the rows and set memberships', async () => {
      const view = await openView();
      const runner = run(view);
      const phone = phoneNo(3);
      await record(
        runner,
        ...mixedEvents(400, 20),
        optOut({ phone, eventId: 'x-global', scope: 'global', occurredAt: T0 + 1 }),
        optOut({ phone, eventId: 'x-promo', scope: 'program:acme/promo', occurredAt: T0 + 2 }),
      );
      const records = await readAllEmbedded(log);
      const before = await dump();
      const scopesOfPhone = Object.keys((await rowsOf(phone)) as object) as ScopeKey[];
      expect(scopesOfPhone).toEqual(expect.arrayContaining(['global', 'program:acme/promo']));

      await admin.hdel(`${prefix}:rows`, phone);
      for (const scope of scopesOfPhone) await admin.srem(`${prefix}:suppressed:${scope}`, phone);
      const yielded: string[] = [];
      for await (const row of view.rows()) yielded.push(`${row.phone} ${row.scope}`);
      expect(yielded.some((row) => row.startsWith(`${phone} `))).toBe(false);
      expect(new Set(yielded).size).toBe(yielded.length);

      await view.repair(phone, foldHistory(await log.readPhone(phone)));
      const repaired = await dump();
      const checkpoint = `${prefix}:checkpoint`;
      expect({ ...repaired, [checkpoint]: undefined }).toEqual({ ...before, [checkpoint]: undefined });
      // The checkpoint is untouched; only the repair count is new.
      expect(repaired[checkpoint]).toEqual({ ...(before[checkpoint] as object), repairs: '1' });
      await expectStoreIsFoldOf(records);
    });

    it('repair removes rows and memberships the log does not give', async () => {
      const view = await openView();
      const runner = run(view);
      const phone = phoneNo(5);
      await record(runner, optOut({ phone, eventId: 'p-out', scope: 'brand:acme' }));
      await admin.hset(
        `${prefix}:rows`,
        phone,
        JSON.stringify({
          'brand:acme': ['opted_out', false, T0, 'p-out'],
          'brand:ghost': ['opted_out', false, T0, 'ghost'],
        }),
      );
      await admin.sadd(`${prefix}:suppressed:brand:ghost`, phone);
      expect(await view.check(phone, 'ghost')).toMatchObject({ status: 'opted_out' });

      await view.repair(phone, foldHistory(await log.readPhone(phone)));
      expect(await view.check(phone, 'ghost')).toMatchObject({ status: 'no_record', allowed: true });
      expect(await suppressedIn('brand:ghost', phone)).toBe(false);
      await expectStoreIsFoldOf(await readAllEmbedded(log));

      // A runner that read the facts before the repair folds again from the repaired ones.
      await record(runner, optIn({ phone, eventId: 'p-in', scope: 'brand:acme', occurredAt: T0 + 10 }));
      await expectStoreIsFoldOf(await readAllEmbedded(log));
    });

    it('repair with an empty history removes a phone the log knows nothing of', async () => {
      const view = await openView();
      const runner = run(view);
      await record(runner, optOut({ phone: phoneNo(1), scope: 'global' }));
      const before = await dump();
      await admin.hset(
        `${prefix}:rows`,
        PHONE,
        JSON.stringify({ global: ['opted_out', false, T0, 'made-up'] }),
      );
      await admin.sadd(`${prefix}:suppressed:global`, PHONE);
      expect(await view.check(PHONE, 'acme')).toMatchObject({ status: 'opted_out', allowed: false });

      await view.repair(PHONE, foldHistory(await log.readPhone(PHONE)));
      expect(await view.check(PHONE, 'acme')).toMatchObject({ status: 'no_record', allowed: true });
      const checkpoint = `${prefix}:checkpoint`;
      expect({ ...(await dump()), [checkpoint]: undefined }).toEqual({ ...before, [checkpoint]: undefined });
    });

    it('refuses a history older than what the view holds, changing nothing', async () => {
      const view = await openView();
      const runner = run(view);
      await record(runner, optOut({ scope: 'global' }));
      const stale = foldHistory(await log.readPhone(PHONE));
      await record(runner, optOut({ eventId: 'later-out', scope: 'brand:beta', occurredAt: T0 + 1 }));
      const before = await dump();

      await expect(view.repair(PHONE, stale)).rejects.toMatchObject({ code: 'invalid_request' });
      expect(await dump()).toEqual(before);
      await view.repair(PHONE, foldHistory(await log.readPhone(PHONE)));
      await expectStoreIsFoldOf(await readAllEmbedded(log));
    });

    it('repairs a phone whose stored facts are unreadable, which a batch refuses to fold', async () => {
      const view = await openView();
      const runner = run(view);
      await record(runner, optOut());
      await admin.hset(`${prefix}:facts`, PHONE, 'not json');

      await log.append([optIn({ occurredAt: T0 + 1 })]);
      await eventually(
        () =>
          expect(runner.status()).toMatchObject({
            healthy: false,
            lastError: expect.stringContaining(PHONE) as string,
          }),
        SETTLE,
      );
      await view.repair(PHONE, foldHistory(await log.readPhone(PHONE)));
      await eventually(() => expect(runner.status()).toMatchObject({ healthy: true, lagEvents: 0 }), SETTLE);
      await expectStoreIsFoldOf(await readAllEmbedded(log));
    });
  });

  describe('rebuild', () => {
    it('fills staging from the log and promotes it in one step, reads never missing', async () => {
      const view = await openView();
      const live = run(view);
      const stopped = phoneNo(9);
      await record(live, ...mixedEvents(1000, 60), optOut({ phone: stopped, scope: 'global' }));
      const records = await readAllEmbedded(log);
      // Something only the live store has: a set for a scope the log never suppressed at.
      await admin.sadd(`${prefix}:suppressed:brand:ghost`, phoneNo(1));
      await admin.sadd(`${prefix}:scopes`, 'brand:ghost');
      await live.stop();

      const staging = await view.staging();
      const rebuild = new ProjectorRunner(log, staging, { retry: FAST_RETRY, group: 'rebuild' });
      runners.push(rebuild);
      rebuild.start();
      await rebuild.whenReady();
      await rebuild.stop();
      await expectStoreIsFoldOf(records, `${prefix}~staging`);

      let reading = true;
      const answers: string[] = [];
      const reader = (async () => {
        while (reading) {
          const answer = await view.check(stopped, 'acme', 'promo');
          answers.push(`${answer.status} ${answer.allowed}`);
        }
      })();
      await eventually(() => expect(answers.length).toBeGreaterThan(10));
      await staging.promote();
      const promotedAt = answers.length;
      await eventually(() => expect(answers.length).toBeGreaterThan(promotedAt + 10));
      reading = false;
      await reader;

      expect(new Set(answers)).toEqual(new Set(['opted_out false']));
      expect(await keysOf(`${prefix}~`)).toEqual([]);
      expect(await admin.exists(`${prefix}:suppressed:brand:ghost`)).toBe(0);
      await expectStoreIsFoldOf(records);
      await expectChecksAgree(view, records);

      // The live view goes on from the promoted checkpoint.
      const next = run(view);
      await record(next, optIn({ phone: stopped, scope: 'global', occurredAt: T0 + 10_000_000 }));
      await expectStoreIsFoldOf(await readAllEmbedded(log));
    });

    it('starts staging empty, whatever an unfinished rebuild left', async () => {
      const view = await openView();
      const first = await view.staging();
      await first.applyBatch(asRecords(mixedEvents(100, 10)));
      expect((await keysOf(`${prefix}~staging:`)).length).toBeGreaterThan(3);

      const second = await view.staging();
      expect(await keysOf(`${prefix}~staging:`)).toEqual([]);
      expect(await second.checkpoint(0)).toBe(START);
    });
  });

  describe('when the store loses its data', () => {
    /** A runner that verifies the store often, with every error it reports. */
    function watched(view: RedisView, verifyEveryMs = 20): { runner: ProjectorRunner; errors: string[] } {
      const errors: string[] = [];
      const runner = run(view, {
        verifyEveryMs,
        onError: (error) => errors.push(error instanceof Error ? error.message : String(error)),
      });
      return { runner, errors };
    }

    it('a flushed store answers unknown while idle, then replays by itself and is ready again', async () => {
      const view = await openView();
      // Verified each second: the check below comes first, and must not answer from the lost store.
      const { runner, errors } = watched(view, 1000);
      await record(runner, optOut({ scope: 'global' }), optOut({ phone: phoneNo(2) }));
      expect(await view.check(PHONE, 'acme')).toMatchObject({ status: 'opted_out', allowed: false });

      // What a Redis restart without persistence or a FLUSHDB does; no event follows.
      await admin.unlink(...(await keysOf(prefix)));

      await expect(view.check(PHONE, 'acme')).rejects.toBeInstanceOf(StoreLost);
      await eventually(
        () => expect(errors.join('\n')).toMatch(/store lost data \(its keys in Redis are gone\)/),
        SETTLE,
      );
      await eventually(async () => {
        expect(runner.status()).toMatchObject({ ready: true, healthy: true });
        expect(await view.check(PHONE, 'acme')).toMatchObject({ status: 'opted_out', allowed: false });
      }, SETTLE);
      await record(runner, optIn({ phone: phoneNo(2), occurredAt: T0 + 5 }));
      await expectStoreIsFoldOf(await readAllEmbedded(log));
    });

    it('while it replays after a loss, it answers unknown, not the no_record of an opt-out not yet replayed', async () => {
      const view = await openView();
      const runner = run(view);
      await record(runner, optIn({ phone: phoneNo(3) }), optOut({ scope: 'global' }));
      await runner.stop();

      // What the runner does on a loss, then the replay's first batch, which does not yet hold the STOP.
      await view.reset();
      const [first] = await readAllEmbedded(log);
      if (first === undefined) throw new Error('the log is empty');
      await view.applyBatch([first]);
      const replaying = {
        status: 'unknown',
        allowed: false,
        reason: expect.stringMatching(/replaying/) as string,
      };
      expect(await view.check(PHONE, 'acme')).toMatchObject(replaying);
      expect(await view.check(phoneNo(3), 'acme')).toMatchObject(replaying);
      // What a sender reading Redis directly is told to read first (docs: the `ready` field).
      expect(await admin.hget(`${prefix}:checkpoint`, 'ready')).toBeNull();

      // A new runner replays the log, vouches for the store, and only then answers from it.
      const again = run(view, { group: 'again' });
      await again.whenReady();
      expect(await admin.hget(`${prefix}:checkpoint`, 'ready')).toBe('1');
      expect(await view.check(PHONE, 'acme')).toMatchObject({ status: 'opted_out', allowed: false });
      expect(await view.check(phoneNo(3), 'acme')).toMatchObject({ status: 'opted_in', allowed: true });
    });

    it('reports the view not ready and unhealthy, saying why, until the replay has caught up', async () => {
      const view = await openView();
      await view.applyBatch(asRecords([optOut({ scope: 'global' })]));
      const statuses: string[] = [];
      // A slow store: the replay takes a while, so its status can be seen.
      const slow = new (class extends RedisView {
        override async applyBatch(records: readonly LogRecord[]): Promise<void> {
          statuses.push(JSON.stringify(runner.status()));
          await new Promise((resolve) => setTimeout(resolve, 20));
          await super.applyBatch(records);
        }
      })({ name: 'sms', url: REDIS_URL, prefix });
      views.push(slow);
      await slow.open();
      await log.append([optOut({ scope: 'global' }), optOut({ phone: phoneNo(2) })]);
      const runner = run(slow, { verifyEveryMs: 20 });
      await runner.whenReady();

      await admin.unlink(...(await keysOf(prefix)));
      await eventually(() => expect(runner.status().ready).toBe(false), SETTLE);
      expect(runner.status()).toMatchObject({
        healthy: false,
        lastError: expect.stringMatching(/lost data/) as string,
      });
      await eventually(() => expect(runner.status()).toMatchObject({ ready: true, healthy: true }), SETTLE);
      expect(runner.status().lastError).toBeUndefined();
      expect(statuses.some((status) => status.includes('lost data'))).toBe(true);
      await expectStoreIsFoldOf(await readAllEmbedded(log));
    });

    it('notices one hash evicted on its own, and a checkpoint moved back, at the next batch', async () => {
      const view = await openView();
      const { runner, errors } = watched(view);
      await record(runner, optOut({ scope: 'global' }), optOut({ phone: phoneNo(2) }));

      await admin.unlink(`${prefix}:rows`);
      await expect(view.check(PHONE, 'acme')).rejects.toBeInstanceOf(StoreLost);
      await eventually(() => expect(errors.join('\n')).toMatch(/1 of its hashes in Redis are gone/), SETTLE);
      await eventually(() => expect(runner.status()).toMatchObject({ ready: true, healthy: true }), SETTLE);
      await expectStoreIsFoldOf(await readAllEmbedded(log));

      await admin.hset(`${prefix}:checkpoint`, '0', '1');
      await record(runner, optIn({ phone: phoneNo(2), occurredAt: T0 + 5 }));
      expect(errors.join('\n')).toMatch(/checkpoint of partition 0 went back from 2 to 1/);
      await eventually(() => expect(runner.status()).toMatchObject({ ready: true, healthy: true }), SETTLE);
      await expectStoreIsFoldOf(await readAllEmbedded(log));
    });
  });

  describe('quarantine', () => {
    it('answers unknown for the phone of an unreadable record only, and advances the checkpoint once', async () => {
      const view = await openView();
      const other = phoneNo(8);
      const records = asRecords([optOut({ phone: other }), optIn({ occurredAt: T0 + 5 })]);
      await view.applyBatch(records);
      await view.vouch(); // what its runner does once caught up with the log

      await view.quarantine({ partition: 0, position: asPosition(3), key: PHONE, reason: 'bad magic byte' });
      expect(await view.check(PHONE, 'acme')).toEqual({
        status: 'unknown',
        allowed: false,
        since: null,
        eventId: null,
        quarantined: 'bad magic byte',
      });
      expect(await view.check(other, 'acme')).toMatchObject({ status: 'opted_out', allowed: false });
      expect(await view.check(phoneNo(9), 'acme')).toMatchObject({ status: 'no_record', allowed: true });
      expect(await view.checkpoint(0)).toBe(3);

      const after = await dump();
      await view.quarantine({ partition: 0, position: asPosition(3), key: PHONE, reason: 'again' });
      await view.quarantine({ partition: 0, position: asPosition(2), key: phoneNo(9), reason: 'old' });
      expect(await dump()).toEqual(after);

      await view.quarantine({ partition: 0, position: asPosition(4), key: null, reason: 'no key' });
      expect(await view.checkpoint(0)).toBe(4);
      expect(await admin.hlen(`${prefix}:quarantine`)).toBe(1);
    });
  });
});
