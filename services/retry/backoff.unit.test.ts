import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  const policy = { initialMs: 100, maxMs: 1_000 };

  it('doubles from initialMs per failed attempt and never exceeds maxMs (no jitter)', () => {
    const delays = [1, 2, 3, 4, 5, 6, 50, 5_000].map((attempt) =>
      backoffDelay({ ...policy, jitter: 'none' }, attempt),
    );
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000, 1_000]);
  });

  it('grows by the given factor', () => {
    const delays = [1, 2, 3].map((attempt) =>
      backoffDelay({ initialMs: 10, maxMs: 10_000, factor: 3, jitter: 'none' }, attempt),
    );
    expect(delays).toEqual([10, 30, 90]);
  });

  it('equal jitter (the default) stays within [half, all] of the backoff, at both ends of random', () => {
    expect(backoffDelay(policy, 3, () => 0)).toBe(200);
    expect(backoffDelay(policy, 3, () => 0.999_999)).toBeCloseTo(400, 3);
    expect(backoffDelay(policy, 9, () => 0)).toBe(500);
    expect(backoffDelay(policy, 9, () => 0.999_999)).toBeCloseTo(1_000, 3);
  });

  it('equal jitter over Math.random: every delay in range, and the delays actually vary', () => {
    const delays = Array.from({ length: 500 }, () => backoffDelay(policy, 4));
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(400);
      expect(delay).toBeLessThanOrEqual(800);
    }
    expect(new Set(delays).size).toBeGreaterThan(100);
  });

  it('full jitter ranges from 0 to the backoff', () => {
    expect(backoffDelay({ ...policy, jitter: 'full' }, 2, () => 0)).toBe(0);
    expect(backoffDelay({ ...policy, jitter: 'full' }, 2, () => 0.5)).toBe(100);
    const delays = Array.from({ length: 500 }, () => backoffDelay({ ...policy, jitter: 'full' }, 20));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1_000);
  });

  it('stays finite and capped however many attempts have failed', () => {
    expect(backoffDelay({ initialMs: 200, maxMs: 5_000, jitter: 'none' }, Number.MAX_SAFE_INTEGER)).toBe(
      5_000,
    );
  });

  it('a zero initial delay retries at once', () => {
    expect(backoffDelay({ initialMs: 0, maxMs: 1_000 }, 7)).toBe(0);
  });
});
