/**
 * How long to wait between attempts. `equal` jitter (half the wait fixed, half random) spreads the
 * retries of many callers hit by one outage, yet never retries sooner than half the backoff; `full`
 * (anywhere from 0) spreads them most; `none` is for tests and single callers.
 */
export type Jitter = 'equal' | 'full' | 'none';

export interface BackoffPolicy {
  /** The wait after the first failed attempt, before jitter. */
  readonly initialMs: number;
  /** No wait is longer, a server-imposed one (Retry-After) included. */
  readonly maxMs: number;
  /** Growth per failed attempt (default 2). */
  readonly factor?: number;
  /** Default `equal`. */
  readonly jitter?: Jitter;
}

/** The wait after failed attempt number `attempt` (1 for the first): exponential, capped, jittered. */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const { initialMs, maxMs, factor = 2, jitter = 'equal' } = policy;
  // Capped before the power can overflow to Infinity (a view retrying for days reaches attempt 2000).
  const exponent = Math.min(Math.max(attempt - 1, 0), 64);
  const base = Math.max(0, Math.min(initialMs * factor ** exponent, maxMs));
  switch (jitter) {
    case 'none':
      return base;
    case 'full':
      return random() * base;
    case 'equal':
      return base / 2 + random() * (base / 2);
  }
}
