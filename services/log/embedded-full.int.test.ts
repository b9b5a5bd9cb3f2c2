import { rmSync } from 'node:fs';
import { LedgerError, type LedgerEvent } from '../ledger/index.js';
import { EmbeddedEventLog, type Appended } from './index.js';
import { storageError } from './embedded.js';
import { freshDir, phoneNo, readAllEmbedded, uniqueOptOut } from '../../test/support/event-log-contract.js';
import { eventually } from '../../test/support/eventually.js';

/**
 * A full disk, for real: SQLite's max_page_count caps the file, and the append that needs one page
 * more fails with SQLite's own SQLITE_FULL, exactly as on a disk with no space left.
 */
const SMALL_LOG_BYTES = 64 * 1024;

/** A STOP with a long raw text, so the cap is reached in a few dozen appends. */
const bulky = (i: number): LedgerEvent => {
  const event = uniqueOptOut(phoneNo(i), 'full');
  return { ...event, evidence: { ...event.evidence, rawText: `STOP ${'x'.repeat(1500)} ${i}` } };
};

/** Appends one at a time until the log refuses; what was acknowledged, and the refusal. */
async function fill(log: EmbeddedEventLog): Promise<{ acknowledged: Appended[]; refusal: unknown }> {
  const acknowledged: Appended[] = [];
  for (let i = 0; i < 10_000; i++) {
    try {
      acknowledged.push(...(await log.append([bulky(i)])));
    } catch (refusal) {
      return { acknowledged, refusal };
    }
  }
  throw new Error('the capped log never filled up');
}

describe('the embedded log on a full disk', () => {
  let dir: string;
  let log: EmbeddedEventLog | undefined;

  beforeEach(() => {
    dir = freshDir('ledger-full-');
  });
  afterEach(async () => {
    await log?.close();
    log = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses the append as retriable `unavailable` (not an internal error), and loses nothing it acknowledged', async () => {
    log = EmbeddedEventLog.open(dir, { maxBytes: SMALL_LOG_BYTES });
    const { acknowledged, refusal } = await fill(log);

    expect(acknowledged.length).toBeGreaterThan(5);
    expect(refusal).toBeInstanceOf(LedgerError);
    expect(refusal).toMatchObject({ code: 'unavailable' });
    expect((refusal as LedgerError).message).toMatch(/disk is full.*SQLITE_FULL.*retry/);
    expect(((refusal as LedgerError).cause as { code?: string }).code).toBe('SQLITE_FULL');

    await log.close();
    log = EmbeddedEventLog.open(dir);
    const stored = await readAllEmbedded(log);
    expect(stored.map((r) => r.event.eventId)).toEqual(acknowledged.map((a) => a.event.eventId));
  });

  it('says it is not writable while appends fail, and writable again once space is freed, without an append', async () => {
    log = EmbeddedEventLog.open(dir, { maxBytes: SMALL_LOG_BYTES });
    expect(await log.writable()).toBeUndefined();
    await fill(log);

    // The first question after a refusal is answered by a probe write, which meets the same full disk.
    expect(await log.writable()).toMatch(/disk is full/);

    log.limitSize(1024 * 1024);
    await eventually(async () => expect(await log?.writable()).toBeUndefined(), { timeoutMs: 3000 });
    const [after] = await log.append([bulky(99_999)]);
    expect(after?.duplicate).toBe(false);
  });

  it('a successful append after a refusal clears the refusal at once', async () => {
    log = EmbeddedEventLog.open(dir, { maxBytes: SMALL_LOG_BYTES });
    await fill(log);
    log.limitSize(1024 * 1024);
    await log.append([bulky(12_345)]);
    expect(await log.writable()).toBeUndefined();
  });
});

describe('storage errors become a retriable `unavailable`; anything else stays what it was', () => {
  it.each([
    'SQLITE_FULL',
    'SQLITE_IOERR',
    'SQLITE_IOERR_WRITE',
    'SQLITE_IOERR_FSYNC',
    'ENOSPC',
    'EIO',
    'EROFS',
  ])('%s', (code) => {
    const mapped = storageError(Object.assign(new Error('boom'), { code }));
    expect(mapped).toMatchObject({ code: 'unavailable' });
    expect(mapped?.message).toContain(code);
  });

  it.each(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_ERROR', undefined])('%s is not a storage error', (code) => {
    expect(storageError(Object.assign(new Error('boom'), { code }))).toBeUndefined();
  });
});
