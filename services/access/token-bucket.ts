/**
 * Per-caller rate limits as token buckets: each caller (a key id, or an address without keys) holds up
 * to `perMinute` tokens, refilled continuously at `perMinute` a minute, and a request takes one. It is
 * synchronous and a Map lookup per request: the check is the hot path, and a limiter that awaits (as
 * @fastify/rate-limit does, several times a request) costs more than the check itself.
 */

export interface TokenBucketOptions {
  /** Requests a minute, sustained; also the burst a caller that was idle may spend at once. */
  readonly perMinute: number;
  /**
   * Callers remembered at most (default 10,000): memory stays bounded however many addresses call. Past
   * it, buckets that have refilled are dropped first (forgetting them changes nothing), then the
   * least recently seen; a caller forgotten while not full starts again with a full bucket.
   */
  readonly maxCallers?: number;
  /** Milliseconds on a clock that never goes back (default `performance.now`). */
  readonly now?: () => number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date. */
  at: number;
  /** When the bucket last moved to the end of the Map's order (its recency, to the second). */
  placed: number;
}

/** A caller seen within this long keeps its place; older ones move to the end when seen again. */
const RECENCY_RESOLUTION_MS = 1000;
/** Eviction frees down to this share of `maxCallers`, so it runs once per many new callers. */
const LOW_WATER = 0.9;

export class TokenBuckets {
  readonly perMinute: number;
  readonly maxCallers: number;
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private readonly now: () => number;

  constructor({ perMinute, maxCallers = 10_000, now = () => performance.now() }: TokenBucketOptions) {
    if (!(perMinute >= 1)) throw new RangeError(`perMinute must be at least 1, not ${perMinute}`);
    if (!(maxCallers >= 1)) throw new RangeError(`maxCallers must be at least 1, not ${maxCallers}`);
    this.perMinute = perMinute;
    this.maxCallers = maxCallers;
    this.perMs = perMinute / 60_000;
    this.now = now;
  }

  /** Callers currently remembered. */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Takes a token for `caller`: 0 when it may go on, otherwise the milliseconds until it may (nothing
   * is taken then, so a caller that keeps knocking is not held off any longer for it).
   */
  take(caller: string): number {
    const now = this.now();
    let bucket = this.buckets.get(caller);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxCallers) this.evict(now);
      bucket = { tokens: this.perMinute, at: now, placed: now };
      this.buckets.set(caller, bucket);
    } else {
      bucket.tokens = this.tokensAt(bucket, now);
      bucket.at = now;
      if (now - bucket.placed > RECENCY_RESOLUTION_MS) {
        // Map order is insertion order: re-inserting keeps the least recently seen callers first.
        this.buckets.delete(caller);
        this.buckets.set(caller, bucket);
        bucket.placed = now;
      }
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / this.perMs);
  }

  private tokensAt(bucket: Bucket, now: number): number {
    const tokens = bucket.tokens + Math.max(0, now - bucket.at) * this.perMs;
    return tokens > this.perMinute ? this.perMinute : tokens;
  }

  /** Room for a new caller: refilled buckets go first, then the least recently seen. */
  private evict(now: number): void {
    for (const [caller, bucket] of this.buckets) {
      if (this.tokensAt(bucket, now) >= this.perMinute) this.buckets.delete(caller);
    }
    const keep = Math.floor(this.maxCallers * LOW_WATER);
    for (const caller of this.buckets.keys()) {
      if (this.buckets.size <= keep) break;
      this.buckets.delete(caller);
    }
  }
}

/** Seconds for a Retry-After header: whole seconds, rounded up, at least 1. */
export const retryAfterSeconds = (waitMs: number): number => Math.max(1, Math.ceil(waitMs / 1000));
