import { setTimeout as pause } from 'node:timers/promises';
import type { E164 } from '../ledger/index.js';

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

const RETRYABLE = (status: number): boolean => status >= 500 || status === 408 || status === 429;

/**
 * POSTs each message as JSON to the configured URL with an `Idempotency-Key` header. Network errors,
 * timeouts, 5xx, 408 and 429 are retried with exponential backoff and jitter (Retry-After honoured)
 * until the deadline; any other 4xx is final at once.
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
    const deadline = this.now() + this.deadlineMs;
    const body = JSON.stringify({
      to: message.to,
      from: message.from ?? null,
      brand: message.brand,
      text: message.text,
      idempotencyKey: message.idempotencyKey,
    });
    let backoff = this.initialBackoffMs;
    for (let attempt = 1; ; attempt++) {
      let failure: string;
      let wait = backoff;
      try {
        const response = await fetch(this.options.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': message.idempotencyKey,
            'user-agent': 'suppression-ledger',
            ...(this.options.token !== undefined && { authorization: `Bearer ${this.options.token}` }),
          },
          body,
          signal: AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.timeoutMs)]),
        });
        const text = await response.text();
        if (response.ok) return { status: response.status, attempts: attempt, ...providerId(text) };
        failure = `HTTP ${response.status}`;
        if (!RETRYABLE(response.status))
          throw new GatewayError(`the gateway refused the message: ${failure}`, attempt, response.status);
        const retryAfter = Number(response.headers.get('retry-after'));
        if (Number.isFinite(retryAfter) && retryAfter > 0)
          wait = Math.min(retryAfter * 1000, this.maxBackoffMs);
      } catch (error) {
        if (error instanceof GatewayError) throw error;
        if (this.stopping.signal.aborted)
          throw new GatewayError('the gateway was closed while sending', attempt);
        failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
      const jittered = wait / 2 + Math.random() * (wait / 2);
      if (this.now() + jittered > deadline) {
        throw new GatewayError(
          `the gateway did not accept the message before the deadline: ${failure}`,
          attempt,
        );
      }
      // Ends early when stopped: the abort rejects, which ends the wait.
      await pause(jittered, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      if (this.stopping.signal.aborted)
        throw new GatewayError('the gateway was closed while sending', attempt);
      backoff = Math.min(backoff * 2, this.maxBackoffMs);
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
