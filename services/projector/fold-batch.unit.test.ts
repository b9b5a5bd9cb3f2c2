import fc from 'fast-check';
import {
  asPosition,
  EMPTY_HISTORY,
  START,
  type E164,
  type LedgerEvent,
  type PhoneHistory,
  type Position,
  type ScopeKey,
} from '../ledger/index.js';
import type { LogRecord } from '../log/index.js';
import { confirmation, optIn, optOut, PHONE, reviewed, suspected, T0 } from '../../test/support/given.js';
import {
  foldBatch,
  foldRecords,
  freshRecords,
  rowChange,
  scopeRows,
  type CheckpointOf,
} from './fold-batch.js';
import type { ScopeRow } from './system-view.js';

const OTHER = '+12015550124' as E164;
const at = (partition: number, position: number, event: LedgerEvent): LogRecord => ({
  partition,
  position: asPosition(position),
  event,
});
const none: CheckpointOf = () => START;
const checkpoints =
  (positions: Record<number, number>): CheckpointOf =>
  (partition) =>
    asPosition(positions[partition] ?? 0);

describe('foldBatch: the batch fold every view runs', () => {
  it("folds a batch onto nothing: the phone's history, one upserted row, the new checkpoint", () => {
    const fold = foldBatch(new Map(), [at(0, 1, optOut({ scope: 'brand:acme', eventId: 'out-1' }))], none);

    expect(fold.after.get(PHONE)?.map((fact) => fact.eventId)).toEqual(['out-1']);
    expect(fold.rowChanges.get(PHONE)).toEqual({
      rows: new Map([
        [
          'brand:acme',
          {
            phone: PHONE,
            scope: 'brand:acme',
            status: 'opted_out',
            allowed: false,
            since: T0,
            eventId: 'out-1',
          },
        ],
      ]),
      upserted: [
        {
          phone: PHONE,
          scope: 'brand:acme',
          status: 'opted_out',
          allowed: false,
          since: T0,
          eventId: 'out-1',
        },
      ],
      removed: [],
    });
    expect(fold.last).toEqual(new Map([[0, 1]]));
  });

  it('records at or below the checkpoint, or repeated within the batch, change nothing', () => {
    const records = [at(0, 3, optOut({ eventId: 'old' })), at(0, 5, optOut({ eventId: 'also-old' }))];
    const fold = foldBatch(new Map(), records, checkpoints({ 0: 5 }));
    expect(fold).toEqual({ steps: [], after: new Map(), last: new Map(), rowChanges: new Map() });

    const repeated = foldRecords(
      new Map(),
      [
        at(0, 6, optOut({ eventId: 'a' })),
        at(0, 6, optIn({ eventId: 'b' })),
        at(0, 4, optIn({ eventId: 'c' })),
      ],
      checkpoints({ 0: 5 }),
    );
    expect(repeated.steps.map((step) => step.record.event.eventId)).toEqual(['a']);
    expect(
      freshRecords(
        repeated.steps.map((step) => step.record),
        checkpoints({ 0: 6 }),
      ),
    ).toEqual([]);
  });

  it('keeps a checkpoint per partition and moves only the partitions the batch moved', () => {
    const fold = foldRecords(
      new Map(),
      [
        at(1, 2, optOut({ eventId: 'p1' })),
        at(0, 9, optOut({ phone: OTHER, eventId: 'p0' })),
        at(2, 1, optOut({ eventId: 'p2' })),
      ],
      checkpoints({ 0: 9, 1: 1 }),
    );
    expect(fold.last).toEqual(
      new Map([
        [1, 2],
        [2, 1],
      ]),
    );
    expect([...fold.after.keys()]).toEqual([PHONE]);
  });

  it('does not touch `before`, and leaves out phones whose history the batch did not change', () => {
    const held = foldRecords(new Map(), [at(0, 1, optOut({ eventId: 'out-1' }))], none).after;
    const before = new Map(held);
    const fold = foldBatch(
      before,
      [
        at(0, 2, confirmation({ confirms: 'out-1' })),
        at(0, 3, optOut({ eventId: 'out-1' })),
        at(0, 4, optOut({ phone: OTHER, eventId: 'other' })),
      ],
      checkpoints({ 0: 1 }),
    );
    expect(before).toEqual(held);
    expect([...fold.after.keys()]).toEqual([OTHER]);
    expect([...fold.rowChanges.keys()]).toEqual([OTHER]);
    expect(fold.steps.map((step) => step.after === step.before)).toEqual([true, true, false]);
    expect(fold.last).toEqual(new Map([[0, 4]]));
  });

  it("chains a phone's records within the batch, and upserts only the rows that changed", () => {
    const before = foldRecords(
      new Map(),
      [
        at(0, 1, optOut({ scope: 'global', eventId: 'stopall' })),
        at(0, 2, suspected({ scope: 'brand:acme', eventId: 's' })),
      ],
      none,
    ).after;
    const fold = foldBatch(
      before,
      [
        at(0, 3, reviewed({ scope: 'brand:acme', resolves: 's', outcome: 'dismissed' })),
        at(0, 4, optIn({ scope: 'program:acme/promo', eventId: 'in', occurredAt: T0 + 1 })),
      ],
      checkpoints({ 0: 2 }),
    );
    const steps = fold.steps;
    expect(steps[1]?.before).toBe(steps[0]?.after);
    const change = fold.rowChanges.get(PHONE);
    // Dismissing the suspected opt-out leaves brand:acme opted out by the global one: that row stays
    // as it was; the program's opt-in lifts the global opt-out there: a new row.
    expect(change?.upserted.map((row) => [row.scope, row.status, row.eventId])).toEqual([
      ['program:acme/promo', 'opted_in', 'in'],
    ]);
    expect([...(change?.rows.keys() ?? [])]).toEqual(['brand:acme', 'global', 'program:acme/promo']);
    expect(change?.removed).toEqual([]);
  });

  it('rowChange removes the scopes that have no row any more', () => {
    const rows = scopeRows(
      PHONE,
      foldRecords(new Map(), [at(0, 1, optOut({ scope: 'brand:acme' }))], none).after.get(PHONE) ??
        EMPTY_HISTORY,
    );
    expect(rowChange(rows, new Map())).toEqual({ rows: new Map(), upserted: [], removed: ['brand:acme'] });
  });
});

/** The scopes, phones and events a random log draws from. */
const SCOPES: readonly ScopeKey[] = ['global', 'brand:acme', 'brand:globex', 'program:acme/promo'];
const PHONES: readonly E164[] = [PHONE, OTHER, '+12015550125' as E164];

const anEvent = fc
  .record({
    kind: fc.constantFrom('out', 'in', 'suspected', 'confirmed', 'dismissed', 'confirmation'),
    scope: fc.constantFrom(...SCOPES),
    phone: fc.constantFrom(...PHONES),
    minutes: fc.integer({ min: -3, max: 3 }),
    /** An event id already used (a duplicate, as Kafka may hold), or a new one. */
    id: fc.integer({ min: 0, max: 30 }),
  })
  .map(({ kind, scope, phone, minutes, id }): LedgerEvent => {
    const fields = { scope, phone, occurredAt: T0 + minutes * 60_000, eventId: `e${id}` };
    switch (kind) {
      case 'out':
        return optOut(fields);
      case 'in':
        return optIn(fields);
      case 'suspected':
        return suspected(fields);
      case 'confirmation':
        return confirmation({ ...fields, eventId: `c${id}`, confirms: `e${id}` });
      default:
        return reviewed({ ...fields, eventId: `r${id}`, resolves: `e${id}`, outcome: kind });
    }
  });

/** A log over two partitions, each phone's records in one partition (as the log keys them). */
const aLog = fc.array(anEvent, { maxLength: 40 }).map((events) => {
  const next = [0, 0];
  return events.map((event) => {
    const partition = PHONES.indexOf(event.phone) % 2;
    next[partition] = (next[partition] ?? 0) + 1;
    return at(partition, next[partition] ?? 0, event);
  });
});

/** A view in miniature: histories, rows and checkpoints, written only from what folds give. */
class Store {
  readonly histories = new Map<E164, PhoneHistory>();
  readonly rows = new Map<string, ScopeRow>();
  readonly checkpoint = new Map<number, Position>();

  apply(records: readonly LogRecord[]): void {
    const fold = foldBatch(this.histories, records, (p) => this.checkpoint.get(p) ?? START);
    for (const [phone, history] of fold.after) this.histories.set(phone, history);
    for (const [phone, change] of fold.rowChanges) {
      for (const scope of change.removed) this.rows.delete(`${phone} ${scope}`);
      for (const row of change.upserted) this.rows.set(`${phone} ${row.scope}`, row);
    }
    for (const [partition, position] of fold.last) this.checkpoint.set(partition, position);
  }

  sorted(): [string, ScopeRow][] {
    return [...this.rows].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

/** Cuts the records into consecutive batches at the given points. */
function split<T>(items: readonly T[], cuts: readonly number[]): T[][] {
  const points = [...new Set(cuts.map((cut) => cut % (items.length + 1)))].sort((a, b) => a - b);
  const batches: T[][] = [];
  let from = 0;
  for (const point of [...points, items.length]) {
    batches.push(items.slice(from, point));
    from = point;
  }
  return batches;
}

describe('property: a batch split changes nothing, nor does re-delivery', () => {
  it('folding a log in any batch split gives the rows of folding it whole, and every row upserted is a row of the whole fold', () => {
    fc.assert(
      fc.property(aLog, fc.array(fc.nat(), { maxLength: 8 }), (log, cuts) => {
        const whole = new Store();
        whole.apply(log);
        const batched = new Store();
        for (const batch of split(log, cuts)) batched.apply(batch);

        expect(batched.sorted()).toEqual(whole.sorted());
        expect(batched.checkpoint).toEqual(whole.checkpoint);
        expect(batched.histories).toEqual(whole.histories);
        // The rows are exactly scopeRows of each phone's history.
        const expected = new Map<string, ScopeRow>();
        for (const [phone, history] of whole.histories) {
          for (const row of scopeRows(phone, history).values()) expected.set(`${phone} ${row.scope}`, row);
        }
        expect(new Map(whole.rows)).toEqual(expected);
      }),
      { numRuns: 1_000 },
    );
  });

  it('records at or below the checkpoint change nothing, in any batch', () => {
    fc.assert(
      fc.property(aLog, fc.array(fc.nat(), { maxLength: 6 }), (log, cuts) => {
        const store = new Store();
        store.apply(log);
        for (const batch of split(log, cuts)) {
          const fold = foldBatch(store.histories, batch, (p) => store.checkpoint.get(p) ?? START);
          expect(fold.steps).toEqual([]);
          expect(fold.after.size + fold.rowChanges.size + fold.last.size).toBe(0);
        }
      }),
      { numRuns: 500 },
    );
  });
});
