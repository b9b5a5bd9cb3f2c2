import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  LedgerError,
  START,
  asPosition,
  type E164,
  type LedgerEvent,
  type Position,
} from '../ledger/index.js';
import {
  cursorToken,
  EmbeddedEventLog,
  parseToken,
  pointToken,
  reached,
  type Appended,
  type Cursor,
  type LogPoint,
  type LogRecord,
} from './index.js';
import {
  describeEventLogContract,
  follow,
  freshDir,
  phoneNo,
  readAll,
  readAllEmbedded,
  uniqueOptOut,
  type Follower,
} from '../../test/support/event-log-contract.js';
import { caught } from '../../test/support/caught.js';
import { eventually } from '../../test/support/eventually.js';
import { optIn, suspected } from '../../test/support/given.js';

describeEventLogContract('embedded (SQLite)', (dir) => EmbeddedEventLog.open(dir));

// jest runs from the project root (package.json), where `make build` writes dist/.
const ROOT = process.cwd();
const COMPILED_LOG = join(ROOT, 'dist/services/log/index.js');
const CRASH_CHILD = join(ROOT, 'test/support/append-until-killed.cjs');

const positionsOf = (items: readonly { readonly position: Position }[]): Position[] =>
  items.map((item) => item.position);
const idsOf = (items: readonly { readonly event: LedgerEvent }[]): string[] =>
  items.map((item) => item.event.eventId);

function isAscending(values: readonly number[]): boolean {
  return values.every((value, i) => i === 0 || value > (values[i - 1] ?? -Infinity));
}

/** Settles on the next turn of the event loop, to tell "resolved already" from "still waiting". */
function settledYet(promise: Promise<unknown>): Promise<boolean> {
  return Promise.race([
    promise.then(() => true),
    new Promise<boolean>((resolve) => setImmediate(() => resolve(false))),
  ]);
}

describe('EmbeddedEventLog', () => {
  let dir: string;
  let log: EmbeddedEventLog;
  let followers: Follower[];

  beforeEach(() => {
    dir = freshDir();
    log = EmbeddedEventLog.open(dir);
    followers = [];
  });

  afterEach(async () => {
    await Promise.all(followers.map((f) => f.stop()));
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function reopen(): Promise<EmbeddedEventLog> {
    await log.close();
    log = EmbeddedEventLog.open(dir);
    return log;
  }

  it('is one partition: kind "embedded", partitions() 1, every record in partition 0', async () => {
    expect(log.kind).toBe('embedded');
    expect(await log.partitions()).toBe(1);
    const appended = await log.append(Array.from({ length: 10 }, (_, i) => uniqueOptOut(phoneNo(i))));
    expect(appended.map((a) => a.partition)).toEqual(Array.from({ length: 10 }, () => 0));
    expect((await readAllEmbedded(log)).every((r) => r.partition === 0)).toBe(true);
  });

  it('starts empty: head is [0], last is 0 and nothing can be read', async () => {
    expect(await log.head()).toEqual([START]);
    expect(log.last).toBe(START);
    expect(await log.read(START, 10)).toEqual([]);
    expect(await log.readPhone(phoneNo(1))).toEqual([]);
  });

  it('reports the newest position as head() [last] and as `last`', async () => {
    await log.append([uniqueOptOut(), uniqueOptOut()]);
    const [newest] = await log.append([uniqueOptOut()]);
    expect(newest?.position).toBe(3);
    expect(await log.head()).toEqual([newest?.position]);
    expect(log.last).toBe(newest?.position);
  });

  it('numbers records 1, 2, 3 … without gaps under 8 concurrent callers × 500 appends', async () => {
    const acknowledged = await Promise.all(
      Array.from({ length: 8 }, async (_, caller) => {
        const mine: number[] = [];
        for (let i = 0; i < 500; i += 1) {
          const [appended] = await log.append([uniqueOptOut(phoneNo(caller))]);
          if (appended !== undefined) mine.push(appended.position);
        }
        return mine;
      }),
    );

    const everyPosition = acknowledged.flat().sort((a, b) => a - b);
    expect(everyPosition).toEqual(Array.from({ length: 4000 }, (_, i) => i + 1));
    expect((await readAllEmbedded(log, 700)).map((r) => r.position)).toEqual(everyPosition);
    expect(await log.head()).toEqual([4000]);
    expect(log.last).toBe(4000);
    for (let caller = 0; caller < 8; caller += 1) {
      expect(positionsOf(await log.readPhone(phoneNo(caller)))).toEqual(acknowledged[caller]);
    }
  });

  it('reads pages after a position, in log order, at most `limit` at a time', async () => {
    const events = Array.from({ length: 25 }, (_, i) => uniqueOptOut(phoneNo(i % 4)));
    const appended = await log.append(events);

    const firstPage = await log.read(START, 10);
    expect(positionsOf(firstPage)).toEqual(positionsOf(appended.slice(0, 10)));

    const pages: (readonly LogRecord[])[] = [];
    let after: Position = START;
    for (;;) {
      const page = await log.read(after, 7);
      const last = page[page.length - 1];
      if (last === undefined) break;
      expect(page.length).toBeLessThanOrEqual(7);
      pages.push(page);
      after = last.position;
    }
    const all = pages.flat();
    expect(pages.map((page) => page.length)).toEqual([7, 7, 7, 4]);
    expect(positionsOf(all)).toEqual(positionsOf(appended));
    expect(all.map((r) => r.event)).toEqual(events);
    expect(all.every((r) => r.partition === 0)).toBe(true);

    const middle = appended[11];
    if (middle === undefined) throw new Error('25 events were appended');
    expect(idsOf(await log.read(middle.position, 3))).toEqual(idsOf(appended.slice(12, 15)));
    expect(await log.read(log.last, 10)).toEqual([]);
  });

  it('reads one phone: only its records, in log order', async () => {
    const [a, b, c] = [phoneNo(1), phoneNo(2), phoneNo(3)];
    const events = [
      uniqueOptOut(a),
      uniqueOptOut(b),
      optIn({ phone: a, eventId: `in-${randomUUID()}` }),
      uniqueOptOut(c),
      suspected({ phone: a, eventId: `suspected-${randomUUID()}` }),
      uniqueOptOut(b),
    ];
    const appended = [...(await log.append(events.slice(0, 3))), ...(await log.append(events.slice(3)))];

    const ofA = await log.readPhone(a);
    expect(ofA.every((r) => r.event.phone === a && r.partition === 0)).toBe(true);
    expect(ofA.map((r) => r.event)).toEqual([events[0], events[2], events[4]]);
    expect(positionsOf(ofA)).toEqual(positionsOf(appended.filter((x) => x.event.phone === a)));
    expect(idsOf(await log.readPhone(b))).toEqual([events[1]?.eventId, events[5]?.eventId]);
    expect(await log.readPhone(phoneNo(9))).toEqual([]);
  });

  it('hands consume() batches of at most 2000 records, with the head it knows', async () => {
    await log.append(Array.from({ length: 4500 }, (_, i) => uniqueOptOut(phoneNo(i % 50))));
    const follower = follow(log);
    followers.push(follower);
    await eventually(() => expect(follower.cursor).toEqual([4500]));

    expect(follower.problems).toEqual([]);
    expect(follower.asked).toEqual([0]);
    expect(follower.batches.map((b) => b.positions.length)).toEqual([2000, 2000, 500]);
    expect(follower.batches.map((b) => [b.partition, b.head])).toEqual([
      [0, 4500],
      [0, 4500],
      [0, 4500],
    ]);
    expect(positionsOf(follower.records)).toEqual(Array.from({ length: 4500 }, (_, i) => i + 1));
  });

  describe('duplicates', () => {
    it('stores an event id once and acknowledges a repeat with the original event and position', async () => {
      const original = uniqueOptOut(phoneNo(1));
      const [first] = await log.append([original]);
      // Same id, different content: the log keeps what it recorded first.
      const retry = optIn({ phone: phoneNo(2), eventId: original.eventId, occurredAt: 42 });
      const [again] = await log.append([retry]);

      expect(first).toMatchObject({ duplicate: false });
      expect(again).toEqual<Appended>({
        partition: 0,
        position: first!.position,
        event: original,
        duplicate: true,
      });
      expect(idsOf(await readAllEmbedded(log))).toEqual([original.eventId]);
      expect(idsOf(await readAll(log))).toEqual([original.eventId]);
      expect(await log.readPhone(phoneNo(2))).toEqual([]);
      expect(await log.head()).toEqual([first?.position]);
    });

    it('stores a repeated id once within one append, in place of the first', async () => {
      const a = uniqueOptOut(phoneNo(1));
      const b = uniqueOptOut(phoneNo(2));
      const aAgain = optIn({ phone: phoneNo(1), eventId: a.eventId });
      const appended = await log.append([a, b, aAgain]);

      expect(appended.map((x) => x.duplicate)).toEqual([false, false, true]);
      expect(appended[2]?.position).toBe(appended[0]?.position);
      expect(appended[2]?.event).toEqual(a);
      expect(isAscending(positionsOf(appended.slice(0, 2)))).toBe(true);
      expect((await readAllEmbedded(log)).map((r) => r.event)).toEqual([a, b]);
    });

    it('stores an id once when two callers append it at the same time', async () => {
      const event = uniqueOptOut();
      const [one, two] = await Promise.all([log.append([event]), log.append([event])]);

      expect([one?.[0]?.duplicate, two?.[0]?.duplicate].sort()).toEqual([false, true]);
      expect(one?.[0]?.position).toBe(two?.[0]?.position);
      expect(idsOf(await readAllEmbedded(log))).toEqual([event.eventId]);
    });

    it('hands a consumer a duplicate append never again', async () => {
      const follower = follow(log);
      followers.push(follower);
      const event = uniqueOptOut();
      const [first] = await log.append([event]);
      await log.append([event]);
      const [next] = await log.append([uniqueOptOut()]);
      await eventually(() => expect(follower.cursor).toEqual([next?.position]));
      expect(positionsOf(follower.records)).toEqual([first?.position, next?.position]);
    });
  });

  it('appends a group atomically: an unserialisable event rejects its whole group, not a concurrent one', async () => {
    const before = uniqueOptOut(phoneNo(1), 'before');
    await log.append([before]);
    const unstorable = {
      ...uniqueOptOut(phoneNo(2), 'unstorable'),
      evidence: { confidence: 1n },
    } as unknown as LedgerEvent;
    const doomed = [uniqueOptOut(phoneNo(2), 'doomed'), unstorable, uniqueOptOut(phoneNo(2), 'doomed')];
    const other = [uniqueOptOut(phoneNo(3), 'other'), uniqueOptOut(phoneNo(3), 'other')];

    const [failedGroup, otherGroup] = await Promise.allSettled([log.append(doomed), log.append(other)]);

    expect(failedGroup).toMatchObject({ status: 'rejected', reason: { code: 'internal' } });
    expect(otherGroup.status).toBe('fulfilled');
    const stored = await readAllEmbedded(log);
    expect(idsOf(stored)).toEqual([before.eventId, ...other.map((e) => e.eventId)]);
    expect(positionsOf(stored)).toEqual([1, 2, 3]);
    expect(await log.readPhone(phoneNo(2))).toEqual([]);
    expect(await log.head()).toEqual([3]);
  });

  it('rolls back only the failing group when SQLite rejects a row mid-commit (NOT NULL)', async () => {
    const before = uniqueOptOut(phoneNo(1), 'before');
    await log.append([before]);
    // A phone SQLite refuses (events.phone is NOT NULL): the constraint fails inside the shared group
    // commit, after the earlier caller's rows and this group's first row were already inserted.
    const noPhone = { ...uniqueOptOut(phoneNo(2), 'no-phone'), phone: null as unknown as E164 };
    const earlier = [uniqueOptOut(phoneNo(3), 'earlier'), uniqueOptOut(phoneNo(3), 'earlier')];
    const doomed: LedgerEvent[] = [uniqueOptOut(phoneNo(2), 'doomed'), noPhone, uniqueOptOut(phoneNo(2))];
    const later = [uniqueOptOut(phoneNo(4), 'later')];

    const [a, b, c] = await Promise.allSettled([log.append(earlier), log.append(doomed), log.append(later)]);

    expect(b).toMatchObject({
      status: 'rejected',
      reason: { message: expect.stringMatching(/NOT NULL/) as unknown },
    });
    expect(a.status === 'fulfilled' && a.value.map((x) => x.position)).toEqual([2, 3]);
    expect(c.status === 'fulfilled' && c.value.map((x) => x.position)).toEqual([4]);
    const stored = await readAllEmbedded(log);
    expect(stored.map((r) => r.event.eventId)).toEqual([before, ...earlier, ...later].map((e) => e.eventId));
    // The rolled-back rows leave no hole: positions stay 1, 2, 3 … and the next append follows on.
    expect(stored.map((r) => r.position)).toEqual([1, 2, 3, 4]);
    expect(await log.readPhone(phoneNo(2))).toEqual([]);
    expect(await log.head()).toEqual([4]);
    const [next] = await log.append([doomed[0]!]);
    expect(next).toMatchObject({ partition: 0, position: 5, duplicate: false });
  });

  it('stores an append made in the same tick as close() before closing', async () => {
    const event = uniqueOptOut();
    const appending = log.append([event]);
    await log.close();
    await expect(appending).resolves.toMatchObject([{ partition: 0, position: 1, duplicate: false }]);

    log = EmbeddedEventLog.open(dir);
    expect((await readAllEmbedded(log)).map((r) => r.event)).toEqual([event]);
  });

  it('answers every caller truthfully when the shared transaction itself is lost (disk full)', async () => {
    await log.append([uniqueOptOut(phoneNo(1), 'first')]);
    // No public knob fills a disk: cap the file at its current size through the connection, so the
    // next growth fails with SQLITE_FULL, which can abort the whole group commit, not one savepoint.
    const db = (log as unknown as { db: { pragma(sql: string, o?: object): unknown } }).db;
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages + 2}`);
    const small = [uniqueOptOut(phoneNo(2), 'small-a')];
    const huge = Array.from({ length: 400 }, (_, i) => ({
      ...uniqueOptOut(phoneNo(3), `huge-${i}`),
      evidence: { note: 'x'.repeat(1800) },
    }));
    const smallAfter = [uniqueOptOut(phoneNo(4), 'small-b')];

    const outcomes = await Promise.allSettled([log.append(small), log.append(huge), log.append(smallAfter)]);

    expect(outcomes[1]?.status).toBe('rejected');
    const storedRecords = await readAllEmbedded(log);
    const stored = new Set(storedRecords.map((r) => r.event.eventId));
    for (const [i, group] of [small, huge, smallAfter].entries()) {
      const acknowledged = outcomes[i]?.status === 'fulfilled';
      // Acknowledged ⇔ stored, for every caller: no stored event is reported lost, none lost acknowledged.
      for (const event of group)
        expect({ id: event.eventId, stored: stored.has(event.eventId) }).toEqual({
          id: event.eventId,
          stored: acknowledged,
        });
    }
    const newest = Math.max(...storedRecords.map((r) => r.position));
    expect(await log.head()).toEqual([newest]);
    expect(log.last).toBe(newest);
  });

  it('keeps a second process off the same data directory, saying why', () => {
    expect(() => EmbeddedEventLog.open(dir)).toThrow(/in use by another ledger process/);
  });

  it('rejects reads after close instead of throwing', async () => {
    await log.close();
    await expect(log.read(START, 10)).rejects.toMatchObject({ code: 'unavailable' });
    await expect(log.readPhone(phoneNo(1))).rejects.toMatchObject({ code: 'unavailable' });
    await expect(log.head()).rejects.toMatchObject({ code: 'unavailable' });
    await expect(log.checkpoints.get('x')).rejects.toMatchObject({ code: 'unavailable' });
    await expect(log.checkpoints.set('x', asPosition(1))).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('refuses appends after close with "unavailable"', async () => {
    await log.close();
    const refused = log.append([uniqueOptOut()]);
    await expect(refused).rejects.toBeInstanceOf(LedgerError);
    await expect(refused).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('ends a consumption when the log closes under it; stop() still resolves', async () => {
    const follower = follow(log);
    followers.push(follower);
    const [first] = await log.append([uniqueOptOut()]);
    await eventually(() => expect(follower.cursor).toEqual([first?.position]));

    await log.close();
    await expect(follower.stop()).resolves.toBeUndefined();
    expect(follower.problems).toEqual([]);
  });

  describe('waitForAppend', () => {
    it('resolves at once when the log already holds a record after the position', async () => {
      const [first] = await log.append([uniqueOptOut(), uniqueOptOut()]);
      await expect(settledYet(log.waitForAppend(START))).resolves.toBe(true);
      await expect(settledYet(log.waitForAppend(first!.position))).resolves.toBe(true);
    });

    it('waits for the next append, then resolves', async () => {
      await log.append([uniqueOptOut()]);
      const waiting = log.waitForAppend(log.last);
      expect(await settledYet(waiting)).toBe(false);

      await log.append([uniqueOptOut()]);
      await expect(waiting).resolves.toBeUndefined();
    });

    it('resolves when its signal aborts, with nothing appended', async () => {
      const controller = new AbortController();
      const waiting = log.waitForAppend(log.last, controller.signal);
      expect(await settledYet(waiting)).toBe(false);

      controller.abort();
      await expect(waiting).resolves.toBeUndefined();
      expect(await log.head()).toEqual([START]);
    });

    it('resolves at once for a signal that has already aborted', async () => {
      const controller = new AbortController();
      controller.abort();
      await expect(settledYet(log.waitForAppend(log.last, controller.signal))).resolves.toBe(true);
    });

    it('resolves when the log closes', async () => {
      const waiting = log.waitForAppend(log.last);
      expect(await settledYet(waiting)).toBe(false);
      await log.close();
      await expect(waiting).resolves.toBeUndefined();
    });
  });

  describe('checkpoints', () => {
    it('are START for a consumer that never set one, and kept per consumer', async () => {
      expect(await log.checkpoints.get('memory')).toBe(START);
      const [, second] = await log.append([uniqueOptOut(), uniqueOptOut()]);
      const [third] = await log.append([uniqueOptOut()]);

      await log.checkpoints.set('memory', second!.position);
      await log.checkpoints.set('redis', third!.position);
      expect(await log.checkpoints.get('memory')).toBe(second?.position);
      expect(await log.checkpoints.get('redis')).toBe(third?.position);

      await log.checkpoints.set('memory', third!.position);
      expect(await log.checkpoints.get('memory')).toBe(third?.position);
      expect(await log.checkpoints.get('postgres')).toBe(START);
    });

    it('survive a reopen', async () => {
      const [first, second] = await log.append([uniqueOptOut(), uniqueOptOut()]);
      await log.checkpoints.set('memory', second!.position);
      await log.checkpoints.set('crm', first!.position);

      const reopened = await reopen();
      expect(await reopened.checkpoints.get('memory')).toBe(second?.position);
      expect(await reopened.checkpoints.get('crm')).toBe(first?.position);
    });
  });

  it('finds the same records, phone histories and head after a reopen; a repeat there is a duplicate', async () => {
    await log.append([uniqueOptOut(phoneNo(1)), optIn({ phone: phoneNo(1), eventId: `in-${randomUUID()}` })]);
    await log.append([uniqueOptOut(phoneNo(2))]);
    const records = await readAllEmbedded(log);
    const head = await log.head();

    const reopened = await reopen();
    expect(await reopened.head()).toEqual(head);
    expect(reopened.last).toBe(3);
    expect(await readAllEmbedded(reopened)).toEqual(records);
    expect(await reopened.readPhone(phoneNo(1))).toEqual(records.filter((r) => r.event.phone === phoneNo(1)));

    const [next] = await reopened.append([uniqueOptOut()]);
    expect(next).toMatchObject({ partition: 0, position: 4, duplicate: false });
    const [repeat] = await reopened.append([records[0]!.event]);
    expect(repeat).toMatchObject({ partition: 0, duplicate: true, position: records[0]?.position });
  });
});

describe('position tokens', () => {
  const point = (partition: number, position: number): LogPoint => ({
    partition,
    position: asPosition(position),
  });

  it('round-trips a point through pointToken and parseToken', () => {
    for (const p of [point(0, 0), point(0, 1), point(0, 4000), point(3, 17), point(11, 999_999_999_999)]) {
      const token = pointToken(p);
      expect(token).toBe(`${p.partition}:${p.position}`);
      expect(parseToken(token)).toEqual([p]);
    }
  });

  it('reads a bare "N" as position N of partition 0 (the embedded log)', () => {
    expect(parseToken('0')).toEqual([point(0, 0)]);
    expect(parseToken('42')).toEqual([point(0, 42)]);
    expect(parseToken('42,1:7')).toEqual([point(0, 42), point(1, 7)]);
  });

  it('round-trips a cursor through cursorToken and parseToken, one point per partition', () => {
    const cursor: Cursor = [asPosition(5), asPosition(0), asPosition(12)];
    const token = cursorToken(cursor);
    expect(token).toBe('0:5,1:0,2:12');
    expect(parseToken(token)).toEqual([point(0, 5), point(1, 0), point(2, 12)]);
    expect(parseToken(cursorToken([asPosition(9)]))).toEqual([point(0, 9)]);
  });

  it('answers what a reader must reach: reached(cursor, points)', () => {
    const cursor: Cursor = [asPosition(5), asPosition(0), asPosition(12)];
    expect(reached(cursor, parseToken('0:5,2:12'))).toBe(true);
    expect(reached(cursor, parseToken('5'))).toBe(true);
    expect(reached(cursor, parseToken('6'))).toBe(false);
    expect(reached(cursor, parseToken('1:1'))).toBe(false);
    expect(reached(cursor, parseToken('3:0'))).toBe(true);
    expect(reached(cursor, parseToken('3:1'))).toBe(false);
    expect(reached(cursor, [])).toBe(true);
  });

  // An empty cursor (a view that has applied nothing yet, e.g. an empty ledger) and a sparse one (a view
  // on several partitions that has applied only partition 1 so far) are what the check API reports as
  // `asOf`; a client hands that back as minPosition.
  it('parses what cursorToken writes for an empty or a sparse cursor, meaning what it said', () => {
    const sparse: Position[] = [];
    sparse[1] = asPosition(4);
    expect(reached([], parseToken(cursorToken([])))).toBe(true);
    expect(parseToken(cursorToken(sparse))).toEqual([
      { partition: 0, position: 0 },
      { partition: 1, position: 4 },
    ]);
    expect(reached([], parseToken(cursorToken(sparse)))).toBe(false);
    expect(reached(sparse, parseToken(cursorToken(sparse)))).toBe(true);
  });

  it.each([
    '',
    'abc',
    '-1',
    '1.5',
    '1e3',
    '0x10',
    '12abc',
    '9'.repeat(40),
    'null',
    ':5',
    '1:',
    '1:2:3',
    '1;2',
    ',',
    '1,',
    ',1',
    '1,,2',
    '1:-2',
    '-1:2',
    '123456:1',
  ])('rejects the garbage token %j with invalid_request', (garbage) => {
    const error = caught(() => parseToken(garbage));
    expect(error).toBeInstanceOf(LedgerError);
    expect(error.code).toBe('invalid_request');
  });

  it('takes a list of up to 4096 points, and rejects a longer one with invalid_request', () => {
    const list = (n: number): string => Array.from({ length: n }, (_, p) => `${p}:1`).join(',');
    expect(parseToken(list(4096))).toHaveLength(4096);
    expect(caught(() => parseToken(list(4097))).code).toBe('invalid_request');
  });
});

describe('EmbeddedEventLog after a crash', () => {
  const dirs: string[] = [];
  const logs: EmbeddedEventLog[] = [];

  afterEach(async () => {
    await Promise.all(logs.splice(0).map((log) => log.close()));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('loses no acknowledged append when the process is killed mid-stream (SIGKILL)', async () => {
    if (!existsSync(COMPILED_LOG)) {
      throw new Error(`${COMPILED_LOG} is missing: run "make build" before the integration tests`);
    }
    const dir = freshDir('ledger-crash-');
    dirs.push(dir);
    const child = spawn(process.execPath, [CRASH_CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let acknowledgedSoFar = 0;
    // 'close', not 'exit': lines still in the pipe when the child dies were acknowledged too.
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      child.stdout.on('data', (chunk: Buffer) => {
        const text = chunk.toString();
        stdout += text;
        acknowledgedSoFar += text.split('\n').length - 1;
        if (acknowledgedSoFar >= 300) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    child.kill('SIGKILL');
    const exit = await exited;
    // Lines the child finished writing before it died; a torn last line is ignored.
    const lines = stdout.split('\n').slice(0, -1);
    expect({ exit, stderr }).toEqual({ exit: { code: null, signal: 'SIGKILL' }, stderr: '' });
    expect(lines.length).toBeGreaterThan(0);

    const acknowledged = new Map(
      lines.map((line) => {
        const [eventId = '', point = ''] = line.split(' ');
        return [eventId, point];
      }),
    );
    const log = EmbeddedEventLog.open(dir);
    logs.push(log);
    const stored = await readAllEmbedded(log);
    const storedAt = new Map(stored.map((r) => [r.event.eventId, pointToken(r)]));

    const lost = [...acknowledged].filter(([eventId, point]) => storedAt.get(eventId) !== point);
    expect(lost).toEqual([]);
    expect(stored.map((r) => r.position)).toEqual(Array.from({ length: stored.length }, (_, i) => i + 1));
    expect(storedAt.size).toBe(stored.length);
    expect(await log.head()).toEqual([stored.length]);
    expect(stored.length).toBeGreaterThanOrEqual(acknowledged.size);
    // Through the port too: a consumer from 0 finds the same records.
    expect(await readAll(log)).toEqual(stored);
  });
});
