import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isE164, START, type E164, type LedgerEvent, type Position } from '../../services/ledger/index.js';
import type {
  Appended,
  Consumption,
  Cursor,
  Delivery,
  EmbeddedEventLog,
  EventLog,
  LogRecord,
} from '../../services/log/index.js';
import { eventually } from './eventually.js';
import { optIn, optOut, suspected } from './given.js';

/** A fresh directory of its own for one test; the caller removes it. */
export function freshDir(prefix = 'ledger-log-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A distinct valid-looking E.164 number per index, so tests can spread events over many phones. */
export function phoneNo(index: number): E164 {
  const phone = `+1201555${String(index).padStart(4, '0')}`;
  if (!isE164(phone)) throw new Error(`${phone} is not E.164`);
  return phone;
}

/** An opt-out with an id no other test (or earlier run against a persistent broker) uses. */
export function uniqueOptOut(phone: E164 = phoneNo(0), tag = 'out'): LedgerEvent {
  return optOut({ phone, eventId: `${tag}-${randomUUID()}` });
}

/**
 * How long a consumer may take to see what was appended. Generous: a broker's consumer group joins in
 * seconds; the embedded log answers in milliseconds, so only a failing test ever waits this long.
 */
export const CONSUME_TIMEOUT_MS = 20_000;

/** A record's place on the log, as one comparable string. */
export const pointOf = ({ partition, position }: { partition: number; position: Position }): string =>
  `${partition}:${position}`;

/** Records by partition, then position: the one order that is the same for every adapter. */
export function inLogOrder<R extends LogRecord>(records: readonly R[]): R[] {
  return [...records].sort((a, b) => a.partition - b.partition || a.position - b.position);
}

/** The highest acknowledged position per partition (0 where none). */
export function cursorOf(records: readonly LogRecord[]): Position[] {
  const cursor: Position[] = [];
  for (const { partition, position } of records) {
    if (position > (cursor[partition] ?? START)) cursor[partition] = position;
  }
  return Array.from(cursor, (position) => position ?? START);
}

/** Whether `cursor` is at or past every point. */
export function covers(
  cursor: Cursor,
  points: readonly { partition: number; position: Position }[],
): boolean {
  return points.every(({ partition, position }) => (cursor[partition] ?? START) >= position);
}

export interface FollowOptions {
  /** The consumer group; a fresh one unless given. */
  readonly group?: string;
  /** Where each partition starts (0 where not given). */
  readonly from?: Cursor;
  /** What the consumer does with a batch before it is done with it (after it was recorded as received). */
  readonly work?: (records: readonly LogRecord[], delivery: Delivery) => Promise<void>;
}

/** A consumer that records what it is handed and every breach of the consume() rules it sees. */
export interface Follower {
  readonly group: string;
  /** Every record delivered, in delivery order (recorded when deliver() is called). */
  readonly records: readonly LogRecord[];
  /** Every deliver() call: its partition, the head it reported, and the positions it carried. */
  readonly batches: readonly { partition: number; head: Position; positions: readonly Position[] }[];
  /** The partitions checkpoint() was asked for, in order. */
  readonly asked: readonly number[];
  /** Per partition, the last position whose deliver() resolved (or the checkpoint it started from). */
  readonly cursor: Cursor;
  /** How many deliver() calls are under way. */
  readonly inFlight: number;
  /** Broken rules: overlapping or out-of-order deliveries, foreign records, deliveries after stop(). */
  readonly problems: readonly string[];
  stop(): Promise<void>;
}

/** Starts a consumer on `log` (see Follower). */
export function follow(log: EventLog, options: FollowOptions = {}): Follower {
  const group = options.group ?? `contract-${randomUUID()}`;
  const from = options.from ?? [];
  const records: LogRecord[] = [];
  const batches: { partition: number; head: Position; positions: readonly Position[] }[] = [];
  const asked: number[] = [];
  const cursor: Position[] = [];
  const problems: string[] = [];
  const busy = new Set<number>();
  let stopped = false;
  let stopping: Promise<void> | undefined;

  const consumption: Consumption = log.consume({
    group,
    checkpoint: (partition) => {
      asked.push(partition);
      // Like a view: resume after what it has already taken.
      const position = cursor[partition] ?? from[partition] ?? START;
      cursor[partition] = position;
      return Promise.resolve(position);
    },
    deliver: async (batch, delivery) => {
      const { partition, head } = delivery;
      if (stopped) problems.push(`deliver() on partition ${partition} after stop() resolved`);
      if (busy.has(partition)) problems.push(`overlapping deliver() calls on partition ${partition}`);
      if (cursor[partition] === undefined) {
        problems.push(`partition ${partition} delivered before its checkpoint was asked`);
      }
      busy.add(partition);
      try {
        let last = cursor[partition] ?? START;
        for (const record of batch) {
          if (record.partition !== partition) {
            problems.push(`a record of partition ${record.partition} in a delivery for ${partition}`);
          }
          if (record.position <= last) {
            problems.push(`partition ${partition}: position ${record.position} delivered after ${last}`);
          }
          last = record.position;
        }
        if (batch.length > 0 && head < last) {
          problems.push(`partition ${partition}: delivery.head ${head} is below its own record ${last}`);
        }
        records.push(...batch);
        batches.push({ partition, head, positions: batch.map((r) => r.position) });
        await options.work?.(batch, delivery);
        if (last > (cursor[partition] ?? START)) cursor[partition] = last;
      } finally {
        busy.delete(partition);
      }
    },
  });

  return {
    group,
    records,
    batches,
    asked,
    cursor,
    problems,
    get inFlight() {
      return busy.size;
    },
    stop: () =>
      (stopping ??= consumption.stop().then(() => {
        stopped = true;
      })),
  };
}

/** Resolves once `follower` has taken every point (a failed expectation after CONSUME_TIMEOUT_MS). */
export async function caughtUp(
  follower: Follower,
  points: readonly { partition: number; position: Position }[],
): Promise<void> {
  await eventually(
    () => {
      const missing = points.filter((point) => !covers(follower.cursor, [point]));
      expect({ missing: missing.map(pointOf).slice(0, 10), problems: follower.problems }).toEqual({
        missing: [],
        problems: [],
      });
    },
    { timeoutMs: CONSUME_TIMEOUT_MS },
  );
}

/** The head as points: what a consumer must reach to have read everything the log held then. */
export function headPoints(head: Cursor): { partition: number; position: Position }[] {
  return head.map((position, partition) => ({ partition, position }));
}

/**
 * Every record the log holds now, through the port alone: consumes from the start (or `from`) with a
 * fresh group until head() (taken first) is reached, then stops. In log order (partition, position).
 */
export async function readAll(log: EventLog, from: Cursor = []): Promise<LogRecord[]> {
  const head = await log.head();
  const follower = follow(log, { from });
  try {
    await caughtUp(follower, headPoints(head));
  } finally {
    await follower.stop();
  }
  expect(follower.problems).toEqual([]);
  return inLogOrder(follower.records);
}

/** Every record of the embedded log, read page by page with its own read(after, limit). */
export async function readAllEmbedded(log: EmbeddedEventLog, pageSize = 1000): Promise<readonly LogRecord[]> {
  const all: LogRecord[] = [];
  let after: Position = START;
  for (;;) {
    const page = await log.read(after, pageSize);
    const last = page[page.length - 1];
    if (last === undefined) return all;
    all.push(...page);
    after = last.position;
  }
}

/** Whether `promise` settles within `ms`: a bound on hanging, not a performance figure. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise the test resolves when it chooses: holds a consumer inside deliver(). */
export function valve(): { readonly held: Promise<void>; open(): void } {
  let open = (): void => undefined;
  const held = new Promise<void>((resolve) => (open = resolve));
  return { held, open: () => open() };
}

const idsOf = (items: readonly { readonly event: LedgerEvent }[]): string[] =>
  items.map((item) => item.event.eventId);

function isAscending(values: readonly number[]): boolean {
  return values.every((value, i) => i === 0 || value > (values[i - 1] ?? -Infinity));
}

/** Positions per partition, in the order given. */
function positionsByPartition(items: readonly LogRecord[]): Map<number, Position[]> {
  const by = new Map<number, Position[]>();
  for (const { partition, position } of items) by.set(partition, [...(by.get(partition) ?? []), position]);
  return by;
}

/** What the log acknowledged, as the records a consumer must be handed. */
const asRecords = (appended: readonly Appended[]): LogRecord[] =>
  appended.map(({ partition, position, event }) => ({ partition, position, event }));

/**
 * The behaviour every EventLog adapter owes its callers (services/log/port.ts), through the port alone:
 * no adapter extras (no read(after), phone reads or checkpoint store), any number of partitions, and no
 * assumption about duplicate ids (adapters differ; each tests its own). `open(dir)` opens the adapter on
 * the storage that `dir` names; opening the same `dir` again after close() must find the same log (for a
 * broker: derive the topic from `dir`, which is unique per test).
 */
export function describeEventLogContract(
  name: string,
  open: (dir: string) => EventLog | Promise<EventLog>,
): void {
  describe(`EventLog contract: ${name}`, () => {
    let dir: string;
    let log: EventLog;
    let followers: Follower[];

    beforeEach(async () => {
      dir = freshDir();
      followers = [];
      log = await open(dir);
    });

    afterEach(async () => {
      await Promise.all(followers.map((f) => f.stop()));
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    });

    function consumer(options: FollowOptions = {}): Follower {
      const created = follow(log, options);
      followers.push(created);
      return created;
    }

    async function reopen(): Promise<EventLog> {
      await Promise.all(followers.splice(0).map((f) => f.stop()));
      await log.close();
      log = await open(dir);
      return log;
    }

    /** `count` fresh opt-outs over `phones` phones, round-robin, for one append. */
    function spread(count: number, phones: number, tag = 'out'): LedgerEvent[] {
      return Array.from({ length: count }, (_, i) => uniqueOptOut(phoneNo(i % phones), tag));
    }

    it('has at least one partition, and the same number after a reopen', async () => {
      const partitions = await log.partitions();
      expect(Number.isInteger(partitions)).toBe(true);
      expect(partitions).toBeGreaterThanOrEqual(1);
      await log.append(spread(10, 10));

      const reopened = await reopen();
      expect(await reopened.partitions()).toBe(partitions);
    });

    it('starts empty: head() is 0 for every partition and a consumer is handed nothing', async () => {
      const partitions = await log.partitions();
      expect(await log.head()).toEqual(Array.from({ length: partitions }, () => START));
      expect(await readAll(log)).toEqual([]);
    });

    it('answers an empty append with no records and leaves head() as it was', async () => {
      expect(await log.append([])).toEqual([]);
      expect((await log.head()).every((position) => position === START)).toBe(true);
      await log.append([uniqueOptOut()]);
      const head = await log.head();
      expect(await log.append([])).toEqual([]);
      expect(await log.head()).toEqual(head);
    });

    it('acknowledges each event with the event it stored, a partition in range and a position after 0', async () => {
      const partitions = await log.partitions();
      const events = [
        uniqueOptOut(phoneNo(1)),
        optIn({ phone: phoneNo(2), eventId: `in-${randomUUID()}` }),
        suspected({ phone: phoneNo(3), eventId: `suspected-${randomUUID()}` }),
      ];
      const appended = await log.append(events);

      expect(appended.map((a) => a.event)).toEqual(events);
      for (const a of appended) {
        expect(Number.isInteger(a.partition)).toBe(true);
        expect(a.partition).toBeGreaterThanOrEqual(0);
        expect(a.partition).toBeLessThan(partitions);
        expect(Number.isInteger(a.position)).toBe(true);
        expect(a.position).toBeGreaterThan(START);
        expect(a.duplicate).toBe(false);
      }
    });

    it('gives increasing positions within a partition, within one append and across appends', async () => {
      const appended = [
        ...(await log.append(spread(9, 6))),
        ...(await log.append([uniqueOptOut(phoneNo(4))])),
        ...(await log.append(spread(12, 6))),
      ];

      expect(new Set(appended.map(pointOf)).size).toBe(appended.length);
      for (const [partition, positions] of positionsByPartition(appended)) {
        expect({ partition, ascending: isAscending(positions) }).toEqual({ partition, ascending: true });
      }
    });

    it('puts every event of one phone in the same partition, append after append', async () => {
      const phones = 16;
      const appended: Appended[] = [];
      for (let round = 0; round < 3; round += 1)
        appended.push(...(await log.append(spread(phones * 2, phones))));

      const partitionsOf = new Map<E164, Set<number>>();
      for (const { event, partition } of appended) {
        partitionsOf.set(event.phone, (partitionsOf.get(event.phone) ?? new Set()).add(partition));
      }
      expect(partitionsOf.size).toBe(phones);
      for (const [phone, partitions] of partitionsOf)
        expect({ phone, partitions: partitions.size }).toEqual({ phone, partitions: 1 });

      // Where the consumer finds them agrees with what append() said.
      expect(await readAll(log)).toEqual(inLogOrder(asRecords(appended)));
    });

    it('keeps the order of a group: its events of one phone are handed over in the order appended', async () => {
      const phone = phoneNo(7);
      const group: LedgerEvent[] = [
        uniqueOptOut(phone),
        optIn({ phone, eventId: `in-${randomUUID()}` }),
        suspected({ phone, eventId: `suspected-${randomUUID()}` }),
        uniqueOptOut(phone),
      ];
      const appended = await log.append(group);

      expect(new Set(appended.map((a) => a.partition)).size).toBe(1);
      expect(isAscending(appended.map((a) => a.position))).toBe(true);
      const ofPhone = (await readAll(log)).filter((r) => r.event.phone === phone);
      expect(ofPhone.map((r) => r.event)).toEqual(group);
    });

    it('stores none of a group it cannot store, and rejects that append', async () => {
      const before = uniqueOptOut(phoneNo(1), 'before');
      await log.append([before]);
      // A BigInt has no JSON (or Avro double) form: the second event of the group cannot be stored.
      const unstorable = {
        ...uniqueOptOut(phoneNo(2), 'unstorable'),
        evidence: { confidence: 1n },
      } as unknown as LedgerEvent;
      const doomed = [uniqueOptOut(phoneNo(2), 'doomed'), unstorable, uniqueOptOut(phoneNo(3), 'doomed')];

      await expect(log.append(doomed)).rejects.toBeInstanceOf(Error);

      const after = await log.append([uniqueOptOut(phoneNo(4), 'after')]);
      const stored = await readAll(log);
      expect(idsOf(stored).filter((id) => doomed.some((e) => e.eventId === id))).toEqual([]);
      expect(idsOf(stored).sort()).toEqual([before.eventId, ...idsOf(after)].sort());

      // The failed ids were never recorded: a corrected retry is a first append, stored once.
      const [retried] = await log.append([doomed[0]!]);
      expect(retried).toMatchObject({ duplicate: false, event: doomed[0] });
      expect(idsOf(await readAll(log)).filter((id) => id === doomed[0]?.eventId)).toHaveLength(1);
    });

    it('reports in head() at least every acknowledged position, per partition', async () => {
      const partitions = await log.partitions();
      const appended = [...(await log.append(spread(20, 10))), ...(await log.append(spread(5, 3)))];

      const head = await log.head();
      expect(head).toHaveLength(partitions);
      expect(covers(head, appended)).toBe(true);
    });

    describe('consume()', () => {
      it('hands over every record once, per partition in order, from checkpoint 0, then follows new appends', async () => {
        const partitions = await log.partitions();
        const first = [...(await log.append(spread(30, 12))), ...(await log.append(spread(7, 3)))];
        const follower = consumer();

        await caughtUp(follower, first);
        expect(inLogOrder(follower.records)).toEqual(inLogOrder(asRecords(first)));
        // Every partition, empty or not: the runner is ready only once each has reported where it resumes.
        expect([...new Set(follower.asked)].sort((a, b) => a - b)).toEqual(
          Array.from({ length: partitions }, (_, p) => p),
        );

        // Appended while it follows: handed over as they are recorded, without a restart.
        const second = await log.append(spread(5, 5, 'live'));
        await caughtUp(follower, second);
        const third = [
          ...(await log.append([uniqueOptOut(phoneNo(1), 'live')])),
          ...(await log.append(spread(40, 13, 'live'))),
        ];
        await caughtUp(follower, third);

        const all = [...first, ...second, ...third];
        expect(follower.records).toHaveLength(all.length);
        expect(inLogOrder(follower.records)).toEqual(inLogOrder(asRecords(all)));
        expect(follower.problems).toEqual([]);
      });

      it('hands over only the records after the checkpoint, per partition', async () => {
        const appended = [...(await log.append(spread(24, 8))), ...(await log.append(spread(24, 8)))];
        // Per partition that has records: the position of one in its middle.
        const from: Position[] = [];
        for (const [partition, positions] of positionsByPartition(appended)) {
          from[partition] = positions[Math.floor(positions.length / 2)] ?? START;
        }
        const checkpoint = Array.from(from, (position) => position ?? START);

        const follower = consumer({ from: checkpoint });
        await caughtUp(follower, appended);

        const later = appended.filter((a) => a.position > (checkpoint[a.partition] ?? START));
        expect(later.length).toBeGreaterThan(0);
        expect(later.length).toBeLessThan(appended.length);
        expect(inLogOrder(follower.records)).toEqual(inLogOrder(asRecords(later)));
        expect(follower.problems).toEqual([]);
      });

      it('gives each consumer group everything, independently', async () => {
        const before = await log.append(spread(20, 7));
        const one = consumer({ group: `one-${randomUUID()}` });
        const two = consumer({ group: `two-${randomUUID()}` });
        const after = await log.append(spread(20, 7, 'live'));

        const all = [...before, ...after];
        await caughtUp(one, all);
        await caughtUp(two, all);
        expect(inLogOrder(one.records)).toEqual(inLogOrder(asRecords(all)));
        expect(inLogOrder(two.records)).toEqual(inLogOrder(asRecords(all)));
      });

      it('stops promptly when asked, and hands over nothing once stop() has resolved', async () => {
        const before = await log.append(spread(6, 3));
        const follower = consumer();
        await caughtUp(follower, before);

        await expect(settlesWithin(follower.stop(), 10_000)).resolves.toBe(true);
        const after = await log.append(spread(6, 3, 'after-stop'));
        // Another consumer sees them: they were there to be handed over.
        await caughtUp(consumer(), [...before, ...after]);

        expect(follower.records).toHaveLength(before.length);
        expect(follower.problems).toEqual([]);
      });

      it('lets a deliver() under way finish before stop() resolves, and starts none after', async () => {
        const held = valve();
        let finished = false;
        const follower = consumer({
          work: async () => {
            await held.held;
            finished = true;
          },
        });
        const [first] = await log.append([uniqueOptOut(phoneNo(1))]);
        await eventually(() => expect(follower.records).toHaveLength(1), { timeoutMs: CONSUME_TIMEOUT_MS });

        const stopping = follower.stop();
        held.open();
        await stopping;

        expect(finished).toBe(true);
        expect(follower.cursor[first!.partition]).toBe(first?.position);
        const after = await log.append([uniqueOptOut(phoneNo(1))]);
        await caughtUp(consumer(), [first!, ...after]);
        expect(follower.records).toHaveLength(1);
        expect(follower.problems).toEqual([]);
      });

      it('hands a partition its next batch only once the previous deliver() has resolved', async () => {
        const phone = phoneNo(5);
        const held = valve();
        const follower = consumer({ work: () => held.held });
        const [first] = await log.append([uniqueOptOut(phone)]);
        await eventually(() => expect(follower.records).toHaveLength(1), { timeoutMs: CONSUME_TIMEOUT_MS });

        // Same phone, so same partition: while the first deliver() is held, none of these may be handed over.
        const rest = [
          ...(await log.append([uniqueOptOut(phone), uniqueOptOut(phone)])),
          ...(await log.append([uniqueOptOut(phone)])),
        ];
        expect(rest.every((a) => a.partition === first?.partition)).toBe(true);
        // A free consumer has them all, so the held one could have been handed them too.
        await caughtUp(consumer(), [first!, ...rest]);
        expect(follower.batches).toHaveLength(1);
        expect(follower.inFlight).toBe(1);

        held.open();
        await caughtUp(follower, rest);
        expect(follower.records.map((r) => r.position)).toEqual([first, ...rest].map((a) => a?.position));
        expect(follower.problems).toEqual([]);
      });

      it('keeps order with a slow deliver(): no overlap within a partition, every record once', async () => {
        const follower = consumer({ work: () => new Promise((resolve) => setTimeout(resolve, 3)) });
        const appended = (
          await Promise.all(
            Array.from({ length: 4 }, async (_, caller) => {
              const mine: Appended[] = [];
              for (let i = 0; i < 25; i += 1) mine.push(...(await log.append(spread(2, 6, `slow${caller}`))));
              return mine;
            }),
          )
        ).flat();

        await caughtUp(follower, appended);
        expect(follower.problems).toEqual([]);
        expect(inLogOrder(follower.records)).toEqual(inLogOrder(asRecords(appended)));
      });

      it('hands over every event of 8 concurrent appenders × 200 appends exactly once', async () => {
        const callers = 8;
        const perCaller = 200;
        const follower = consumer();
        const acknowledged = await Promise.all(
          Array.from({ length: callers }, async (_, caller) => {
            const mine: Appended[] = [];
            for (let i = 0; i < perCaller; i += 1) {
              const [appended] = await log.append([uniqueOptOut(phoneNo(caller), `c${caller}`)]);
              if (appended !== undefined) mine.push(appended);
            }
            return mine;
          }),
        );

        for (const mine of acknowledged) {
          expect(mine).toHaveLength(perCaller);
          // One phone per caller, each append awaited: its events are in its order, in one partition.
          expect(new Set(mine.map((a) => a.partition)).size).toBe(1);
          expect(isAscending(mine.map((a) => a.position))).toBe(true);
        }
        const all = acknowledged.flat();
        expect(new Set(all.map(pointOf)).size).toBe(callers * perCaller);

        await caughtUp(follower, all);
        expect(follower.problems).toEqual([]);
        expect(follower.records).toHaveLength(callers * perCaller);
        expect(inLogOrder(follower.records)).toEqual(inLogOrder(asRecords(all)));
        expect(await readAll(log)).toEqual(inLogOrder(asRecords(all)));
      });
    });

    it('finds the same partitions, head and records after a reopen, and appends after them', async () => {
      const partitions = await log.partitions();
      await log.append([
        uniqueOptOut(phoneNo(1)),
        optIn({ phone: phoneNo(1), eventId: `in-${randomUUID()}` }),
      ]);
      await log.append(spread(20, 10));
      const records = await readAll(log);
      const head = await log.head();
      expect(cursorOf(records).every((position, p) => position <= (head[p] ?? START))).toBe(true);

      const reopened = await reopen();
      expect(await reopened.partitions()).toBe(partitions);
      expect(await reopened.head()).toEqual(head);
      expect(await readAll(reopened)).toEqual(records);

      const [next] = await reopened.append([uniqueOptOut(phoneNo(1))]);
      const partitionOfPhone = records.find((r) => r.event.phone === phoneNo(1))?.partition;
      expect(next?.partition).toBe(partitionOfPhone);
      expect(next?.position).toBeGreaterThan(head[next?.partition ?? 0] ?? START);
      expect(await readAll(reopened)).toEqual(inLogOrder([...records, ...asRecords([next!])]));
    });
  });
}
