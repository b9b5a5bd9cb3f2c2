import { LedgerError } from '../ledger/index.js';
import { retriableStatus } from './retriable.js';

/** How much of an error answer's body is kept for the operator. */
const ERROR_BODY_BYTES = 512;

/**
 * One POST that did not succeed: no answer (a network error, a timeout) or a non-2xx answer.
 * `retriable` for no answer, 408, 429 and 5xx; `retryAfterMs` when the answer said how long to wait.
 */
export class HttpFailure extends LedgerError {
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    details: { retriable: boolean; status?: number; retryAfterMs?: number; cause?: unknown },
  ) {
    super(details.status === 429 ? 'rate_limited' : details.retriable ? 'unavailable' : 'internal', message, {
      retriable: details.retriable,
      ...(details.cause !== undefined && { cause: details.cause }),
    });
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
  }
}

export interface PostOptions {
  readonly headers: Headers | Readonly<Record<string, string>>;
  readonly body: string;
  /** Per attempt: no answer by then is a retriable failure. */
  readonly timeoutMs: number;
  /** A stop: the request is abandoned and the promise rejects with fetch's abort (not an HttpFailure). */
  readonly signal?: AbortSignal;
  readonly redirect?: 'follow' | 'manual' | 'error';
  /** Whether a 2xx answer's body is read (default: discarded unread). */
  readonly readBody?: boolean;
  readonly now?: () => number;
}

export interface Posted {
  readonly status: number;
  /** The 2xx answer's body when `readBody`, else ''. */
  readonly text: string;
}

/**
 * One POST attempt, shared by the senders (confirmation texts, webhook views) so they fail, describe
 * failures and read Retry-After alike. Resolves on 2xx; rejects with HttpFailure otherwise.
 */
export async function postOnce(url: string, options: PostOptions): Promise<Posted> {
  const { signal, timeoutMs } = options;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: options.headers,
      body: options.body,
      redirect: options.redirect ?? 'follow',
      signal:
        signal === undefined
          ? AbortSignal.timeout(timeoutMs)
          : AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
  } catch (error) {
    if (signal?.aborted === true) throw error;
    const timedOut = (error as { name?: unknown } | null)?.name === 'TimeoutError';
    throw new HttpFailure(timedOut ? `no answer within ${timeoutMs} ms` : describeFailure(error), {
      retriable: true,
      cause: error,
    });
  }
  const { status } = response;
  if (status >= 200 && status < 300) {
    if (options.readBody !== true) {
      await response.body?.cancel().catch(() => undefined);
      return { status, text: '' };
    }
    try {
      return { status, text: await response.text() };
    } catch (error) {
      if (signal?.aborted === true) throw error;
      // Accepted, but the answer was cut off: sent again under the same idempotency key, it is deduped.
      throw new HttpFailure(`HTTP ${status}, but the answer was cut off: ${describeFailure(error)}`, {
        retriable: true,
        cause: error,
      });
    }
  }
  const snippet = await bodySnippet(response).catch(() => '');
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), options.now?.());
  throw new HttpFailure(`HTTP ${status}${snippet === '' ? '' : `: ${snippet}`}`, {
    retriable: retriableStatus(status),
    status,
    ...(retryAfterMs !== undefined && { retryAfterMs }),
  });
}

/** An IMF-fixdate, RFC 850 or asctime date (RFC 9110 §5.6.7) all carry a time of day. */
const HTTP_DATE = /^[A-Za-z]{3,9},? [0-9A-Za-z -]+ \d{2}:\d{2}:\d{2}( \d{4}| GMT)$/;
/** Longer than anyone waits: keeps the arithmetic finite for a Retry-After of 10^400 seconds. */
const RETRY_AFTER_MAX_MS = 365 * 24 * 3_600_000;

/**
 * A Retry-After header in ms: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). Never negative (a
 * date past is 0), at most a year (callers cap it to their own longest wait); undefined when absent
 * or unreadable — garbage is ignored, not obeyed.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed) * 1000, RETRY_AFTER_MAX_MS);
  if (!HTTP_DATE.test(trimmed)) return undefined;
  // asctime dates name no zone, and HTTP dates are all GMT: Date.parse would read it as local time.
  const at = Date.parse(trimmed.endsWith(' GMT') ? trimmed : `${trimmed} GMT`);
  return Number.isNaN(at) ? undefined : Math.min(Math.max(0, at - now), RETRY_AFTER_MAX_MS);
}

/** The start of an error answer's body, for the operator; the rest is discarded unread. */
async function bodySnippet(response: Response): Promise<string> {
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Leaving the loop early cancels the stream: a huge error page is never read whole.
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    chunks.push(chunk);
    size += chunk.byteLength;
    if (size >= ERROR_BODY_BYTES) break;
  }
  const text = Buffer.concat(chunks).subarray(0, ERROR_BODY_BYTES).toString('utf8');
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * fetch's "fetch failed" hides the reason (ECONNREFUSED …) in its cause. Read by shape, not instanceof:
 * fetch's errors may come from another realm (a test runner's sandbox).
 */
function describeFailure(error: unknown): string {
  const message = messageOf(error);
  const cause = (error as { cause?: unknown } | null)?.cause;
  const why = cause === undefined ? '' : messageOf(cause);
  return why === '' ? message : `${message}: ${why}`;
}

function messageOf(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const { message, code } = error as { message?: unknown; code?: unknown };
  if (typeof message === 'string' && message !== '') return message;
  return typeof code === 'string' ? code : 'unknown error';
}
