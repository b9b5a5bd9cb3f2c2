/** Latency percentiles in milliseconds, from samples in milliseconds. */
export interface Latency {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export function latencyOf(samples: ArrayLike<number>): Latency {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number): number =>
    sorted.length === 0
      ? NaN
      : (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN);
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    p50: round(at(0.5), 3),
    p90: round(at(0.9), 3),
    p99: round(at(0.99), 3),
    max: round(sorted[sorted.length - 1] ?? NaN, 3),
    mean: round(sorted.length === 0 ? NaN : sum / sorted.length, 3),
  };
}

/** A growable list of float samples that does not allocate one object per sample. */
export class Samples {
  private data = new Float64Array(1 << 16);
  private length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }

  get count(): number {
    return this.length;
  }

  values(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

export function round(value: number, digits = 0): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export const nowMs = (): number => performance.now();

/** Seconds a benchmark's measured phase runs (BENCH_DURATION, default 8; BENCH_QUICK=1 makes it 2). */
export function durationSeconds(fallback = 8): number {
  const raw = process.env.BENCH_DURATION;
  if (raw !== undefined && raw !== '' && Number(raw) > 0) return Number(raw);
  return process.env.BENCH_QUICK === '1' ? 2 : fallback;
}

export const quick = (): boolean => process.env.BENCH_QUICK === '1';

const began = Date.now();

/** A progress line for the person running `make bench` (bench/main.ts passes lines starting "· " on). */
export function progress(message: string): void {
  process.stdout.write(`· [+${Math.round((Date.now() - began) / 1000)} s] ${message}\n`);
}
