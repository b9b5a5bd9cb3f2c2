import { HttpFailure, parseRetryAfter } from './http.js';
import { isRetriable } from './retriable.js';

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('1', now)).toBe(1_000);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
  });

  it('reads an HTTP-date in all three forms RFC 9110 allows, relative to now', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thursday, 01-Jan-26 12:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Thu Jan  1 12:00:05 2026', now)).toBe(5_000);
  });

  it('a date already past is 0, never negative', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now)).toBe(0);
  });

  it('is capped, and finite, however large the number', () => {
    expect(parseRetryAfter('9'.repeat(400), now)).toBe(365 * 24 * 3_600_000);
    expect(parseRetryAfter('Fri, 01 Jan 9999 00:00:00 GMT', now)).toBe(365 * 24 * 3_600_000);
  });

  it('ignores absent and unreadable values rather than obey them', () => {
    for (const garbage of [
      null,
      undefined,
      '',
      '  ',
      'soon',
      '-5',
      '1.5',
      '1e3',
      '0x10',
      '2 2',
      'Thu',
      '2026-01-01',
      'Thu, 99 Foo 2026 12:00:00 GMT',
    ]) {
      expect([garbage, parseRetryAfter(garbage, now)]).toEqual([garbage, undefined]);
    }
  });
});

describe('HttpFailure', () => {
  it('carries its retriable verdict, status and asked-for wait to the retry policy', () => {
    const busy = new HttpFailure('HTTP 503', { retriable: true, status: 503, retryAfterMs: 2_000 });
    expect([busy.retriable, isRetriable(busy), busy.status, busy.retryAfterMs, busy.code]).toEqual([
      true,
      true,
      503,
      2_000,
      'unavailable',
    ]);
    const refused = new HttpFailure('HTTP 400', { retriable: false, status: 400 });
    expect([isRetriable(refused), refused.code]).toEqual([false, 'internal']);
    expect(new HttpFailure('HTTP 429', { retriable: true, status: 429 }).code).toBe('rate_limited');
  });
});
