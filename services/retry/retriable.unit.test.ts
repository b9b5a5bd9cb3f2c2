import { LedgerError } from '../ledger/index.js';
import { isRetriable, retriableStatus } from './retriable.js';

const withCode = (code: string, extra: object = {}): Error =>
  Object.assign(new Error(`failed: ${code}`), { code, ...extra });

describe('isRetriable', () => {
  it('LedgerError: from its code — unavailable and rate_limited pass, invalid input and bugs do not', () => {
    expect(isRetriable(new LedgerError('unavailable', 'Kafka is down'))).toBe(true);
    expect(isRetriable(new LedgerError('rate_limited', 'slow down'))).toBe(true);
    expect(isRetriable(new LedgerError('invalid_phone', 'not a number'))).toBe(false);
    expect(isRetriable(new LedgerError('invalid_config', 'bad table name'))).toBe(false);
    expect(isRetriable(new LedgerError('undecodable_record', 'garbage'))).toBe(false);
    expect(isRetriable(new LedgerError('internal', 'a bug'))).toBe(false);
  });

  it('LedgerError: the thrower may say otherwise than the code', () => {
    expect(isRetriable(new LedgerError('internal', 'HTTP 503', { retriable: true }))).toBe(true);
    expect(isRetriable(new LedgerError('unavailable', 'HTTP 400', { retriable: false }))).toBe(false);
  });

  it('the retriable flag does not change how a LedgerError compares or serialises', () => {
    const plain = new LedgerError('unavailable', 'x');
    const flagged = new LedgerError('unavailable', 'x', { retriable: false });
    expect(Object.keys(flagged)).toEqual(Object.keys(plain));
    expect(JSON.stringify(flagged)).toBe(JSON.stringify(plain));
  });

  it('connection refused, reset, timed out, DNS and undici socket failures pass', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_SOCKET']) {
      expect([code, isRetriable(withCode(code))]).toEqual([code, true]);
    }
  });

  it("fetch's TypeError('fetch failed') is judged by its cause, not taken for a bug", () => {
    const failed = new TypeError('fetch failed', { cause: withCode('ECONNREFUSED') });
    expect(isRetriable(failed)).toBe(true);
  });

  it('a timeout (AbortSignal.timeout) passes', () => {
    expect(isRetriable(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).toBe(
      true,
    );
  });

  it('HTTP statuses: 408, 429 and 5xx pass; other 4xx do not', () => {
    expect([408, 429, 500, 502, 503, 504].map(retriableStatus)).toEqual([true, true, true, true, true, true]);
    expect([400, 401, 403, 404, 409, 422].map(retriableStatus)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(isRetriable(Object.assign(new Error('x'), { status: 503 }))).toBe(true);
    expect(isRetriable(Object.assign(new Error('x'), { statusCode: 400 }))).toBe(false);
  });

  it('PostgreSQL: connection loss, shutdown, deadlock pass; bad data, syntax and missing tables do not', () => {
    const pg = (code: string): Error => withCode(code, { severity: 'ERROR' });
    expect(['08006', '57P01', '40P01', '53300', '55P03'].map((c) => isRetriable(pg(c)))).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(['22P02', '23505', '42P01', '28P01'].map((c) => isRetriable(pg(c)))).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it('Redis: LOADING, READONLY (a failover) pass; WRONGTYPE does not', () => {
    const reply = (message: string): Error => Object.assign(new Error(message), { name: 'ReplyError' });
    expect(isRetriable(reply('LOADING Redis is loading the dataset in memory'))).toBe(true);
    expect(isRetriable(reply("READONLY You can't write against a read only replica."))).toBe(true);
    expect(isRetriable(reply('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(
      false,
    );
  });

  it("kafkajs: its own retriable flag, except that 'retries exceeded' is judged by what it gave up on", () => {
    const kafka = (retriable: boolean, extra: object = {}): Error =>
      Object.assign(new Error('kafka'), { name: 'KafkaJSError', retriable, ...extra });
    expect(isRetriable(kafka(true))).toBe(true);
    expect(isRetriable(kafka(false))).toBe(false);
    const exceeded = kafka(false, { name: 'KafkaJSNumberOfRetriesExceeded', cause: kafka(true) });
    expect(isRetriable(exceeded)).toBe(true);
  });

  it("JavaScript's own errors are bugs; an error is judged by its cause first", () => {
    expect(isRetriable(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe(false);
    expect(isRetriable(new RangeError('Invalid array length'))).toBe(false);
    expect(isRetriable(new Error('applying failed', { cause: new TypeError('bug') }))).toBe(false);
    expect(isRetriable(new Error('applying failed', { cause: withCode('ECONNRESET') }))).toBe(true);
  });

  it('an unlabelled driver error counts as passing; a thrown string does not', () => {
    expect(isRetriable(new Error('Connection is closed.'))).toBe(true);
    expect(isRetriable('oops')).toBe(false);
  });

  it('a cycle of causes ends', () => {
    const a: Error & { cause?: unknown } = new Error('a');
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(isRetriable(a)).toBe(true);
  });
});
