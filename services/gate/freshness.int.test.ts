import { rmSync } from 'node:fs';
import type { E164, LedgerEvent, Position } from '../ledger/index.js';
import {
  EmbeddedEventLog,
  type Appended,
  type ConsumerSpec,
  type Consumption,
  type Cursor,
  type EventLog,
} from '../log/index.js';
import { MemoryView, ProjectorRunner } from '../projector/index.js';
import { eventually } from '../../test/support/eventually.js';
import { freshDir, phoneNo, uniqueOptOut } from '../../test/support/event-log-contract.js';
import { Gate } from './index.js';

/**
 * The embedded log as a gate in another process sees a broker: it can be cut off (the head cannot be
 * read and nothing is delivered, as with a broker killed or hung) while the intake process goes on
 * appending, and its head can be made to go backwards (a topic deleted and recreated under the gate).
 */
class SeverableLog implements EventLog {
  readonly kind = 'embedded';
  /** The spec the runner consumes with, to drive the transport's own callbacks. */
  spec: ConsumerSpec | undefined;
  /** Replaces the real head while set: a recreated topic. */
  fakeHead: Cursor | undefined;
  /** While set, a head read now is answered only once it resolves: a slow round trip. */
  slowHead: Promise<void> | undefined;
  headsAsked = 0;
  private severed: { promise: Promise<void>; restore: () => void } | undefined;

  constructor(readonly inner: EmbeddedEventLog) {}

  cut(): void {
    let restore = (): void => undefined;
    const promise = new Promise<void>((resolve) => (restore = resolve));
    this.severed = { promise, restore };
  }

  restore(): void {
    this.severed?.restore();
    this.severed = undefined;
  }

  partitions = (): Promise<number> => this.inner.partitions();
  append = (events: readonly LedgerEvent[]): Promise<readonly Appended[]> => this.inner.append(events);
  close = (): Promise<void> => this.inner.close();

  async head(): Promise<Cursor> {
    this.headsAsked += 1;
    if (this.severed !== undefined) throw new Error('connect ECONNREFUSED 127.0.0.1:9092');
    const head = this.fakeHead ?? (await this.inner.head());
    await this.slowHead;
    return head;
  }

  consume(spec: ConsumerSpec): Consumption {
    this.spec = spec;
    return this.inner.consume({
      ...spec,
      deliver: async (records, delivery) => {
        // Held before the runner sees it: what a fetch that never returns looks like from the view.
        while (this.severed !== undefined) await this.severed.promise;
        await spec.deliver(records, delivery);
      },
    });
  }
}

const BOUND_MS = 300;

describe('the gate answers only as current as the last moment it knew it had the whole log (issue 10)', () => {
  let dir: string;
  let log: SeverableLog;
  let runner: ProjectorRunner;
  let gate: Gate;
  let skewMs: number;

  beforeEach(() => {
    dir = freshDir();
    log = new SeverableLog(EmbeddedEventLog.open(dir));
    skewMs = 0;
    runner = new ProjectorRunner(log, new MemoryView('memory'), {
      retry: { initialMs: 10, maxMs: 50 },
      now: () => Date.now() + skewMs,
      maxStalenessMs: BOUND_MS,
    });
    gate = new Gate(runner.projection as MemoryView, runner, { maxStalenessMs: BOUND_MS, readWaitMs: 100 });
  });
  afterEach(async () => {
    log.restore();
    await runner.stop();
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ask = (phone: E164, minPosition?: Position) =>
    gate.check(phone, {
      brand: 'acme',
      ...(minPosition !== undefined && { minPosition: [{ partition: 0, position: minPosition }] }),
    });

  it('cut off from the log (broker killed or hung): unknown once the bound has passed, though nothing it was handed is pending', async () => {
    const phone = phoneNo(10);
    runner.start();
    await runner.whenReady();
    expect(await ask(phone)).toMatchObject({ allowed: true, status: 'no_record' });

    log.cut();
    // Acknowledged by intake in another process; this gate never hears of it.
    await log.append([uniqueOptOut(phone)]);
    const cutAt = Date.now();
    const answer = await eventually(
      async () => {
        const seen = await ask(phone);
        expect(seen).toMatchObject({ allowed: false, status: 'unknown' });
        return seen;
      },
      { timeoutMs: 5_000, intervalMs: 10 },
    );
    expect(Date.now() - cutAt).toBeLessThan(BOUND_MS + 1_000);
    expect(answer.reason).toMatch(/cannot vouch for the last \d+ ms of the log \(bound 300 ms\)/);
    expect(answer.reason).toMatch(/cannot read the log's head: connect ECONNREFUSED/);
    expect(gate.checkNow(phone, 'acme')).toMatchObject({ allowed: false, status: 'unknown' });
    expect(runner.status()).toMatchObject({ healthy: false, lagMs: 0 });

    log.restore();
    await eventually(
      async () => expect(await ask(phone)).toMatchObject({ allowed: false, status: 'opted_out' }),
      {
        timeoutMs: 5_000,
      },
    );
    expect(runner.status().healthy).toBe(true);
  });

  it('a process frozen longer than the bound answers unknown from its first check after, until it has asked the log again', async () => {
    const phone = phoneNo(11);
    runner.start();
    await runner.whenReady();
    expect(await ask(phone)).toMatchObject({ allowed: true, status: 'no_record' });

    // SIGSTOP for ten seconds: no timer ran, no fetch, and the first thing to run may be a check.
    skewMs = 10_000;
    expect(gate.checkNow(phone, 'acme')).toMatchObject({ allowed: false, status: 'unknown' });
    expect(await ask(phone)).toMatchObject({ allowed: false, status: 'unknown' });

    await eventually(
      async () => expect(await ask(phone)).toMatchObject({ allowed: true, status: 'no_record' }),
      {
        timeoutMs: 5_000,
      },
    );
  });

  it('a log that goes backwards under the view (topic recreated): unknown for good, minPosition or not', async () => {
    const phone = phoneNo(12);
    await log.append([uniqueOptOut(phoneNo(13)), uniqueOptOut(phoneNo(14))]);
    runner.start();
    await runner.whenReady();
    expect(await ask(phone)).toMatchObject({ allowed: true, status: 'no_record' });

    log.fakeHead = [1 as Position];
    const answer = await eventually(
      async () => {
        const seen = await ask(phone, 1 as Position);
        expect(seen).toMatchObject({ allowed: false, status: 'unknown' });
        return seen;
      },
      { timeoutMs: 5_000, intervalMs: 10 },
    );
    expect(answer.reason).toMatch(/the log went backwards under this view .*replaced or truncated/);

    // The new topic grows past the old cursor: its records would be skipped as re-deliveries.
    log.fakeHead = undefined;
    await log.append([uniqueOptOut(phone)]);
    await new Promise((resolve) => setTimeout(resolve, BOUND_MS));
    expect(await ask(phone)).toMatchObject({ allowed: false, status: 'unknown' });
    expect(runner.status()).toMatchObject({
      healthy: false,
      lastError: expect.stringMatching(/went backwards/) as string,
    });
  });

  it('records applied while a head is on its way back are not taken for a log that went backwards', async () => {
    const phone = phoneNo(16);
    runner.start();
    await runner.whenReady();
    let answer = (): void => undefined;
    log.slowHead = new Promise((resolve) => (answer = resolve));
    const asked = log.headsAsked;
    await eventually(() => expect(log.headsAsked).toBeGreaterThan(asked), { timeoutMs: 5_000 });
    const [recorded] = await log.append([uniqueOptOut(phone)]);
    await eventually(() => expect(runner.cursor[0]).toBe(recorded?.position), { timeoutMs: 5_000 });

    log.slowHead = undefined;
    answer();
    const polled = log.headsAsked;
    await eventually(() => expect(log.headsAsked).toBeGreaterThan(polled + 1), { timeoutMs: 5_000 });
    expect(runner.status()).toMatchObject({ healthy: true });
    expect(await ask(phone)).toMatchObject({ allowed: false, status: 'opted_out' });
  });

  it('a crashed consumer stays unhealthy through a rejoin that only re-reads checkpoints', async () => {
    const phone = phoneNo(15);
    runner.start();
    await runner.whenReady();
    log.cut();
    log.spec?.failed?.(new Error('The coordinator is not aware of this member'));
    expect(gate.checkNow(phone, 'acme')).toMatchObject({ allowed: false, status: 'unknown' });

    // The group is joined again: the partitions' checkpoints are read, nothing is fetched yet.
    await log.spec?.checkpoint(0);
    expect(runner.healthy).toBe(false);
    expect(gate.checkNow(phone, 'acme')).toMatchObject({ allowed: false, status: 'unknown' });

    log.restore();
    const [recorded] = await log.append([uniqueOptOut(phone)]);
    expect(await ask(phone, recorded?.position)).toMatchObject({ allowed: false, status: 'opted_out' });
    expect(runner.healthy).toBe(true);
  });
});
