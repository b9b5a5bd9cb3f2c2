import { retryAfterSeconds, TokenBuckets } from './token-bucket.js';

/** A clock the test moves by hand. */
function clock(start = 1_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('token buckets', () => {
  it('lets a new caller spend its whole minute at once, then refuses', () => {
    const time = clock();
    const buckets = new TokenBuckets({ perMinute: 3, now: time.now });
    expect([1, 2, 3, 4, 5].map(() => buckets.take('k'))).toEqual([0, 0, 0, 20_000, 20_000]);
  });

  it('refills at perMinute a minute, continuously, and never above perMinute', () => {
    const time = clock();
    const buckets = new TokenBuckets({ perMinute: 60, now: time.now });
    for (let i = 0; i < 60; i++) expect(buckets.take('k')).toBe(0);
    expect(buckets.take('k')).toBe(1000);
    time.advance(400);
    // 0.4 of a token back: the rest comes 600 ms later.
    expect(buckets.take('k')).toBe(600);
    time.advance(600);
    expect(buckets.take('k')).toBe(0);
    expect(buckets.take('k')).toBe(1000);
    // An hour idle refills the minute's 60, not 3,600.
    time.advance(3_600_000);
    let taken = 0;
    while (buckets.take('k') === 0) taken++;
    expect(taken).toBe(60);
  });

  it('counts each caller apart', () => {
    const time = clock();
    const buckets = new TokenBuckets({ perMinute: 1, now: time.now });
    expect(buckets.take('a')).toBe(0);
    expect(buckets.take('a')).toBe(60_000);
    expect(buckets.take('b')).toBe(0);
  });

  it('says how long until the next token, which a refused request does not push back', () => {
    const time = clock();
    const buckets = new TokenBuckets({ perMinute: 2, now: time.now });
    buckets.take('k');
    buckets.take('k');
    expect(buckets.take('k')).toBe(30_000);
    time.advance(10_000);
    expect(buckets.take('k')).toBe(20_000);
    time.advance(20_000);
    expect(buckets.take('k')).toBe(0);
  });

  it('remembers at most maxCallers, however many callers come', () => {
    const time = clock();
    const buckets = new TokenBuckets({ perMinute: 10, maxCallers: 100, now: time.now });
    let most = 0;
    for (let i = 0; i < 10_000; i++) {
      buckets.take(`198.51.100.${i}`);
      most = Math.max(most, buckets.size);
      time.advance(1);
    }
    expect(most).toBe(100);
  });

  /** How many requests `caller` may make right now (taking them all). */
  const burst = (buckets: TokenBuckets, caller: string): number => {
    let taken = 0;
    while (buckets.take(caller) === 0) taken++;
    return taken;
  };

  it('forgets a refilled caller (which changes nothing) before one still counting', () => {
    const time = clock();
    const buckets = new TokenBuckets({ perMinute: 60, maxCallers: 3, now: time.now });
    // The one still counting is the older: least-recently-seen alone would forget it.
    for (let i = 0; i < 30; i++) buckets.take('counting');
    buckets.take('refilled');
    time.advance(2_000);
    buckets.take('third');
    buckets.take('fourth');
    expect(buckets.size).toBeLessThanOrEqual(3);
    // 30 left + 2 s of refill: still counted, not handed a fresh 60.
    expect(burst(buckets, 'counting')).toBe(32);
  });

  it('under a flood of new callers forgets the least recently seen, not a caller that keeps coming', () => {
    const time = clock();
    const buckets = new TokenBuckets({ perMinute: 60, maxCallers: 10, now: time.now });
    expect(burst(buckets, 'busy')).toBe(60);
    for (let i = 0; i < 9; i++) for (let k = 0; k < 30; k++) buckets.take(`older-${i}`);
    for (let i = 0; i < 100; i++) {
      time.advance(1_100);
      buckets.take('busy');
      buckets.take(`new-${i}`);
      expect(buckets.size).toBeLessThanOrEqual(10);
    }
    // Forgotten, it would have 60 again; remembered, it has the little it refilled.
    expect(burst(buckets, 'busy')).toBeLessThan(15);
    expect(burst(buckets, 'older-0')).toBe(60);
  });

  it('refuses a limit below one a minute', () => {
    expect(() => new TokenBuckets({ perMinute: 0 })).toThrow(RangeError);
    expect(() => new TokenBuckets({ perMinute: 1, maxCallers: 0 })).toThrow(RangeError);
  });

  it.each([
    [1, 1],
    [999, 1],
    [1000, 1],
    [1001, 2],
    [20_000, 20],
    [60_000, 60],
  ])('gives Retry-After for %i ms as %i s (whole seconds, rounded up, at least 1)', (ms, seconds) => {
    expect(retryAfterSeconds(ms)).toBe(seconds);
  });
});
