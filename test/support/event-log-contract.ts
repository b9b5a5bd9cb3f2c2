import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isE164,
  LedgerError,
  START,
  type E164,
  type LedgerEvent,
  type Position,
  type Recorded,
} from '../../services/ledger/index.js';
import type { Appended, EventLog } from '../../services/log/index.js';
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

/** Every record of the log, read page by page. */
export async function readAll(log: EventLog, pageSize = 1000): Promise<readonly Recorded[]> {
  const all: Recorded[] = [];
  let after: Position = START;
  for (;;) {
    const page = await log.read(after, pageSize);
    const last = page[page.length - 1];
    if (last === undefined) return all;
    all.push(...page);
    after = last.position;
  }
}

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

/**
 * The behaviour every EventLog adapter owes its callers (services/log/port.ts). `open(dir)` opens the
 * adapter on the storage that `dir` names; opening the same `dir` again after close() must find the same
 * log (for a broker: derive the topic and group names from `dir`, which is unique per test).
 */
export function describeEventLogContract(name: string, open: (dir: string) => EventLog): void {
  describe(`EventLog contract: ${name}`, () => {
    let dir: string;
    let log: EventLog;

    beforeEach(() => {
      dir = freshDir();
      log = open(dir);
    });

    afterEach(async () => {
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    });

    async function reopen(): Promise<EventLog> {
      await log.close();
      log = open(dir);
      return log;
    }

    it('starts empty: head is START and nothing can be read', async () => {
      expect(await log.head()).toBe(START);
      expect(await log.read(START, 10)).toEqual([]);
      expect(await log.readPhone(phoneNo(1))).toEqual([]);
    });

    it('answers an empty append with no records', async () => {
      expect(await log.append([])).toEqual([]);
      expect(await log.head()).toBe(START);
    });

    it('gives increasing positions, within one append and across appends', async () => {
      const first = await log.append([uniqueOptOut(), uniqueOptOut(), uniqueOptOut()]);
      const second = await log.append([uniqueOptOut()]);
      const third = await log.append([uniqueOptOut(), uniqueOptOut()]);
      const positions = positionsOf([...first, ...second, ...third]);

      expect(positions).toHaveLength(6);
      expect(isAscending(positions)).toBe(true);
      expect([...first, ...second, ...third].every((a) => !a.duplicate)).toBe(true);
      expect(positions[0]).toBeGreaterThan(START);
    });

    it('acknowledges each event with the event it stored', async () => {
      const events = [uniqueOptOut(phoneNo(1)), optIn({ phone: phoneNo(2), eventId: `in-${randomUUID()}` })];
      const appended = await log.append(events);
      expect(appended.map((a) => a.event)).toEqual(events);
    });

    it('reads pages after a position, in log order, at most `limit` at a time', async () => {
      const events = Array.from({ length: 25 }, (_, i) => uniqueOptOut(phoneNo(i % 4)));
      const appended = await log.append(events);

      const firstPage = await log.read(START, 10);
      expect(positionsOf(firstPage)).toEqual(positionsOf(appended.slice(0, 10)));

      const pages: (readonly Recorded[])[] = [];
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

      const middle = appended[11];
      if (middle === undefined) throw new Error('25 events were appended');
      expect(idsOf(await log.read(middle.position, 3))).toEqual(idsOf(appended.slice(12, 15)));
      expect(await log.read(await log.head(), 10)).toEqual([]);
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
      expect(ofA.every((r) => r.event.phone === a)).toBe(true);
      expect(ofA.map((r) => r.event)).toEqual([events[0], events[2], events[4]]);
      expect(positionsOf(ofA)).toEqual(positionsOf(appended.filter((x) => x.event.phone === a)));
      expect(idsOf(await log.readPhone(b))).toEqual([events[1]?.eventId, events[5]?.eventId]);
      expect(await log.readPhone(phoneNo(9))).toEqual([]);
    });

    it('reports the newest position as head', async () => {
      await log.append([uniqueOptOut(), uniqueOptOut()]);
      const [last] = await log.append([uniqueOptOut()]);
      expect(await log.head()).toBe(last?.position);
    });

    describe('duplicates', () => {
      it('stores an event id once and acknowledges a repeat with the original event and position', async () => {
        const original = uniqueOptOut(phoneNo(1));
        const [first] = await log.append([original]);
        // Same id, different content: the log keeps what it recorded first.
        const retry = optIn({ phone: phoneNo(2), eventId: original.eventId, occurredAt: 42 });
        const [again] = await log.append([retry]);

        expect(first).toMatchObject({ duplicate: false });
        expect(again).toEqual<Appended>({ position: first!.position, event: original, duplicate: true });
        expect(idsOf(await readAll(log))).toEqual([original.eventId]);
        expect(await log.readPhone(phoneNo(2))).toEqual([]);
        expect(await log.head()).toBe(first?.position);
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
        expect((await readAll(log)).map((r) => r.event)).toEqual([a, b]);
      });

      it('stores an id once when two callers append it at the same time', async () => {
        const event = uniqueOptOut();
        const [one, two] = await Promise.all([log.append([event]), log.append([event])]);

        expect([one?.[0]?.duplicate, two?.[0]?.duplicate].sort()).toEqual([false, true]);
        expect(one?.[0]?.position).toBe(two?.[0]?.position);
        expect(idsOf(await readAll(log))).toEqual([event.eventId]);
      });
    });

    it('appends a group atomically: an unstorable event rejects its whole group, not a concurrent one', async () => {
      const before = uniqueOptOut(phoneNo(1), 'before');
      await log.append([before]);
      // A BigInt has no JSON (or Avro double) form: the second event of the group cannot be stored.
      const unstorable = {
        ...uniqueOptOut(phoneNo(2), 'unstorable'),
        evidence: { confidence: 1n },
      } as unknown as LedgerEvent;
      const doomed = [uniqueOptOut(phoneNo(2), 'doomed'), unstorable, uniqueOptOut(phoneNo(2), 'doomed')];
      const other = [uniqueOptOut(phoneNo(3), 'other'), uniqueOptOut(phoneNo(3), 'other')];

      const [failedGroup, otherGroup] = await Promise.allSettled([log.append(doomed), log.append(other)]);

      expect(failedGroup.status).toBe('rejected');
      expect(otherGroup.status).toBe('fulfilled');
      const stored = await readAll(log);
      expect(idsOf(stored)).toEqual([before.eventId, ...other.map((e) => e.eventId)]);
      expect(await log.readPhone(phoneNo(2))).toEqual([]);
      expect(stored.every((r) => r.position > START)).toBe(true);
      expect(isAscending(positionsOf(stored))).toBe(true);
      expect(await log.head()).toBe(stored[stored.length - 1]?.position);

      // The failed ids were never recorded, so a corrected retry is a first append, not a duplicate.
      const retried = await log.append([doomed[0]!]);
      expect(retried[0]?.duplicate).toBe(false);
    });

    it('keeps every event of 8 concurrent callers × 500 appends, at distinct positions', async () => {
      const callers = 8;
      const perCaller = 500;
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
        // Each caller awaited its previous append: its own events are in its order on the log.
        expect(isAscending(positionsOf(mine))).toBe(true);
      }
      const all = acknowledged.flat();
      expect(new Set(positionsOf(all)).size).toBe(callers * perCaller);
      const stored = await readAll(log, 700);
      expect(stored).toHaveLength(callers * perCaller);
      const storedAt = new Map(stored.map((r) => [r.event.eventId, r.position]));
      for (const appended of all) expect(storedAt.get(appended.event.eventId)).toBe(appended.position);
      for (let caller = 0; caller < callers; caller += 1) {
        expect(positionsOf(await log.readPhone(phoneNo(caller)))).toEqual(
          positionsOf(acknowledged[caller] ?? []),
        );
      }
    });

    describe('waitForAppend', () => {
      it('resolves at once when the log already holds a record after the position', async () => {
        const [first] = await log.append([uniqueOptOut(), uniqueOptOut()]);
        await expect(settledYet(log.waitForAppend(START))).resolves.toBe(true);
        await expect(settledYet(log.waitForAppend(first!.position))).resolves.toBe(true);
      });

      it('waits for the next append, then resolves', async () => {
        await log.append([uniqueOptOut()]);
        const waiting = log.waitForAppend(await log.head());
        expect(await settledYet(waiting)).toBe(false);

        await log.append([uniqueOptOut()]);
        await expect(waiting).resolves.toBeUndefined();
      });

      it('resolves when its signal aborts, with nothing appended', async () => {
        const controller = new AbortController();
        const waiting = log.waitForAppend(await log.head(), controller.signal);
        expect(await settledYet(waiting)).toBe(false);

        controller.abort();
        await expect(waiting).resolves.toBeUndefined();
        expect(await log.head()).toBe(START);
      });

      it('resolves at once for a signal that has already aborted', async () => {
        const controller = new AbortController();
        controller.abort();
        await expect(settledYet(log.waitForAppend(await log.head(), controller.signal))).resolves.toBe(true);
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

    it('finds the same records and head after a reopen, and appends after them', async () => {
      await log.append([
        uniqueOptOut(phoneNo(1)),
        optIn({ phone: phoneNo(1), eventId: `in-${randomUUID()}` }),
      ]);
      await log.append([uniqueOptOut(phoneNo(2))]);
      const records = await readAll(log);
      const head = await log.head();

      const reopened = await reopen();
      expect(await reopened.head()).toBe(head);
      expect(await readAll(reopened)).toEqual(records);
      expect(await reopened.readPhone(phoneNo(1))).toEqual(
        records.filter((r) => r.event.phone === phoneNo(1)),
      );

      const [next] = await reopened.append([uniqueOptOut()]);
      expect(next?.position).toBeGreaterThan(head);
      const [repeat] = await reopened.append([records[0]!.event]);
      expect(repeat).toMatchObject({ duplicate: true, position: records[0]?.position });
    });

    describe('position tokens', () => {
      it('round-trip every position through token and parseToken', async () => {
        const appended = await log.append([uniqueOptOut(), uniqueOptOut()]);
        for (const position of [START, ...positionsOf(appended)]) {
          const token = log.token(position);
          expect(typeof token).toBe('string');
          expect(log.parseToken(token)).toBe(position);
        }
      });

      it.each(['', 'abc', '-1', '1.5', '1e3', ' 7', '7 ', '0x10', '12abc', '9'.repeat(40), 'null'])(
        'rejects the garbage token %j with invalid_request',
        (garbage) => {
          let thrown: unknown;
          try {
            log.parseToken(garbage);
          } catch (error) {
            thrown = error;
          }
          expect(thrown).toBeInstanceOf(LedgerError);
          expect(thrown).toMatchObject({ code: 'invalid_request' });
        },
      );
    });
  });
}
