import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LedgerError, START, type E164, type LedgerEvent } from '../ledger/index.js';
import { EmbeddedEventLog } from './index.js';
import {
  describeEventLogContract,
  freshDir,
  phoneNo,
  readAll,
  uniqueOptOut,
} from '../../test/support/event-log-contract.js';

describeEventLogContract('embedded (SQLite)', (dir) => EmbeddedEventLog.open(dir));

// jest runs from the project root (package.json), where `make build` writes dist/.
const ROOT = process.cwd();
const COMPILED_LOG = join(ROOT, 'dist/services/log/index.js');
const CRASH_CHILD = join(ROOT, 'test/support/append-until-killed.cjs');

describe('EmbeddedEventLog', () => {
  let dir: string;
  let log: EmbeddedEventLog;

  beforeEach(() => {
    dir = freshDir();
    log = EmbeddedEventLog.open(dir);
  });

  afterEach(async () => {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
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
    expect((await readAll(log)).map((r) => r.position)).toEqual(everyPosition);
    expect(await log.head()).toBe(4000);
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
    const stored = await readAll(log);
    expect(stored.map((r) => r.event.eventId)).toEqual([before, ...earlier, ...later].map((e) => e.eventId));
    // The rolled-back rows leave no hole: positions stay 1, 2, 3 … and the next append follows on.
    expect(stored.map((r) => r.position)).toEqual([1, 2, 3, 4]);
    expect(await log.readPhone(phoneNo(2))).toEqual([]);
    expect(await log.head()).toBe(4);
    const [next] = await log.append([doomed[0]!]);
    expect(next).toMatchObject({ position: 5, duplicate: false });
  });

  it('stores an append made in the same tick as close() before closing', async () => {
    const event = uniqueOptOut();
    const appending = log.append([event]);
    await log.close();
    await expect(appending).resolves.toMatchObject([{ position: 1, duplicate: false }]);

    log = EmbeddedEventLog.open(dir);
    expect((await readAll(log)).map((r) => r.event)).toEqual([event]);
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
    const stored = new Set((await readAll(log)).map((r) => r.event.eventId));
    for (const [i, group] of [small, huge, smallAfter].entries()) {
      const acknowledged = outcomes[i]?.status === 'fulfilled';
      // Acknowledged ⇔ stored, for every caller: no stored event is reported lost, none lost acknowledged.
      for (const event of group)
        expect({ id: event.eventId, stored: stored.has(event.eventId) }).toEqual({
          id: event.eventId,
          stored: acknowledged,
        });
    }
    expect(await log.head()).toBe(Math.max(...(await readAll(log)).map((r) => r.position)));
  });

  it('keeps a second process off the same data directory, saying why', () => {
    expect(() => EmbeddedEventLog.open(dir)).toThrow(/in use by another ledger process/);
  });

  it('rejects reads after close instead of throwing', async () => {
    await log.close();
    await expect(log.read(START, 10)).rejects.toMatchObject({ code: 'unavailable' });
    await expect(log.readPhone(phoneNo(1))).rejects.toMatchObject({ code: 'unavailable' });
    await expect(log.checkpoints.get('x')).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('refuses appends after close with "unavailable"', async () => {
    await log.close();
    const refused = log.append([uniqueOptOut()]);
    await expect(refused).rejects.toBeInstanceOf(LedgerError);
    await expect(refused).rejects.toMatchObject({ code: 'unavailable' });
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
        const [eventId = '', position = ''] = line.split(' ');
        return [eventId, Number(position)];
      }),
    );
    const log = EmbeddedEventLog.open(dir);
    logs.push(log);
    const stored = await readAll(log);
    const storedAt = new Map(stored.map((r) => [r.event.eventId, r.position]));

    const lost = [...acknowledged].filter(([eventId, position]) => storedAt.get(eventId) !== position);
    expect(lost).toEqual([]);
    expect(stored.map((r) => r.position)).toEqual(Array.from({ length: stored.length }, (_, i) => i + 1));
    expect(storedAt.size).toBe(stored.length);
    expect(await log.head()).toBe(stored.length);
    expect(stored.length).toBeGreaterThanOrEqual(acknowledged.size);
  });
});
