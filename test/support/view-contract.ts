import {
  asPosition,
  effectiveState,
  foldHistory,
  START,
  type E164,
  type LedgerEvent,
  type Position,
  type Status,
} from '../../services/ledger/index.js';
import type { LogRecord, Undecodable } from '../../services/log/index.js';
import type { Projection, ScopeRow } from '../../services/projector/index.js';
import { scopeRows } from '../../services/projector/fold-batch.js';
import { phoneNo } from './event-log-contract.js';
import { confirmation, optIn, optOut, reviewed, suspected, T0 } from './given.js';

/**
 * The contract every suppression view keeps, whatever its store (memory, Redis, PostgreSQL, webhook):
 * fed a log in batches, and fed it again (re-delivery), its rows are the fold of the log, its
 * checkpoint is the log's last position per partition, and its checks answer what `effectiveState`
 * says (unknown for a phone with an unreadable record). Each view runs it from one small
 * `*.contract.int.test.ts` with an adapter over its own surface.
 */
export interface ViewUnderTest {
  readonly projection: Projection;
  /** Every row the view holds (its `rows()`, or, for the memory view, the rows its histories give). */
  rows(): Promise<ScopeRow[]>;
  /** The view's answer for one check, as a sender would get it. */
  check(
    phone: E164,
    brand: string,
    program?: string,
  ): Promise<{ status: Status | 'unknown'; allowed: boolean }>;
  close(): Promise<void>;
  /**
   * False for a view that cannot take an unreadable record without a key (no phone) into the log it is
   * fed: the webhook view dead-letters it and then answers unknown for every phone until an operator
   * replays it (its own test covers that), so the contract log leaves that record out for it.
   */
  readonly keylessUnreadable?: boolean;
}

/** A log record, or an unreadable one (fed through `quarantine`). */
type Entry = LogRecord | Undecodable;
const isUndecodable = (entry: Entry): entry is Undecodable => !('event' in entry);

const ACME_PROMO = { brand: 'acme', program: 'promo' } as const;
/** The checks asked of every phone. */
const CHECKS: readonly (readonly [string, string | undefined])[] = [
  ['acme', undefined],
  ['acme', 'promo'],
  ['acme', 'alerts'],
  ['globex', undefined],
  ['globex', 'promo'],
];

/**
 * The log: opt-outs and opt-ins at global, brand and program scope, a suspected opt-out confirmed and
 * one dismissed, a confirmation, a duplicate (Kafka may hold an event twice) and an unreadable record.
 * Phones are spread over two partitions, each phone in one (as the log keys records by phone).
 */
export function contractLog(keyless = true): Entry[] {
  const [a, b, c, d, e] = [1, 2, 3, 4, 5].map((i) => phoneNo(9000 + i)) as [E164, E164, E164, E164, E164];
  const minute = 60_000;
  const byPartition: Record<number, (LedgerEvent | { unreadable: E164 | null })[]> = {
    0: [
      optOut({ phone: a, scope: 'global', eventId: 'a-stopall' }),
      optIn({ phone: a, scope: 'brand:acme', eventId: 'a-in-acme', occurredAt: T0 + minute }),
      confirmation({ phone: a, scope: 'global', eventId: 'a-confirm', confirms: 'a-stopall' }),
      optOut({ phone: c, scope: 'program:acme/promo', eventId: 'c-out-promo', ...ACME_PROMO }),
      suspected({ phone: c, scope: 'brand:globex', eventId: 'c-maybe' }),
      reviewed({
        phone: c,
        scope: 'brand:globex',
        eventId: 'c-review',
        resolves: 'c-maybe',
        outcome: 'confirmed',
      }),
      // A duplicate of an opt-out already applied: the log holds it twice, the view counts it once.
      optOut({ phone: c, scope: 'program:acme/promo', eventId: 'c-out-promo', ...ACME_PROMO }),
      { unreadable: e },
      optIn({ phone: a, scope: 'global', eventId: 'a-in-early', occurredAt: T0 - minute }),
    ],
    1: [
      optOut({ phone: b, scope: 'brand:acme', eventId: 'b-out' }),
      suspected({ phone: b, scope: 'program:acme/promo', eventId: 'b-maybe', ...ACME_PROMO }),
      optIn({ phone: b, scope: 'brand:acme', eventId: 'b-in', occurredAt: T0 + minute }),
      reviewed({
        phone: b,
        scope: 'program:acme/promo',
        eventId: 'b-review',
        resolves: 'b-maybe',
        outcome: 'dismissed',
        ...ACME_PROMO,
      }),
      optOut({ phone: d, scope: 'brand:globex', eventId: 'd-out' }),
      ...(keyless ? [{ unreadable: null }] : []),
      optIn({
        phone: d,
        scope: 'program:globex/promo',
        eventId: 'd-in-promo',
        brand: 'globex',
        program: 'promo',
        occurredAt: T0 + minute,
      }),
      optOut({ phone: e, scope: 'global', eventId: 'e-stopall' }),
    ],
  };
  return Object.entries(byPartition).flatMap(([partition, items]) =>
    items.map((item, i): Entry => {
      const at = { partition: Number(partition), position: asPosition(i + 1) };
      if ('unreadable' in item) {
        return { ...at, key: item.unreadable, reason: 'no schema can read this record (contract test)' };
      }
      return { ...at, event: item };
    }),
  );
}

/** Feeds the entries in batches of `size` per partition, in the runner's way: quarantine in order. */
async function feed(projection: Projection, entries: readonly Entry[], size: number): Promise<void> {
  const partitions = [...new Set(entries.map((entry) => entry.partition))];
  for (const partition of partitions) {
    const ours = entries.filter((entry) => entry.partition === partition);
    let batch: LogRecord[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length > 0) await projection.applyBatch(batch);
      batch = [];
    };
    for (const entry of ours) {
      if (isUndecodable(entry)) {
        await flush();
        await projection.quarantine(entry);
        continue;
      }
      batch.push(entry);
      if (batch.length >= size) await flush();
    }
    await flush();
  }
}

const byPhoneAndScope = (a: ScopeRow, b: ScopeRow): number =>
  a.phone < b.phone ? -1 : a.phone > b.phone ? 1 : a.scope < b.scope ? -1 : a.scope > b.scope ? 1 : 0;

/** The rows of the fold of the log, by phone and scope. */
function expectedRows(entries: readonly Entry[]): ScopeRow[] {
  const records = entries.filter((entry): entry is LogRecord => !isUndecodable(entry));
  const phones = [...new Set(records.map((record) => record.event.phone))];
  return phones
    .flatMap((phone) => [
      ...scopeRows(phone, foldHistory(records.filter((record) => record.event.phone === phone))).values(),
    ])
    .sort(byPhoneAndScope);
}

export function describeViewContract(name: string, open: () => Promise<ViewUnderTest>): void {
  describe(`view contract: ${name}`, () => {
    let subject: ViewUnderTest | undefined;

    afterEach(async () => {
      await subject?.close();
      subject = undefined;
    });

    it('fed the log in batches, then replayed twice: rows are the fold of the log, the checkpoint its end, checks as effectiveState says', async () => {
      subject = await open();
      const log = contractLog(subject.keylessUnreadable ?? true);
      const { projection } = subject;
      const phone = (log.find((entry) => !isUndecodable(entry)) as LogRecord).event.phone;

      await feed(projection, log, 2);
      if (projection.vouch !== undefined) {
        // Not caught up yet as far as the view knows: a sender must not be told no_record.
        expect(await subject.check(phone, 'acme')).toMatchObject({ status: 'unknown', allowed: false });
      }
      const rows = await subject.rows();
      // Re-delivery, in other batch sizes and whole: nothing changes.
      await feed(projection, log, 3);
      await feed(projection, log, log.length);
      await projection.vouch?.();

      const expected = expectedRows(log);
      expect(expected.length).toBeGreaterThan(8);
      expect([...rows].sort(byPhoneAndScope)).toEqual(expected);
      expect((await subject.rows()).sort(byPhoneAndScope)).toEqual(expected);

      const last = new Map<number, Position>();
      for (const { partition, position } of log) {
        if (position > (last.get(partition) ?? START)) last.set(partition, position);
      }
      for (const [partition, position] of last) expect(await projection.checkpoint(partition)).toBe(position);
      expect(await projection.checkpoint(7)).toBe(START);

      const records = log.filter((entry): entry is LogRecord => !isUndecodable(entry));
      const unreadable = new Set(log.filter(isUndecodable).map((entry) => entry.key));
      const phones = [...new Set(records.map((record) => record.event.phone)), phoneNo(9999)];
      for (const each of phones) {
        const history = foldHistory(records.filter((record) => record.event.phone === each));
        for (const [brand, program] of CHECKS) {
          const state = effectiveState(history, brand, program);
          const want = unreadable.has(each)
            ? { status: 'unknown', allowed: false }
            : { status: state.status, allowed: state.allowed };
          expect({
            phone: each,
            brand,
            program,
            ...(await subject.check(each, brand, program)),
          }).toMatchObject({ phone: each, brand, program, ...want });
        }
      }
    });
  });
}
