/**
 * Whether a failure may pass if the same work is tried again (a store, broker or receiver down, slow or
 * overloaded), or never will (a bug, invalid data or settings, a refusal). Errors are read by shape,
 * not by class: they come from several drivers (pg, ioredis, kafkajs, fetch) and may come from another
 * realm (a test runner's sandbox).
 *
 * A failure nothing here recognises counts as retriable: a driver's unlabelled "Connection is closed."
 * is far more often an outage than a bug, and the callers that cannot give up (the projector) retry
 * either way — the label decides how it is reported and how fast it is retried, never whether work is
 * skipped.
 */
export function isRetriable(error: unknown): boolean {
  return judge(error, 0) ?? true;
}

/** 408 Request Timeout, 429 Too Many Requests and every 5xx may pass; any other answer will not. */
export function retriableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Node, libuv and undici codes of a connection or resource that failed and may come back. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EADDRNOTAVAIL',
  'EADDRINUSE',
  'EBUSY',
  'EAGAIN',
  'EMFILE',
  'ENFILE',
  'ENOSPC',
  'ENOMEM',
  'EIO',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/**
 * PostgreSQL SQLSTATE classes that pass: connection exception (08), transaction rollback — a
 * serialization failure or deadlock (40), insufficient resources (53), operator intervention — a
 * shutdown, a cancelled statement (57), system error (58). Others (22 data, 23 integrity, 28
 * authorization, 42 syntax or a missing table …) will not, short of someone fixing something.
 */
const TRANSIENT_SQLSTATE_CLASSES: ReadonlySet<string> = new Set(['08', '40', '53', '57', '58']);
/** Lock not available, object in use. */
const TRANSIENT_SQLSTATES: ReadonlySet<string> = new Set(['55P03', '55006']);

/** Redis replies that pass: loading, busy script, failover, cluster resharding, out of memory, a failed save. */
const TRANSIENT_REDIS_REPLIES =
  /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|NOREPLICAS|OOM|MISCONF)\b/;

/** JavaScript's own errors: a bug in the code, which running it again repeats. */
const PROGRAMMING_ERRORS: ReadonlySet<string> = new Set([
  'TypeError',
  'RangeError',
  'ReferenceError',
  'SyntaxError',
  'EvalError',
  'URIError',
]);

/** Wrappers that only say a client gave up retrying: they are judged by what it gave up on. */
const GAVE_UP = new Set(['KafkaJSNumberOfRetriesExceeded']);

/** The verdict the error itself (or its causes) gives; undefined when nothing is known. */
function judge(error: unknown, depth: number): boolean | undefined {
  if (typeof error !== 'object' || error === null) {
    // A thrown string or number: not from any driver, so from our own code.
    return error === undefined ? undefined : false;
  }
  const { retriable, code, status, statusCode, name, message, cause, severity } = error as Record<
    string,
    unknown
  >;
  const hasCause = cause !== undefined && cause !== null && depth < 5;
  if (typeof name === 'string' && GAVE_UP.has(name) && hasCause) return judge(cause, depth + 1);
  // LedgerError (from its code), kafkajs errors, and errors thrown by whoever knew best.
  if (typeof retriable === 'boolean') return retriable;
  if (typeof code === 'string') {
    if (TRANSIENT_CODES.has(code)) return true;
    if (typeof severity === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
      return TRANSIENT_SQLSTATES.has(code) || TRANSIENT_SQLSTATE_CLASSES.has(code.slice(0, 2));
    }
  }
  const httpStatus = typeof status === 'number' ? status : statusCode;
  if (typeof httpStatus === 'number' && httpStatus >= 400 && httpStatus <= 599) {
    return retriableStatus(httpStatus);
  }
  if (name === 'TimeoutError' || name === 'MaxRetriesPerRequestError') return true;
  if (name === 'ReplyError' && typeof message === 'string') return TRANSIENT_REDIS_REPLIES.test(message);
  // fetch's TypeError("fetch failed") keeps the reason (ECONNREFUSED …) in its cause.
  if (hasCause) {
    const verdict = judge(cause, depth + 1);
    if (verdict !== undefined) return verdict;
  }
  if (typeof name === 'string' && PROGRAMMING_ERRORS.has(name)) return false;
  return undefined;
}
