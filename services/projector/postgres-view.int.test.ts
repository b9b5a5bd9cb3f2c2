import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import pg from 'pg';
import {
  asPosition,
  effectiveState,
  foldHistory,
  isE164,
  scopeStates,
  START,
  type E164,
  type LedgerEvent,
  type PhoneHistory,
  type ScopeKey,
} from '../ledger/index.js';
import { EmbeddedEventLog, type LogRecord } from '../log/index.js';
import { PostgresView, senderSql, type PostgresViewOptions } from './postgres-view.js';
import { ProjectorRunner, StoreLost, type RunnerOptions } from './runner.js';
import type { ScopeRow, ViewAnswer } from './system-view.js';
import { eventually } from '../../test/support/eventually.js';
import { freshDir, phoneNo, readAllEmbedded } from '../../test/support/event-log-contract.js';
import { confirmation, optIn, optOut, reviewed, suspected, T0 } from '../../test/support/given.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';

const HOST = '127.0.0.1:5432';
const DATABASE = `postgres://postgres@${HOST}/test`;
const FAST_RETRY = { initialMs: 10, maxMs: 200 };
/** Generous: PostgreSQL answers in milliseconds, so only a failing test waits this long. */
const SETTLE = { timeoutMs: 15_000, intervalMs: 10 };

/** Every (brand, program?) a test checks a phone for: the rules differ at each. */
const CHECKS: readonly (readonly [string, string?])[] = [
  ['acme'],
  ['acme', 'promo'],
  ['acme', 'alerts'],
  ['other'],
  ['other', 'promo'],
];

/** A phone's effective state per the fold, as a view answers it. */
function folded(history: PhoneHistory, brand: string, program?: string): ViewAnswer {
  const state = effectiveState(history, brand, program);
  return {
    status: state.status,
    allowed: state.allowed,
    since: state.cause?.occurredAt ?? null,
    eventId: state.cause?.eventId ?? null,
  };
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

const rowOrder = (a: ScopeRow, b: ScopeRow): number =>
  a.phone < b.phone ? -1 : a.phone > b.phone ? 1 : a.scope < b.scope ? -1 : a.scope > b.scope ? 1 : 0;

/** The rows a view must hold for these records: `scopeStates` of each phone's fold. */
function expectedRows(records: readonly LogRecord[]): ScopeRow[] {
  const rows: ScopeRow[] = [];
  for (const [phone, list] of byPhone(records)) {
    for (const [scope, state] of scopeStates(foldHistory(list))) {
      rows.push({
        phone,
        scope,
        status: state.status,
        allowed: state.allowed,
        since: state.cause?.occurredAt ?? null,
        eventId: state.cause?.eventId ?? null,
      });
    }
  }
  return rows.sort(rowOrder);
}

async function collect(view: PostgresView): Promise<ScopeRow[]> {
  const rows: ScopeRow[] = [];
  for await (const row of view.rows()) rows.push(row);
  return rows.sort(rowOrder);
}

/** A deterministic pseudo-random sequence in [0, 1) (mulberry32), so a failing mix can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** `count` consent events over `phones` phones at mixed scopes and times, ids unique to this run. */
function mixedEvents(count: number, phones: readonly E164[], seed = 1): LedgerEvent[] {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const scopes: readonly ScopeKey[] = [
    'global',
    'brand:acme',
    'brand:acme',
    'brand:other',
    'program:acme/promo',
    'program:acme/alerts',
  ];
  const run = randomUUID().slice(0, 8);
  return Array.from({ length: count }, (_, i) => {
    const fields = {
      phone: pick(phones),
      scope: pick(scopes),
      // Out of order on purpose: late opt-ins older than the opt-out in force must not lift it.
      occurredAt: T0 + Math.floor(next() * 100_000),
      eventId: `mix-${run}-${i}`,
    };
    const kind = next();
    return kind < 0.45 ? optOut(fields) : kind < 0.85 ? optIn(fields) : suspected(fields);
  });
}

describe('PostgresView against PostgreSQL', () => {
  let admin: pg.Client;
  let dir: string;
  let log: EmbeddedEventLog;
  let prefixes: string[];
  let closers: (() => Promise<void>)[];

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: DATABASE });
    await admin.connect();
  });

  afterAll(async () => {
    await admin.end();
  });

  beforeEach(() => {
    dir = freshDir('ledger-pg-view-');
    log = EmbeddedEventLog.open(dir);
    prefixes = [];
    closers = [];
  });

  afterEach(async () => {
    // Runners first, then views, then the log: last opened, first closed.
    for (const close of closers.reverse()) await close();
    await log.close();
    rmSync(dir, { recursive: true, force: true });
    for (const prefix of prefixes) {
      const { rows } = await admin.query<{ name: string }>(
        `SELECT quote_ident(tablename) AS name FROM pg_tables
          WHERE schemaname = 'public' AND left(tablename, length($1)) = $1`,
        [`${prefix}_`],
      );
      if (rows.length > 0) await admin.query(`DROP TABLE ${rows.map((row) => row.name).join(', ')}`);
    }
  });

  /** A view on tables of its own (a fresh prefix unless given), opened; closed after the test. */
  async function openView(options: Partial<PostgresViewOptions> = {}): Promise<PostgresView> {
    const table = options.table ?? `t_${randomUUID().slice(0, 8)}`;
    if (!prefixes.includes(table)) prefixes.push(table);
    const view = new PostgresView({ name: `pg-${table}`, connectionString: DATABASE, ...options, table });
    closers.push(() => view.close());
    await view.open();
    return view;
  }

  function feed(view: PostgresView, options: RunnerOptions = {}): ProjectorRunner {
    const runner = new ProjectorRunner(log, view, { retry: FAST_RETRY, ...options });
    closers.push(() => runner.stop());
    runner.start();
    return runner;
  }

  async function caughtUp(runner: ProjectorRunner): Promise<void> {
    expect(await runner.waitFor([{ partition: 0, position: log.last }], SETTLE.timeoutMs)).toBe(true);
    // Ready once the store is marked as holding the whole log (until then senders get unknown).
    await runner.whenReady();
  }

  /** Every table of a view, in key order, exactly as PostgreSQL holds it. */
  async function dump(prefix: string): Promise<Record<string, unknown[]>> {
    const tables: Record<string, string> = {
      checkpoint: 'partition',
      facts: 'phone',
      events: 'partition, position',
      suppressions: 'phone, scope',
      quarantine: 'partition, position',
    };
    const dumped: Record<string, unknown[]> = {};
    for (const [table, key] of Object.entries(tables)) {
      const { rows } = await admin.query(`SELECT * FROM "${prefix}_${table}" ORDER BY ${key}`);
      dumped[table] = rows;
    }
    return dumped;
  }

  /** The view holds exactly the fold of the whole log: rows, facts and every event once. */
  async function expectFoldOfLog(view: PostgresView, prefix: string): Promise<void> {
    const records = await readAllEmbedded(log);
    expect(await collect(view)).toEqual(expectedRows(records));
    const facts = await admin.query<{ phone: E164; history: PhoneHistory }>(
      `SELECT phone, history FROM "${prefix}_facts"`,
    );
    const histories = new Map([...byPhone(records)].map(([phone, list]) => [phone, foldHistory(list)]));
    expect(new Map(facts.rows.map((row) => [row.phone, row.history]))).toEqual(
      new Map([...histories].filter(([, history]) => history.length > 0)),
    );
    const events = await admin.query<{ position: string }>(
      `SELECT position FROM "${prefix}_events" ORDER BY partition, position`,
    );
    expect(events.rows.map((row) => Number(row.position))).toEqual(records.map((r) => r.position));
    expect(await view.checkpoint(0)).toBe(log.last);
  }

  describe('naming and opening', () => {
    it('derives a safe table prefix from the name and quotes it', () => {
      const sql = senderSql({ name: 'CRM East-1' });
      expect(sql.check).toContain('"public"."ledger_crm_east_1_suppressions"');
      expect(senderSql({ name: 'x', table: 'sends', schema: 'crm' }).campaign('campaign')).toContain(
        '"crm"."sends_suppressions"',
      );
    });

    it('refuses a prefix PostgreSQL would truncate or that needs quoting to mean what it says', () => {
      expect(() => senderSql({ name: 'x', table: 'Bad-Name' })).toThrow(/table prefix "Bad-Name"/);
      expect(() => senderSql({ name: 'x'.repeat(40) })).toThrow(/set "table"/);
    });
    it('opens an existing store, and the same new store from two processes at once', async () => {
      const table = `t_${randomUUID().slice(0, 8)}`;
      const [first, second] = await Promise.all([openView({ table }), openView({ table })]);
      const phone = phoneNo(1);
      await first.applyBatch([{ partition: 0, position: asPosition(1), event: optOut({ phone }) }]);
      // What a runner does once caught up with the log; a store fed by hand holds it all here.
      await first.vouch();
      await second.open();
      expect(await second.check(phone, 'acme')).toMatchObject({ status: 'opted_out', allowed: false });
      expect(await second.checkpoint(0)).toBe(1);
    });
  });

  describe('projecting the log', () => {
    it('puts a STOP in the suppressions table at once and lifts it with a later opt-in', async () => {
      const view = await openView();
      const runner = feed(view);
      const phone = phoneNo(1);
      const stop = optOut({ phone });
      await log.append([stop]);

      await eventually(
        async () =>
          expect(await view.check(phone, 'acme')).toEqual({
            status: 'opted_out',
            allowed: false,
            since: T0,
            eventId: stop.eventId,
          }),
        SETTLE,
      );
      const stored = await admin.query(
        `SELECT phone, scope, specificity, brand, program, status, allowed, since, event_id
           FROM "${prefixes[0]}_suppressions"`,
      );
      expect(stored.rows).toEqual([
        {
          phone,
          scope: 'brand:acme',
          specificity: 1,
          brand: 'acme',
          program: null,
          status: 'opted_out',
          allowed: false,
          since: new Date(T0),
          event_id: stop.eventId,
        },
      ]);
      expect(await view.check(phone, 'acme', 'promo')).toMatchObject({ status: 'opted_out', allowed: false });
      expect(await view.check(phone, 'other')).toEqual({
        status: 'no_record',
        allowed: true,
        since: null,
        eventId: null,
      });

      await log.append([optIn({ phone, occurredAt: T0 + 1000 })]);
      await eventually(
        async () =>
          expect(await view.check(phone, 'acme')).toMatchObject({ status: 'opted_in', allowed: true }),
        SETTLE,
      );
      expect(runner.status()).toMatchObject({ healthy: true, ready: true });
    });

    it('answers every check as the fold does: scopes, the stale opt-in rule, reviews', async () => {
      const view = await openView();
      const runner = feed(view);
      const globalOut = phoneNo(1);
      const staleIn = phoneNo(2);
      const programOut = phoneNo(3);
      const programIn = phoneNo(4);
      const review = phoneNo(5);
      const dismissed = phoneNo(6);
      const confirmedOnly = phoneNo(7);
      const backIn = phoneNo(8);
      const suspectedOut = suspected({ phone: review });
      const suspectedNot = suspected({ phone: dismissed });
      await log.append([
        // Out everywhere, then back in for acme only.
        optOut({ phone: globalOut, scope: 'global' }),
        optIn({ phone: globalOut, scope: 'brand:acme', occurredAt: T0 + 10 }),
        // An opt-in that arrives late but was said before the opt-out in force lifts nothing.
        optOut({ phone: staleIn, occurredAt: T0 + 5000 }),
        optIn({ phone: staleIn, occurredAt: T0 + 1000 }),
        optOut({ phone: programOut, scope: 'program:acme/promo' }),
        optOut({ phone: programIn }),
        optIn({ phone: programIn, scope: 'program:acme/promo', occurredAt: T0 + 10 }),
        suspectedOut,
        suspectedNot,
        confirmation({ phone: confirmedOnly }),
        optOut({ phone: backIn, scope: 'global' }),
        optIn({ phone: backIn, scope: 'global', occurredAt: T0 + 10 }),
      ]);
      await caughtUp(runner);
      expect(await view.check(review, 'acme')).toMatchObject({ status: 'pending_review', allowed: false });

      await log.append([
        reviewed({ phone: review, resolves: suspectedOut.eventId }),
        reviewed({ phone: dismissed, resolves: suspectedNot.eventId, outcome: 'dismissed' }),
      ]);
      await caughtUp(runner);
      expect(await view.check(review, 'acme')).toMatchObject({ status: 'opted_out', allowed: false });
      expect(await view.check(dismissed, 'acme')).toMatchObject({ status: 'no_record', allowed: true });
      expect(await view.check(staleIn, 'acme')).toMatchObject({ status: 'opted_out', allowed: false });
      expect(await view.check(globalOut, 'acme')).toMatchObject({ status: 'opted_in', allowed: true });
      expect(await view.check(globalOut, 'other')).toMatchObject({ status: 'opted_out', allowed: false });

      for (const phone of [
        globalOut,
        staleIn,
        programOut,
        programIn,
        review,
        dismissed,
        confirmedOnly,
        backIn,
      ]) {
        const history = foldHistory(await log.readPhone(phone));
        for (const [brand, program] of CHECKS) {
          expect({ phone, brand, program, answer: await view.check(phone, brand, program) }).toEqual({
            phone,
            brand,
            program,
            answer: folded(history, brand, program),
          });
        }
      }
      await expectFoldOfLog(view, prefixes[0] ?? '');
    });

    it('changes nothing when the log is replayed again', async () => {
      const view = await openView();
      const prefix = prefixes[0] ?? '';
      const phones = Array.from({ length: 40 }, (_, i) => phoneNo(i));
      // More than one batch of the embedded log (2000), with confirmations and reviews among them.
      await log.append(mixedEvents(4500, phones));
      const doubt = suspected({ phone: phoneNo(4), eventId: `doubt-${randomUUID()}` });
      await log.append([
        doubt,
        confirmation({ phone: phoneNo(3) }),
        reviewed({ phone: phoneNo(4), resolves: doubt.eventId }),
      ]);
      const first = feed(view);
      await caughtUp(first);
      const before = await dump(prefix);
      await first.stop();

      // A second process on the same tables resumes from the stored checkpoint.
      const again = await openView({ table: prefix });
      const second = feed(again, { group: 'second' });
      await second.whenReady();
      expect(second.cursor).toEqual([log.last]);
      expect(await dump(prefix)).toEqual(before);

      // Re-delivery of records already applied, whole or in overlapping batches.
      const records = await readAllEmbedded(log);
      await again.applyBatch(records);
      await again.applyBatch(records.slice(1000, 3000));
      await again.applyBatch(records.slice(-10));
      expect(await dump(prefix)).toEqual(before);
      await expectFoldOfLog(again, prefix);
    });

    it('loses and doubles nothing when PostgreSQL goes away mid-stream, and catches up after', async () => {
      const proxy = new TcpProxy(5432);
      await proxy.up();
      closers.push(() => proxy.down());
      const view = await openView({ connectionString: `postgres://postgres@${proxy.url}/test` });
      const runner = feed(view);
      const phones = Array.from({ length: 60 }, (_, i) => phoneNo(i));

      let writing = true;
      let seed = 0;
      const writer = (async () => {
        while (writing) {
          seed += 1;
          await log.append(mixedEvents(5, phones, seed));
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      try {
        await eventually(() => expect(runner.cursor[0] ?? START).toBeGreaterThan(100), SETTLE);

        await proxy.down();
        const status = await eventually(() => {
          const now = runner.status();
          expect(now).toMatchObject({ healthy: false, lastError: expect.any(String) as string });
          return now;
        }, SETTLE);
        expect(status.lastError).not.toBe('');
        const whileDown = log.last;
        // The log keeps taking events while the view's store is away.
        await eventually(() => expect(log.last).toBeGreaterThan(whileDown + 200), SETTLE);
        await expect(view.check(phoneNo(1), 'acme')).rejects.toThrow();
        expect(runner.healthy).toBe(false);

        await proxy.up();
      } finally {
        writing = false;
        await writer;
      }
      await caughtUp(runner);
      await eventually(() => expect(runner.status()).toMatchObject({ healthy: true, lagEvents: 0 }), SETTLE);
      await expectFoldOfLog(view, prefixes[0] ?? '');
    });
  });

  describe('reading the view back', () => {
    it('repairs a row deleted by hand to exactly what the fold gives', async () => {
      const view = await openView();
      const prefix = prefixes[0] ?? '';
      const runner = feed(view);
      const phone = phoneNo(7);
      await log.append([
        optOut({ phone, scope: 'global' }),
        optIn({ phone, scope: 'brand:acme', occurredAt: T0 + 10 }),
        optOut({ phone, scope: 'program:acme/promo', occurredAt: T0 + 20 }),
        optOut({ phone: phoneNo(8) }),
      ]);
      await caughtUp(runner);
      const whole = await collect(view);
      const checkpoint = await view.checkpoint(0);

      await admin.query(`DELETE FROM "${prefix}_suppressions" WHERE phone = $1 AND scope = 'global'`, [
        phone,
      ]);
      await admin.query(
        `INSERT INTO "${prefix}_suppressions" (phone, scope, specificity, status, allowed, updated_at)
         VALUES ($1, 'brand:bogus', 1, 'opted_in', true, now())`,
        [phone],
      );
      await admin.query(`UPDATE "${prefix}_facts" SET history = '[]' WHERE phone = $1`, [phone]);
      const damaged = await collect(view);
      expect(damaged.some((row) => row.phone === phone && row.scope === 'global')).toBe(false);
      expect(damaged).toHaveLength(whole.length);

      const history = foldHistory(await log.readPhone(phone));
      await view.repair(phone, history);

      expect(await collect(view)).toEqual(whole);
      await expectFoldOfLog(view, prefix);
      expect(await view.checkpoint(0)).toBe(checkpoint);
    });

    it('repairs a phone the log knows nothing of to no rows at all', async () => {
      const view = await openView();
      await view.vouch();
      const phone = phoneNo(9);
      await view.repair(phone, foldHistory([{ position: asPosition(1), event: optOut({ phone }) }]));
      expect(await collect(view)).toHaveLength(1);
      await view.repair(phone, []);
      expect(await collect(view)).toEqual([]);
      expect(await view.check(phone, 'acme')).toMatchObject({ status: 'no_record', allowed: true });
    });

    it('reads every row, past its page size', async () => {
      const view = await openView();
      const records: LogRecord[] = Array.from({ length: 12_345 }, (_, i) => ({
        partition: 0,
        position: asPosition(i + 1),
        event: optOut({ phone: `+1415${String(2_000_000 + i)}` as E164, eventId: `page-${i}` }),
      }));
      await view.applyBatch(records);
      const rows = await collect(view);
      expect(rows).toHaveLength(records.length);
      expect(rows).toEqual(expectedRows(records));
    });

    it("returns a phone's events in log order, exactly as the log holds them", async () => {
      const view = await openView();
      const runner = feed(view);
      const [a, b, c] = [phoneNo(1), phoneNo(2), phoneNo(3)];
      const doubt = suspected({ phone: b, evidence: { rawText: 'pls no more', confidence: 0.6 } });
      await log.append([
        optOut({ phone: a, evidence: { rawText: 'STOP', messageId: 'SM1', confidence: 1 } }),
        doubt,
        confirmation({ phone: a }),
        optIn({ phone: a, scope: 'program:acme/promo', occurredAt: T0 + 5 }),
        reviewed({
          phone: b,
          resolves: doubt.eventId,
          evidence: { agentId: 'agent-7', note: 'clear revocation' },
        }),
        optOut({ phone: a, scope: 'global', occurredAt: T0 + 9, source: 'call_centre', channel: 'voice' }),
      ]);
      await caughtUp(runner);

      for (const phone of [a, b]) {
        const fromLog = await log.readPhone(phone);
        expect(fromLog.length).toBeGreaterThan(1);
        expect(await view.readPhone(phone)).toEqual(fromLog);
      }
      expect(await view.readPhone(c)).toEqual([]);
    });

    it('runs the sender SQL: one check, and a campaign anti-join that follows the most specific row', async () => {
      const view = await openView();
      const prefix = prefixes[0] ?? '';
      const runner = feed(view);
      const phones = Array.from({ length: 300 }, (_, i) => phoneNo(i));
      await log.append(mixedEvents(900, phones, 42));
      // Phones 300-319 have no events at all; 320 has only an unreadable record.
      const quiet = Array.from({ length: 20 }, (_, i) => phoneNo(300 + i));
      await caughtUp(runner);
      await view.quarantine({
        partition: 0,
        position: asPosition(log.last + 1),
        key: phoneNo(320),
        reason: 'bad',
      });

      const campaign = `${prefix}_campaign`;
      await admin.query(`CREATE TABLE "${campaign}" (phone text PRIMARY KEY)`);
      await admin.query(`INSERT INTO "${campaign}" SELECT unnest($1::text[])`, [
        [...phones, ...quiet, phoneNo(320)],
      ]);
      const histories = byPhone(await readAllEmbedded(log));
      const historyOf = (phone: E164): PhoneHistory => foldHistory(histories.get(phone) ?? []);

      for (const [brand, program] of CHECKS) {
        const reached = await admin.query<{ phone: string }>(view.sql.campaign(campaign), [
          brand,
          program ?? null,
        ]);
        const expected = [...phones, ...quiet].filter(
          (phone) => effectiveState(historyOf(phone), brand, program).allowed,
        );
        expect({ brand, program, phones: reached.rows.map((row) => row.phone).sort() }).toEqual({
          brand,
          program,
          phones: expected.sort(),
        });
        // Some are suppressed and some are not, so the comparison says something.
        expect(expected.length).toBeGreaterThan(20);
        expect(expected.length).toBeLessThan(phones.length);
      }

      for (const phone of phones.slice(0, 60)) {
        for (const [brand, program] of CHECKS) {
          const single = await admin.query<{ allowed: boolean; status: string }>(view.sql.check, [
            phone,
            brand,
            program ?? null,
          ]);
          const state = effectiveState(historyOf(phone), brand, program);
          expect(single.rows).toMatchObject([{ allowed: state.allowed, status: state.status }]);
        }
      }
      const blocked = await admin.query(view.sql.check, [phoneNo(320), 'acme', null]);
      expect(blocked.rows).toEqual([
        { allowed: false, status: 'unknown', since: null, event_id: null, quarantined: 'bad', reason: null },
      ]);
    });
  });

  describe('quarantine', () => {
    it('fails closed for the phone of an unreadable record and moves the checkpoint past it', async () => {
      const view = await openView();
      const phone = phoneNo(1);
      await view.quarantine({
        partition: 0,
        position: asPosition(5),
        key: phone,
        reason: 'unknown schema id 99',
      });

      expect(await view.check(phone, 'acme')).toEqual({
        status: 'unknown',
        allowed: false,
        since: null,
        eventId: null,
        quarantined: 'unknown schema id 99',
      });
      expect(await view.checkpoint(0)).toBe(5);
      expect(await view.checkpoint(1)).toBe(START);
      // The other phones answer unknown too until the store is vouched for as holding the whole log.
      expect(await view.check(phoneNo(2), 'acme')).toMatchObject({ status: 'unknown', allowed: false });
      await view.vouch(); // what its runner does once caught up with the log

      // At or below the checkpoint: already handled, so ignored.
      await view.quarantine({ partition: 0, position: asPosition(3), key: phoneNo(2), reason: 'late' });
      expect(await view.check(phoneNo(2), 'acme')).toMatchObject({ status: 'no_record' });
      // A readable opt-in after it does not lift the quarantine; records up to it are skipped.
      await view.applyBatch(
        [optOut({ phone: phoneNo(3) }), optIn({ phone, occurredAt: T0 + 1 })].map((event, i) => ({
          partition: 0,
          position: asPosition(4 + i * 2),
          event,
        })),
      );
      expect(await view.checkpoint(0)).toBe(6);
      expect(await view.check(phoneNo(3), 'acme')).toMatchObject({ status: 'no_record' });
      expect(await view.check(phone, 'acme')).toMatchObject({ status: 'unknown', allowed: false });
    });
  });

  describe('rebuild through staging tables', () => {
    it('promotes a rebuilt copy while senders keep checking: no check ever fails', async () => {
      const view = await openView();
      const prefix = prefixes[0] ?? '';
      const runner = feed(view);
      const phones = Array.from({ length: 50 }, (_, i) => phoneNo(i));
      await log.append(mixedEvents(3000, phones, 7));
      await caughtUp(runner);
      const whole = await collect(view);
      // Damage the live table: the rebuild must not carry it over.
      await admin.query(`DELETE FROM "${prefix}_suppressions" WHERE phone = $1`, [phoneNo(1)]);
      const sender = await openView({ table: prefix });

      for (let round = 0; round < 2; round += 1) {
        const staged = await view.staging();
        closers.push(() => staged.close());
        const rebuild = feed(staged);
        await rebuild.whenReady();
        expect(staged.name).toBe(`${view.name}-staging`);

        const errors: unknown[] = [];
        let checks = 0;
        let hammering = true;
        const hammer = async (on: PostgresView): Promise<void> => {
          while (hammering) {
            try {
              await on.check(phones[checks % phones.length] ?? phoneNo(0), 'acme', 'promo');
              checks += 1;
            } catch (error) {
              errors.push(error);
            }
          }
        };
        const hammers = [hammer(view), hammer(view), hammer(sender), hammer(sender)];
        await eventually(() => expect(checks).toBeGreaterThan(50), SETTLE);
        const before = checks;
        await staged.promote();
        await eventually(() => expect(checks).toBeGreaterThan(before + 50), SETTLE);
        hammering = false;
        await Promise.all(hammers);
        await rebuild.stop();

        expect(errors).toEqual([]);
        expect(await collect(view)).toEqual(whole);
        await expectFoldOfLog(view, prefix);
        const leftovers = await admin.query(
          `SELECT relname FROM pg_class WHERE relname LIKE $1 || '\\_staging%'`,
          [prefix],
        );
        expect(leftovers.rows).toEqual([]);
      }

      // The live runner goes on applying into the promoted tables.
      await log.append([optOut({ phone: phoneNo(99), scope: 'global', eventId: `after-${randomUUID()}` })]);
      await caughtUp(runner);
      expect(await view.check(phoneNo(99), 'other')).toMatchObject({ status: 'opted_out' });
      await expectFoldOfLog(view, prefix);
    });

    it('refuses to promote a copy that is behind the live view, and leaves the live view alone', async () => {
      const view = await openView();
      const prefix = prefixes[0] ?? '';
      const runner = feed(view);
      await log.append(mixedEvents(200, [phoneNo(1), phoneNo(2)], 3));
      await caughtUp(runner);
      const before = await dump(prefix);

      const staged = await view.staging();
      closers.push(() => staged.close());
      await staged.applyBatch((await readAllEmbedded(log)).slice(0, 100));
      await expect(staged.promote()).rejects.toThrow(/behind the live one in partition 0/);
      expect(await dump(prefix)).toEqual(before);

      // A leftover staging copy is dropped by the next staging().
      const fresh = await view.staging();
      closers.push(() => fresh.close());
      expect(await fresh.checkpoint(0)).toBe(START);
    });
  });

  describe('text from the outside world', () => {
    it('stores a NUL byte and a lone surrogate (as U+FFFD) instead of retrying the batch forever', async () => {
      const view = await openView();
      const runner = feed(view);
      const [nul, surrogate, after] = [phoneNo(1), phoneNo(2), phoneNo(3)];
      // GSM 0x00 is '@': real gateways send it as a NUL byte.
      const stop = optOut({ phone: nul, eventId: 'sms:SM\u0000x', evidence: { rawText: 'STOP\u0000' } });
      await log.append([
        stop,
        optOut({ phone: surrogate, evidence: { note: 'half an emoji \ud800', rawText: '\udc00STOP' } }),
        optOut({ phone: after }),
      ]);

      await caughtUp(runner);
      expect(runner.status()).toMatchObject({ healthy: true });
      expect(await view.check(nul, 'acme')).toMatchObject({
        status: 'opted_out',
        allowed: false,
        eventId: 'sms:SM\ufffdx',
      });
      expect(await view.check(surrogate, 'acme')).toMatchObject({ status: 'opted_out', allowed: false });
      expect(await view.check(after, 'acme')).toMatchObject({ status: 'opted_out', allowed: false });
      const [stored] = await view.readPhone(nul);
      expect(stored?.event.evidence).toEqual({ rawText: 'STOP\ufffd' });
      const [half] = await view.readPhone(surrogate);
      expect(half?.event.evidence).toEqual({ note: 'half an emoji \ufffd', rawText: '\ufffdSTOP' });
    });

    it('quarantines the one phone whose data can never be written, and applies the rest of the batch', async () => {
      const view = await openView();
      const [bad, good] = [phoneNo(1), phoneNo(2)];
      // A scope too large for a btree index entry: PostgreSQL refuses it whatever the retry.
      const huge = randomBytes(6000).toString('hex');
      const records: LogRecord[] = [
        optOut({ phone: good, occurredAt: T0 }),
        optOut({ phone: bad, scope: `brand:${huge}` as ScopeKey }),
        optIn({ phone: good, scope: 'program:acme/promo', occurredAt: T0 + 1 }),
      ].map((event, i) => ({ partition: 0, position: asPosition(i + 1), event }));

      await view.applyBatch(records);
      await view.vouch(); // what its runner does once caught up with the log

      expect(await view.checkpoint(0)).toBe(3);
      expect(await view.check(bad, 'acme')).toMatchObject({
        status: 'unknown',
        allowed: false,
        quarantined: expect.stringMatching(/cannot be stored/) as string,
      });
      expect(await view.check(good, 'acme')).toMatchObject({ status: 'opted_out', allowed: false });
      expect(await view.check(good, 'acme', 'promo')).toMatchObject({ status: 'opted_in', allowed: true });
      // Replaying the batch changes nothing.
      await view.applyBatch(records);
      expect(await view.check(bad, 'acme')).toMatchObject({ status: 'unknown', allowed: false });
    });
  });

  describe('when the store loses its data', () => {
    /** A runner that verifies the store often, with every error it reports. */
    function watched(view: PostgresView, verifyEveryMs = 20): { runner: ProjectorRunner; errors: string[] } {
      const errors: string[] = [];
      const runner = feed(view, {
        verifyEveryMs,
        onError: (error) => errors.push(error instanceof Error ? error.message : String(error)),
      });
      return { runner, errors };
    }

    it('a truncated table answers unknown while idle, for the view and for senders, then replays by itself', async () => {
      const view = await openView();
      const prefix = prefixes[0] ?? '';
      const { runner, errors } = watched(view);
      const phone = phoneNo(1);
      await log.append([optOut({ phone, scope: 'global' }), optOut({ phone: phoneNo(2) })]);
      await caughtUp(runner);
      await admin.query(`CREATE TABLE "${prefix}_campaign" (phone text)`);
      await admin.query(`INSERT INTO "${prefix}_campaign" VALUES ($1), ($2)`, [phone, phoneNo(3)]);
      prefixes.push(`${prefix}_campaign`);

      // What an operator's TRUNCATE does; no event follows.
      await admin.query(`TRUNCATE "${prefix}_suppressions"`);

      // The idle verification (every second) may find the loss and replay before this check runs; either
      // way the answer is never "allowed": the loss itself, or the replayed opt-out once it is back.
      const answer: unknown = await view.check(phone, 'acme').catch((error: unknown) => error);
      if (!(answer instanceof StoreLost)) {
        expect(answer).toMatchObject({ status: 'opted_out', allowed: false });
        expect(errors.join('\n')).toMatch(/store lost data/);
      }
      const sender = await admin.query<{ allowed: boolean; status: string }>(view.sql.check, [
        phone,
        'acme',
        null,
      ]);
      expect(sender.rows).toMatchObject([{ allowed: false }]);
      expect(['unknown', 'opted_out']).toContain(sender.rows[0]?.status);
      await eventually(
        () => expect(errors.join('\n')).toMatch(/store lost data \(its PostgreSQL tables were truncated/),
        SETTLE,
      );
      await eventually(async () => {
        expect(runner.status()).toMatchObject({ ready: true, healthy: true });
        expect(await view.check(phone, 'acme')).toMatchObject({ status: 'opted_out', allowed: false });
      }, SETTLE);
      const campaign = await admin.query(view.sql.campaign(`${prefix}_campaign`), ['acme', null]);
      expect(campaign.rows).toEqual([{ phone: phoneNo(3) }]);
      await expectFoldOfLog(view, prefix);
    });

    it('while it replays after a loss, it answers unknown, not the no_record of an opt-out not yet replayed', async () => {
      const view = await openView();
      const prefix = prefixes[0] ?? '';
      const phone = phoneNo(1);
      const runner = feed(view);
      await log.append([optIn({ phone: phoneNo(3) }), optOut({ phone, scope: 'global' })]);
      await caughtUp(runner);
      await runner.stop();
      await admin.query(`CREATE TABLE "${prefix}_campaign" (phone text)`);
      await admin.query(`INSERT INTO "${prefix}_campaign" VALUES ($1), ($2)`, [phone, phoneNo(3)]);
      prefixes.push(`${prefix}_campaign`);

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
      expect(await view.check(phone, 'acme')).toMatchObject(replaying);
      expect(await view.check(phoneNo(3), 'acme')).toMatchObject(replaying);
      const sender = await admin.query(view.sql.check, [phone, 'acme', null]);
      expect(sender.rows).toMatchObject([
        { allowed: false, status: 'unknown', reason: expect.stringMatching(/replaying/) as string },
      ]);
      const campaign = await admin.query(view.sql.campaign(`${prefix}_campaign`), ['acme', null]);
      expect(campaign.rows).toEqual([]);

      // A new runner replays the log, vouches for the store, and only then answers from it.
      const again = feed(view, { group: 'again' });
      await caughtUp(again);
      expect(await view.check(phone, 'acme')).toMatchObject({ status: 'opted_out', allowed: false });
      const after = await admin.query(view.sql.campaign(`${prefix}_campaign`), ['acme', null]);
      expect(after.rows).toEqual([{ phone: phoneNo(3) }]);
    });

    it('a checkpoint deleted, or a table dropped, while it runs: replays from the start at once', async () => {
      const view = await openView();
      const prefix = prefixes[0] ?? '';
      // Verified each second: the check below comes first, and must not answer from the lost store.
      const { runner, errors } = watched(view, 1000);
      await log.append([optOut({ phone: phoneNo(1), scope: 'global' }), optOut({ phone: phoneNo(2) })]);
      await caughtUp(runner);

      await admin.query(`DELETE FROM "${prefix}_checkpoint" WHERE partition = 0`);
      await log.append([optIn({ phone: phoneNo(2), occurredAt: T0 + 5 })]);
      await eventually(
        () => expect(errors.join('\n')).toMatch(/checkpoint of partition 0 went back from 2 to 0/),
        SETTLE,
      );
      await caughtUp(runner);
      await eventually(() => expect(runner.status()).toMatchObject({ ready: true, healthy: true }), SETTLE);
      await expectFoldOfLog(view, prefix);

      await admin.query(`DROP TABLE "${prefix}_suppressions"`);
      await eventually(() => expect(errors.join('\n')).toMatch(/tables were dropped/), SETTLE);
      await eventually(async () => {
        expect(runner.status()).toMatchObject({ ready: true, healthy: true });
        expect(await view.check(phoneNo(1), 'acme')).toMatchObject({ status: 'opted_out', allowed: false });
      }, SETTLE);
      await expectFoldOfLog(view, prefix);
    });

    it('a table truncated while no process ran: found at start, never taken for an empty view', async () => {
      const table = `t_${randomUUID().slice(0, 8)}`;
      const first = await openView({ table });
      await first.applyBatch([
        { partition: 0, position: asPosition(1), event: optOut({ phone: phoneNo(1) }) },
      ]);
      await first.close();
      await admin.query(`TRUNCATE "${table}_suppressions"`);

      await log.append([optOut({ phone: phoneNo(1) })]);
      const view = await openView({ table });
      expect(await view.check(phoneNo(1), 'acme').catch((error: unknown) => error)).toBeInstanceOf(StoreLost);
      const runner = feed(view);
      await caughtUp(runner);
      expect(await view.check(phoneNo(1), 'acme')).toMatchObject({ status: 'opted_out', allowed: false });
      await expectFoldOfLog(view, table);
    });
  });

  describe('throughput', () => {
    it('applies 100,000 events in batches of 1,000 (figure printed, not asserted)', async () => {
      const view = await openView();
      const phones = Array.from({ length: 25_000 }, (_, i) => {
        const phone = `+1628${String(3_000_000 + i)}`;
        if (!isE164(phone)) throw new Error(`${phone} is not E.164`);
        return phone;
      });
      const events = mixedEvents(100_000, phones, 11);
      const records: LogRecord[] = events.map((event, i) => ({
        partition: 0,
        position: asPosition(i + 1),
        event,
      }));

      const started = process.hrtime.bigint();
      for (let i = 0; i < records.length; i += 1000) await view.applyBatch(records.slice(i, i + 1000));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      process.stdout.write(
        `\nPostgresView: applied ${records.length} events in ${seconds.toFixed(2)} s: ${Math.round(records.length / seconds)} events/s\n`,
      );

      expect(await view.checkpoint(0)).toBe(records.length);
      expect(await collect(view)).toEqual(expectedRows(records));
    }, 120_000);
  });
});
