import { Redis } from 'ioredis';
import pg from 'pg';
import { latencyOf, nowMs, round, Samples, sleep, type Latency } from './measure.js';
import { checkPhones } from './synthetic.js';

/**
 * The lookup the way senders do it without the ledger, as its own process: a Redis set of suppressed
 * numbers (SISMEMBER over one ioredis connection with auto-pipelining) or a PostgreSQL table with the
 * phone as primary key (a prepared SELECT over a pg Pool). `concurrency` lookups are always in flight.
 */
export interface StoreLoadSpec {
  readonly kind: 'redis' | 'postgres';
  readonly concurrency: number;
  readonly duration: number;
  readonly warmup: number;
  readonly suppressed: number;
  readonly redisUrl?: string;
  readonly redisKey?: string;
  readonly postgresUrl?: string;
  readonly table?: string;
  readonly poolSize?: number;
}

export interface StoreLoadResult {
  readonly opsPerSecond: number;
  readonly ops: number;
  readonly hits: number;
  readonly seconds: number;
  readonly latency: Latency;
}

async function drive(
  concurrency: number,
  seconds: number,
  lookup: (phone: string) => Promise<boolean>,
  phones: readonly string[],
  samples?: Samples,
): Promise<{ ops: number; hits: number; seconds: number }> {
  let stop = false;
  let ops = 0;
  let hits = 0;
  let next = 0;
  const started = nowMs();
  const worker = async (): Promise<void> => {
    while (!stop) {
      const phone = phones[next++ % phones.length] ?? '';
      const t = nowMs();
      if (await lookup(phone)) hits++;
      samples?.push(nowMs() - t);
      ops++;
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  await sleep(seconds * 1000);
  stop = true;
  const elapsed = (nowMs() - started) / 1000;
  const counted = ops;
  await Promise.all(workers);
  return { ops: counted, hits, seconds: elapsed };
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as StoreLoadSpec;
  const phones = checkPhones(spec.suppressed, 4000);
  let lookup: (phone: string) => Promise<boolean>;
  let close: () => Promise<void>;
  if (spec.kind === 'redis') {
    const redis = new Redis(spec.redisUrl ?? 'redis://127.0.0.1:6379/0', { enableAutoPipelining: true });
    const key = spec.redisKey ?? '';
    lookup = async (phone) => (await redis.sismember(key, phone)) === 1;
    close = async () => void (await redis.quit());
  } else {
    const pool = new pg.Pool({ connectionString: spec.postgresUrl, max: spec.poolSize ?? 10 });
    const text = `SELECT allowed FROM ${spec.table ?? ''} WHERE phone = $1`;
    lookup = async (phone) => {
      const result = await pool.query<{ allowed: boolean }>({ name: 'bench-lookup', text, values: [phone] });
      return result.rows[0]?.allowed === false;
    };
    close = () => pool.end();
  }
  if (spec.warmup > 0) await drive(spec.concurrency, spec.warmup, lookup, phones);
  const samples = new Samples();
  const { ops, hits, seconds } = await drive(spec.concurrency, spec.duration, lookup, phones, samples);
  await close();
  const result: StoreLoadResult = {
    opsPerSecond: round(ops / seconds, 1),
    ops,
    hits,
    seconds: round(seconds, 2),
    latency: latencyOf(samples.values()),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
