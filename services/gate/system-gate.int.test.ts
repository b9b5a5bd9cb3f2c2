import { rmSync } from 'node:fs';
import { scopeStates, type E164, type PhoneHistory, type Position } from '../ledger/index.js';
import { EmbeddedEventLog, type LogRecord, type Undecodable } from '../log/index.js';
import { MemoryView, ProjectorRunner, rowFor, type SystemView, type ViewAnswer } from '../projector/index.js';
import { eventually } from '../../test/support/eventually.js';
import { freshDir, phoneNo, uniqueOptOut } from '../../test/support/event-log-contract.js';
import { SystemGate } from './index.js';

/**
 * A system view over a MemoryView whose batches can be held back (a slow store) or made to fail (a
 * store that is down), to drive the gate's fail-closed rules without a real store.
 */
class HeldView implements SystemView {
  readonly kind = 'test';
  readonly readable = true;
  readonly inner = new MemoryView('inner');
  held: Promise<void> = Promise.resolve();
  readFails = false;
  readonly failsFor = new Set<E164>();

  constructor(readonly name = 'held') {}
  open = (): Promise<void> => Promise.resolve();
  close = (): Promise<void> => Promise.resolve();
  checkpoint = (partition: number): Promise<Position> => this.inner.checkpoint(partition);
  async applyBatch(records: readonly LogRecord[]): Promise<void> {
    await this.held;
    await this.inner.applyBatch(records);
  }
  quarantine = (record: Undecodable): Promise<void> => this.inner.quarantine(record);
  check(phone: E164, brand: string, program?: string): Promise<ViewAnswer> {
    if (this.readFails || this.failsFor.has(phone)) return Promise.reject(new Error('connection reset'));
    const state = rowFor(scopeStates(this.inner.history(phone)), brand, program);
    return Promise.resolve(
      state === undefined
        ? { status: 'no_record', allowed: true, since: null, eventId: null }
        : {
            status: state.status,
            allowed: state.allowed,
            since: state.cause?.occurredAt ?? null,
            eventId: state.cause?.eventId ?? null,
          },
    );
  }
  async *rows() {}
  repair = (_phone: E164, _history: PhoneHistory): Promise<void> => Promise.resolve();
  staging = (): never => {
    throw new Error('not in this test');
  };
}

describe('checks against a system view fail closed (docs/design.md §4)', () => {
  let dir: string;
  let log: EmbeddedEventLog;
  let view: HeldView;
  let runner: ProjectorRunner;
  let gate: SystemGate;
  /** What the gate reported of the store reads that failed. */
  let readErrors: string[];

  beforeEach(() => {
    dir = freshDir();
    log = EmbeddedEventLog.open(dir);
    view = new HeldView();
    runner = new ProjectorRunner(log, view, { retry: { initialMs: 10, maxMs: 50 } });
    readErrors = [];
    gate = new SystemGate(view, runner, {
      maxStalenessMs: 200,
      readWaitMs: 100,
      onReadError: (error) => readErrors.push(error instanceof Error ? error.message : String(error)),
    });
  });
  afterEach(async () => {
    await runner.stop();
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ask = (phone: E164, minPosition?: Position) =>
    gate.check(phone, {
      brand: 'acme',
      ...(minPosition !== undefined && { minPosition: [{ partition: 0, position: minPosition }] }),
    });

  it('while the view replays: unknown; once replayed: its answer', async () => {
    const phone = phoneNo(1);
    await log.append([uniqueOptOut(phone)]);
    let release = (): void => undefined;
    view.held = new Promise((resolve) => (release = resolve));
    runner.start();
    expect(await ask(phone)).toMatchObject({
      allowed: false,
      status: 'unknown',
      reason: 'view held is still replaying the log',
    });
    release();
    await runner.whenReady();
    expect(await ask(phone)).toMatchObject({ allowed: false, status: 'opted_out' });
    expect(await ask(phoneNo(2))).toMatchObject({ allowed: true, status: 'no_record' });
  });

  it('when the view lags beyond its bound: unknown, even for a number it would allow', async () => {
    runner.start();
    await runner.whenReady();
    let release = (): void => undefined;
    view.held = new Promise((resolve) => (release = resolve));
    const [stuck] = await log.append([uniqueOptOut(phoneNo(3))]);
    await eventually(async () => {
      expect(await ask(phoneNo(4))).toMatchObject({
        allowed: false,
        status: 'unknown',
        reason: expect.stringMatching(/ms behind the log \(bound 200 ms\)/) as string,
      });
    });
    release();
    expect(await ask(phoneNo(3), stuck?.position)).toMatchObject({ allowed: false, status: 'opted_out' });
    expect(await ask(phoneNo(4))).toMatchObject({ allowed: true });
  });

  it("when the caller's own write is not applied within the wait: unknown", async () => {
    runner.start();
    await runner.whenReady();
    let release = (): void => undefined;
    view.held = new Promise((resolve) => (release = resolve));
    const [write] = await log.append([uniqueOptOut(phoneNo(5))]);
    expect(await ask(phoneNo(5), write?.position)).toMatchObject({
      allowed: false,
      status: 'unknown',
      reason: expect.stringMatching(/has not applied position 0:\d+ yet/) as string,
    });
    release();
  });

  it('when the store cannot be read, or the gate is paused for a switch: unknown', async () => {
    runner.start();
    await runner.whenReady();
    view.readFails = true;
    expect(await ask(phoneNo(6))).toMatchObject({
      allowed: false,
      status: 'unknown',
      reason: 'view held could not be read: connection reset',
    });
    // Told, not only answered: an outage that fails every check closed shows in logs and metrics.
    expect(readErrors).toEqual(['connection reset']);
    view.readFails = false;
    gate.pause('view held is switching to its rebuilt store');
    expect(await ask(phoneNo(6))).toMatchObject({
      allowed: false,
      status: 'unknown',
      reason: 'view held is switching to its rebuilt store',
    });
    gate.resume();
    expect(await ask(phoneNo(6))).toMatchObject({ allowed: true, status: 'no_record' });
  });

  describe('the batch check through the view (POST /v1/suppressions/check?system=)', () => {
    const askMany = async (phones: readonly E164[], minPosition?: Position) =>
      (
        await gate.statusMany(phones, {
          brand: 'acme',
          ...(minPosition !== undefined && { minPosition: [{ partition: 0, position: minPosition }] }),
        })
      ).answers;

    it("answers each phone from the view's store; a phone whose read fails is unknown on its own", async () => {
      runner.start();
      await runner.whenReady();
      const [write] = await log.append([uniqueOptOut(phoneNo(10))]);
      view.failsFor.add(phoneNo(12));
      expect(await askMany([phoneNo(10), phoneNo(11), phoneNo(12)], write?.position)).toEqual([
        { allowed: false, status: 'opted_out' },
        { allowed: true, status: 'no_record' },
        { allowed: false, status: 'unknown' },
      ]);
      expect(readErrors).toEqual(['connection reset']);
    });

    it('while the view replays, or is paused: every phone unknown', async () => {
      let release = (): void => undefined;
      view.held = new Promise((resolve) => (release = resolve));
      runner.start();
      expect(await askMany([phoneNo(13), phoneNo(14)])).toEqual([
        { allowed: false, status: 'unknown' },
        { allowed: false, status: 'unknown' },
      ]);
      release();
      await runner.whenReady();
      gate.pause('switching');
      expect(await askMany([phoneNo(13)])).toEqual([{ allowed: false, status: 'unknown' }]);
    });

    it("when the caller's write is not applied in time: every phone unknown, after one wait, not one per phone", async () => {
      runner.start();
      await runner.whenReady();
      let release = (): void => undefined;
      view.held = new Promise((resolve) => (release = resolve));
      const [write] = await log.append([uniqueOptOut(phoneNo(15))]);
      const phones = Array.from({ length: 200 }, (_, i) => phoneNo(100 + i));
      const waits = jest.spyOn(runner, 'waitFor');
      const answers = await askMany(phones, write?.position);
      expect(waits).toHaveBeenCalledTimes(1);
      expect(answers.every((a) => !a.allowed && a.status === 'unknown')).toBe(true);
      release();
    });
  });
});
