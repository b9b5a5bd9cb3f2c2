export interface EventuallyOptions {
  /** How long to keep trying before giving up with the last failure. */
  readonly timeoutMs?: number;
  /** Pause between attempts. */
  readonly intervalMs?: number;
}

/**
 * Polls `check` until it returns without throwing, and resolves with its result; after `timeoutMs` it
 * rethrows the last failure, so a timed-out `expect` reads like the assertion that never held.
 * Conditions are polled, never slept on: a test is as fast as the system under test.
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 2000, intervalMs = 5 }: EventuallyOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
