import { LedgerError } from '../ledger/index.js';
import { NotTransient, retry, RetryAborted, type FailedAttempt } from './retry.js';

const transient = (n = 0): LedgerError => new LedgerError('unavailable', `store down (${n})`);
const bug = (): TypeError => new TypeError("Cannot read properties of undefined (reading 'phone')");

/** Fails with `failures[i]` on attempt i+1, then resolves with the attempt number. */
function failing(...failures: Error[]): { work: (attempt: number) => Promise<number>; calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    work: (attempt) => {
      calls.push(attempt);
      const failure = failures[attempt - 1];
      return failure === undefined ? Promise.resolve(attempt) : Promise.reject(failure);
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('retry', () => {
  const fast = { initialMs: 4, maxMs: 16 };

  it('resolves with the first success, numbering the attempts from 1', async () => {
    const { work, calls } = failing(transient(1), transient(2));
    await expect(retry(work, fast)).resolves.toBe(3);
    expect(calls).toEqual([1, 2, 3]);
  });

  it('reports each failed attempt with the backoff it waits (equal jitter: within half and all of it)', async () => {
    const { work } = failing(transient(1), transient(2), transient(3), transient(4));
    const seen: FailedAttempt[] = [];
    await retry(work, { initialMs: 4, maxMs: 10, onError: (_, attempt) => seen.push(attempt) });
    expect(seen.map((s) => [s.attempt, s.retriable])).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [4, true],
    ]);
    const bounds = [
      [2, 4],
      [4, 8],
      [5, 10],
      [5, 10],
    ];
    seen.forEach((s, i) => {
      expect(s.retryInMs).toBeGreaterThanOrEqual(bounds[i]?.[0] ?? NaN);
      expect(s.retryInMs).toBeLessThanOrEqual(bounds[i]?.[1] ?? NaN);
    });
  });

  it('waits what it reports', async () => {
    const { work } = failing(transient());
    const started = Date.now();
    await retry(work, { initialMs: 120, maxMs: 120, jitter: 'none' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
  });

  it('a non-retriable error (a bug) ends it at once, reported with no retry to come', async () => {
    const failure = bug();
    const { work, calls } = failing(failure);
    const seen: FailedAttempt[] = [];
    expect(await rejection(retry(work, { ...fast, onError: (_, a) => seen.push(a) }))).toBe(failure);
    expect(calls).toEqual([1]);
    expect(seen).toEqual([{ attempt: 1, retriable: false, retryInMs: null }]);
  });

  it('the retriable predicate decides what is retried', async () => {
    const { work, calls } = failing(bug(), bug());
    await expect(retry(work, { ...fast, retriable: () => true })).resolves.toBe(3);
    expect(calls).toEqual([1, 2, 3]);
    const refused = failing(transient());
    await expect(retry(refused.work, { ...fast, retriable: () => false })).rejects.toThrow('store down');
    expect(refused.calls).toEqual([1]);
  });

  it('persist: a non-retriable error is retried all the same, every maxMs', async () => {
    const { work } = failing(bug(), bug());
    const seen: FailedAttempt[] = [];
    await expect(retry(work, { ...fast, persist: true, onError: (_, a) => seen.push(a) })).resolves.toBe(3);
    expect(seen).toEqual([
      { attempt: 1, retriable: false, retryInMs: 16 },
      { attempt: 2, retriable: false, retryInMs: 16 },
    ]);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const last = transient(3);
    const { work, calls } = failing(transient(1), transient(2), last, transient(4));
    const seen: (number | null)[] = [];
    const error = await rejection(
      retry(work, { ...fast, maxAttempts: 3, onError: (_, a) => seen.push(a.retryInMs) }),
    );
    expect(error).toBe(last);
    expect(calls).toEqual([1, 2, 3]);
    expect(seen[2]).toBeNull();
  });

  it('stopOn errors are rejected as they are, unreported and not retried', async () => {
    const lost = new LedgerError('unavailable', 'store lost');
    const { work, calls } = failing(transient(), lost);
    const reported: unknown[] = [];
    const error = await rejection(
      retry(work, { ...fast, stopOn: (e) => e === lost, onError: (e) => reported.push(e) }),
    );
    expect(error).toBe(lost);
    expect(calls).toEqual([1, 2]);
    expect(reported).toHaveLength(1);
  });

  it('an abort ends a long wait at once with RetryAborted, carrying the last failure', async () => {
    const controller = new AbortController();
    const failure = transient();
    const { work, calls } = failing(failure, failure);
    const started = Date.now();
    const running = rejection(
      retry(work, {
        initialMs: 60_000,
        maxMs: 60_000,
        signal: controller.signal,
        onError: () => setImmediate(() => controller.abort()),
      }),
    );
    const error = await running;
    expect(error).toBeInstanceOf(RetryAborted);
    expect((error as RetryAborted).cause).toBe(failure);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(calls).toEqual([1]);
  });

  it('a failure seen once aborted (the stop itself, most likely) is not reported', async () => {
    const controller = new AbortController();
    const reported: unknown[] = [];
    const error = await rejection(
      retry(
        () => {
          controller.abort();
          return Promise.reject(transient());
        },
        { ...fast, signal: controller.signal, onError: (e) => reported.push(e) },
      ),
    );
    expect(error).toBeInstanceOf(RetryAborted);
    expect(reported).toEqual([]);
  });

  it('the first attempt runs even when already aborted (a stopped caller says so in its own work)', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(retry(() => Promise.resolve('done'), { ...fast, signal: controller.signal })).resolves.toBe(
      'done',
    );
  });

  it('honours a longer wait the failure asks for (retryAfterMs), capped at maxMs; a shorter one keeps the backoff', async () => {
    const asking = (retryAfterMs: number): Error => Object.assign(transient(), { retryAfterMs });
    const { work } = failing(asking(50), asking(5_000), asking(0));
    const seen: (number | null)[] = [];
    await retry(work, {
      initialMs: 8,
      maxMs: 100,
      jitter: 'none',
      onError: (_, a) => seen.push(a.retryInMs),
    });
    expect(seen).toEqual([50, 100, 32]);
  });

  it('gives up rather than schedule an attempt past the deadline', async () => {
    let now = 1_000;
    const { work, calls } = failing(transient(1), transient(2), transient(3));
    const seen: (number | null)[] = [];
    const error = await rejection(
      retry(work, {
        initialMs: 100,
        maxMs: 10_000,
        jitter: 'none',
        deadline: 1_250,
        now: () => now,
        // The clock moves on by the wait reported (the real wait is short: jitter none, 100 and 200 ms).
        onError: (_, a) => {
          seen.push(a.retryInMs);
          now += a.retryInMs ?? 0;
        },
      }),
    );
    expect((error as Error).message).toBe('store down (2)');
    expect(calls).toEqual([1, 2]);
    expect(seen).toEqual([100, null]);
  });

  it('an onError that throws ends the retrying with what it threw', async () => {
    const { work, calls } = failing(transient(), transient());
    const observer = new Error('observer failed');
    const error = await rejection(
      retry(work, {
        ...fast,
        onError: () => {
          throw observer;
        },
      }),
    );
    expect(error).toBe(observer);
    expect(calls).toEqual([1]);
  });
});

describe('NotTransient', () => {
  it('says what failed, that it is not transient, and how often it is retried; keeps the cause', () => {
    const cause = bug();
    const error = new NotTransient('view crm', cause, 5_000);
    expect(error.message).toBe(
      "view crm: Cannot read properties of undefined (reading 'phone') — not a transient failure (a bug, or invalid data or settings): retried every 5000 ms until it is fixed",
    );
    expect(error.cause).toBe(cause);
    expect(error.retriable).toBe(false);
  });
});
