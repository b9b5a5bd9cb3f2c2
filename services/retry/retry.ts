import { setTimeout as sleep } from 'node:timers/promises';
import { LedgerError } from '../ledger/index.js';
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import { isRetriable } from './retriable.js';

export interface RetryOptions extends BackoffPolicy {
  /** Attempts in all, the first included (default: no limit). */
  readonly maxAttempts?: number;
  /**
   * No retry is scheduled to start after this moment (epoch ms, by `now`): the last error is given
   * instead. For work that is pointless late (a confirmation text past its window).
   */
  readonly deadline?: number;
  readonly now?: () => number;
  /**
   * Ends the waiting: the promise rejects with RetryAborted. The attempt in flight is the caller's to
   * cut short (pass it the same signal); a failure seen once aborted is not reported (it is most likely
   * the stop itself: a connection closed under it).
   */
  readonly signal?: AbortSignal;
  /** Whether an error may pass if tried again (default `isRetriable`). */
  readonly retriable?: (error: unknown) => boolean;
  /**
   * What a non-retriable error does: by default it ends the retrying at once (rejected with it); with
   * `persist` it is retried all the same, every maxMs. For work that may never be skipped (a view's
   * batch): the caller reports it as a bug and fails closed until someone fixes it.
   */
  readonly persist?: boolean;
  /** Errors the caller handles itself: rejected with at once, not reported, not retried. */
  readonly stopOn?: (error: unknown) => boolean;
  /**
   * Each failed attempt, before any wait: `retryInMs` is null when none follows (the promise then
   * rejects with this error). An onError that throws ends the retrying with what it threw.
   */
  readonly onError?: (error: unknown, attempt: FailedAttempt) => void;
  /** Timers that do not keep the process alive (a background retry that must not hold an exit). */
  readonly unref?: boolean;
  readonly random?: () => number;
}

export interface FailedAttempt {
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly retriable: boolean;
  /** The wait before the next attempt; null when there is none. */
  readonly retryInMs: number | null;
}

/** The retrying was stopped through its signal; `cause` is the last failure. */
export class RetryAborted extends Error {
  override readonly name = 'RetryAborted';
  constructor(cause: unknown) {
    super('retrying was stopped', { cause });
  }
}

/**
 * A failure that retrying will not cure — a bug, or invalid data or settings — met by work that must
 * keep retrying anyway (a view may never skip an event): reported as what it is, not as an outage.
 */
export class NotTransient extends LedgerError {
  constructor(what: string, cause: unknown, retryEveryMs: number) {
    super(
      'internal',
      `${what}: ${messageOf(cause)} — not a transient failure (a bug, or invalid data or settings): ` +
        `retried every ${retryEveryMs} ms until it is fixed`,
      { cause },
    );
  }
}

/**
 * Runs `work` until it resolves, with exponential backoff and jitter between attempts. A wait the
 * failure itself asks for (`retryAfterMs` on the error: an HTTP Retry-After) is honoured when longer
 * than the backoff, never beyond maxMs. Rejects with the last error once it is not retriable (unless
 * `persist`), attempts or time run out, or with RetryAborted once stopped.
 *
 * The first attempt always runs, even when the signal is already aborted: a caller that is stopped
 * says so in its own work (a closed view refuses), and one that is not keeps its first try.
 *
 * Shaped like p-retry's options (retries/signal/onFailedAttempt/shouldRetry), so it can be swapped
 * for that library once the project takes a dependency for it.
 */
export async function retry<T>(work: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const {
    maxAttempts = Infinity,
    deadline,
    now = Date.now,
    signal,
    retriable: isRetriableError = isRetriable,
    persist = false,
    stopOn,
    onError,
    unref = false,
    random = Math.random,
  } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      if (stopOn?.(error) === true) throw error;
      if (signal?.aborted === true) throw new RetryAborted(error);
      const retriable = isRetriableError(error);
      let retryInMs: number | null = null;
      if ((retriable || persist) && attempt < maxAttempts) {
        // A bug is retried at the slowest pace: hammering a store with it helps nobody.
        const backoff = retriable ? backoffDelay(options, attempt, random) : options.maxMs;
        const wait = Math.min(Math.max(backoff, retryAfterOf(error) ?? 0), options.maxMs);
        if (deadline === undefined || now() + wait <= deadline) retryInMs = wait;
      }
      onError?.(error, { attempt, retriable, retryInMs });
      if (retryInMs === null) throw error;
      try {
        await sleep(retryInMs, undefined, { ...(signal !== undefined && { signal }), ref: !unref });
      } catch {
        throw new RetryAborted(error);
      }
    }
  }
}

/** The wait a failure asks for (HTTP Retry-After), in ms, when it names a sensible one. */
function retryAfterOf(error: unknown): number | undefined {
  const wait = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof wait === 'number' && Number.isFinite(wait) && wait >= 0 ? wait : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
