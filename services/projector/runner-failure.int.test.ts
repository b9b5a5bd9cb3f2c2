import { rmSync } from 'node:fs';
import { START, type Position } from '../ledger/index.js';
import { EmbeddedEventLog, type LogRecord } from '../log/index.js';
import { ProjectorRunner, type Projection } from './index.js';
import { eventually } from '../../test/support/eventually.js';
import { freshDir, uniqueOptOut } from '../../test/support/event-log-contract.js';

/**
 * A projection whose batches wait until released, reporting a failed attempt meanwhile: a webhook POST
 * being retried inside applyBatch.
 */
class RetryingProjection implements Projection {
  readonly name = 'retrying';
  readonly kind = 'test';
  private release: (() => void) | undefined;
  onAttempt: (() => void) | undefined;

  checkpoint(): Promise<Position> {
    return Promise.resolve(START);
  }

  applyBatch(_records: readonly LogRecord[]): Promise<void> {
    this.onAttempt?.();
    return new Promise((resolve) => (this.release = resolve));
  }

  deliver(): void {
    this.release?.();
  }

  quarantine(): Promise<void> {
    return Promise.resolve();
  }
}

describe('failures the runner does not see itself (reportFailure)', () => {
  let dir: string;
  let log: EmbeddedEventLog;
  let runner: ProjectorRunner | undefined;

  beforeEach(() => {
    dir = freshDir('ledger-runner-failure-');
    log = EmbeddedEventLog.open(dir);
  });
  afterEach(async () => {
    await runner?.stop();
    runner = undefined;
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a store that cannot be opened before start: unhealthy with the error and its cause, until the runner applies', async () => {
    const projection = new RetryingProjection();
    runner = new ProjectorRunner(log, projection);
    runner.reportFailure(
      new Error('cannot connect to Redis for view crm', {
        cause: new Error('connect ECONNREFUSED 127.0.0.1:1'),
      }),
    );
    expect(runner.status()).toMatchObject({
      ready: false,
      healthy: false,
      lastError: 'cannot connect to Redis for view crm: connect ECONNREFUSED 127.0.0.1:1',
    });
    runner.start();
    await runner.whenReady();
    expect(runner.status()).toMatchObject({ ready: true, healthy: true });
    expect(runner.status()).not.toHaveProperty('lastError');
  });

  it('a failed attempt inside a batch: unhealthy until that batch applies', async () => {
    const projection = new RetryingProjection();
    const started: ProjectorRunner = new ProjectorRunner(log, projection);
    runner = started;
    runner.start();
    await runner.whenReady();
    projection.onAttempt = () => started.reportFailure(new Error('POST failed: ECONNREFUSED'));
    await log.append([uniqueOptOut()]);
    await eventually(() =>
      expect(started.status()).toMatchObject({ healthy: false, lastError: 'POST failed: ECONNREFUSED' }),
    );
    projection.deliver();
    await eventually(() => expect(started.healthy).toBe(true));
  });

  it("after start, a failure outside any batch is not the runner's: no batch would ever clear it", async () => {
    runner = new ProjectorRunner(log, new RetryingProjection());
    runner.start();
    await runner.whenReady();
    runner.reportFailure(new Error('a repair POST failed'));
    expect(runner.healthy).toBe(true);
  });
});
