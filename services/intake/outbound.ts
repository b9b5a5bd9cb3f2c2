import type { E164 } from '../ledger/index.js';
import { HttpFailure, postOnce, retry } from '../retry/index.js';

/** A confirmation text for the SMS provider to send. */
export interface OutboundMessage {
  readonly to: E164;
  /** The number the person texted, when known: the confirmation should come from it. */
  readonly from: string | undefined;
  readonly brand: string;
  readonly text: string;
  /** The confirmation's event id: the same on every attempt, so the gateway sends it once. */
  readonly idempotencyKey: string;
}

export interface Sent {
  readonly status: number;
  /** The provider's id of the message, when its answer names one (`id`, `sid` or `messageId`). */
  readonly providerId?: string;
  readonly attempts: number;
}

/** Sends a message through the SMS provider; resolves once accepted, rejects when it never will be. */
export interface OutboundGateway {
  send(message: OutboundMessage): Promise<Sent>;
  /** Abandons retries in progress (their promises reject) so the process can stop. */
  close(): void;
}

export interface HttpGatewayOptions {
  readonly url: string;
  /** Sent as `Authorization: Bearer <token>` when set. */
  readonly token?: string;
  readonly timeoutMs?: number;
  /**
   * How long to keep trying one message. The FCC allows one confirmation within five minutes of the
   * opt-out; after that it may not be sent at all, so the default stops well before.
   */
  readonly deadlineMs?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly now?: () => number;
}

export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    message: string,
    readonly attempts: number,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * POSTs each message as JSON to the configured URL with an `Idempotency-Key` header. Network errors,
 * timeouts, 5xx, 408 and 429 are retried with exponential backoff and jitter (a longer Retry-After, in
 * seconds or as a date, honoured up to maxBackoffMs) until the deadline; any other answer is final at
 * once. The same sender and policy as the webhook views (services/retry).
 */
export class HttpGateway implements OutboundGateway {
  private readonly stopping = new AbortController();
  private readonly timeoutMs: number;
  private readonly deadlineMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly now: () => number;

  constructor(private readonly options: HttpGatewayOptions) {
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.deadlineMs = options.deadlineMs ?? 4 * 60_000;
    this.initialBackoffMs = options.initialBackoffMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  async send(message: OutboundMessage): Promise<Sent> {
    const body = JSON.stringify({
      to: message.to,
      from: message.from ?? null,
      brand: message.brand,
      text: message.text,
      idempotencyKey: message.idempotencyKey,
    });
    const headers = {
      'content-type': 'application/json',
      'idempotency-key': message.idempotencyKey,
      'user-agent': 'suppression-ledger',
      ...(this.options.token !== undefined && { authorization: `Bearer ${this.options.token}` }),
    };
    let attempts = 0;
    try {
      return await retry(
        async (attempt) => {
          attempts = attempt;
          const { status, text } = await postOnce(this.options.url, {
            headers,
            body,
            timeoutMs: this.timeoutMs,
            signal: this.stopping.signal,
            readBody: true,
            now: this.now,
          });
          return { status, attempts: attempt, ...providerId(text) };
        },
        {
          initialMs: this.initialBackoffMs,
          maxMs: this.maxBackoffMs,
          deadline: this.now() + this.deadlineMs,
          now: this.now,
          signal: this.stopping.signal,
        },
      );
    } catch (error) {
      if (this.stopping.signal.aborted) {
        throw new GatewayError('the gateway was closed while sending', attempts);
      }
      if (!(error instanceof HttpFailure)) throw error;
      throw new GatewayError(
        error.retriable
          ? `the gateway did not accept the message before the deadline: ${error.message}`
          : `the gateway refused the message: ${error.message}`,
        attempts,
        error.status,
      );
    }
  }

  close(): void {
    this.stopping.abort();
  }
}

function providerId(text: string): { providerId?: string } {
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const id = parsed.id ?? parsed.sid ?? parsed.messageId;
    return typeof id === 'string' ? { providerId: id } : {};
  } catch {
    return {};
  }
}
