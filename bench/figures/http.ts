import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { fillDataDir } from '../fill.js';
import type { HttpLoadResult, HttpLoadSpec } from '../http-load.js';
import { durationSeconds, latencyOf, quick, round } from '../measure.js';
import {
  cpuTimeMs,
  runJsonChild,
  scratchDir,
  startLedger,
  startReference,
  uniqueTag,
  type RunningLedger,
} from '../processes.js';
import { attempt, ratioOf, type Figure, type FigureOutput } from '../results.js';
import type { StoreLoadResult, StoreLoadSpec } from '../store-load.js';
import { POSTGRES_URL, REDIS_URL } from '../stores.js';
import { phoneAt } from '../synthetic.js';

export const SUPPRESSED = 10_000;
const SINGLE_TARGET = '≥ 25,000 checks/s, p99 ≤ 5 ms, ≥ 0.8× fastify';
const STORE_CONCURRENCY = 50;

/** A merged measurement, with the server's CPU time (user + system, all threads) per request served. */
export type Measured = HttpLoadResult & { readonly serverCpuMicrosecondsPerRequest: number };

export function load(spec: HttpLoadSpec): Promise<HttpLoadResult> {
  return runJsonChild<HttpLoadResult>('autocannon', 'http-load.js', spec, {
    timeoutMs: (spec.duration + spec.warmup + 60) * 1000,
  });
}

/**
 * Ours and the reference in alternating rounds (A B A B …), each a fresh autocannon process with its
 * own warm-up, merged: a machine whose background load drifts during the run then weighs on both
 * sides alike, and the ratio is what it would be on a quiet machine.
 */
export async function alternate(
  ours: HttpLoadSpec & { readonly serverPid?: number },
  reference: HttpLoadSpec & { readonly serverPid?: number },
  rounds = 2,
): Promise<{ ours: Measured; reference: Measured }> {
  const dir = scratchDir('samples');
  const parts: { ours: HttpLoadResult[]; reference: HttpLoadResult[] } = { ours: [], reference: [] };
  const files: { ours: string[]; reference: string[] } = { ours: [], reference: [] };
  const cpu = { ours: 0, reference: 0 };
  const roundSeconds = Math.max(2, Math.round(ours.duration / rounds));
  for (let round = 0; round < rounds; round++) {
    for (const side of ['ours', 'reference'] as const) {
      const { serverPid, ...spec } = side === 'ours' ? ours : reference;
      const samplesFile = join(dir, `${side}-${round}.f64`);
      const warmup = round === 0 ? spec.warmup : Math.min(1, spec.warmup);
      // The server's CPU over the whole run, warm-up included: the warm-up's requests are counted too.
      const before = cpuTimeMs(serverPid);
      const result = await load({ ...spec, duration: roundSeconds, warmup, samplesFile });
      cpu[side] += cpuTimeMs(serverPid) - before;
      parts[side].push(result);
      files[side].push(samplesFile);
    }
  }
  const merge = (side: 'ours' | 'reference'): Measured => {
    const results = parts[side];
    const requests = results.reduce((n, r) => n + r.requests, 0);
    const seconds = results.reduce((n, r) => n + r.seconds, 0);
    const samples = files[side].map((f) => {
      const bytes = readFileSync(f);
      return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
    });
    const all = new Float64Array(samples.reduce((n, s) => n + s.length, 0));
    let at = 0;
    for (const s of samples) {
      all.set(s, at);
      at += s.length;
    }
    const served = requests + results.reduce((n, r) => n + (r.warmupRequests ?? 0), 0);
    return {
      requestsPerSecond: round(requests / seconds, 1),
      requests,
      seconds: round(seconds, 2),
      serverCpuMicrosecondsPerRequest: round((cpu[side] * 1000) / Math.max(1, served), 1),
      non2xx: results.reduce((n, r) => n + r.non2xx, 0),
      errors: results.reduce((n, r) => n + r.errors, 0),
      timeouts: results.reduce((n, r) => n + r.timeouts, 0),
      latency: latencyOf(all),
      ...(results[0]?.requestBytes !== undefined && { requestBytes: results[0].requestBytes }),
    };
  };
  const result = { ours: merge('ours'), reference: merge('reference') };
  rmSync(dir, { recursive: true, force: true });
  return result;
}

const ms = (value: number): string => `${round(value, 2)} ms`;

/** Figures 1-3: single checks (beside fastify, Redis and PostgreSQL) and batch checks over HTTP. */
export async function run(): Promise<FigureOutput> {
  const duration = durationSeconds(6);
  const warmup = quick() ? 1 : 1.5;
  const dataDir = scratchDir('http');
  await fillDataDir(dataDir, SUPPRESSED);
  const ledger = await startLedger({ dataDir });
  let reference: RunningLedger | undefined;
  const figures: Figure[] = [];
  try {
    await sanityCheck(ledger.url);
    reference = await startReference();
    const single = new Map<number, Measured>();
    for (const connections of [10, 50, 100]) {
      const id = `http-check-c${connections}`;
      const name = `single check over HTTP, keep-alive, ${connections} connections`;
      figures.push(
        ...(await attempt({ id, name, unit: 'checks/s', target: SINGLE_TARGET }, async () => {
          const spec = { workload: 'check', connections, duration, warmup, suppressed: SUPPRESSED } as const;
          const { ours, reference: ref } = await alternate(
            { ...spec, url: ledger.url, serverPid: ledger.child.process.pid },
            { ...spec, url: reference?.url ?? '', serverPid: reference?.child.process.pid },
          );
          single.set(connections, ours);
          const ratio = ratioOf(ours.requestsPerSecond, ref.requestsPerSecond);
          const misses = [
            ...(ours.requestsPerSecond < 25_000
              ? [`${Math.round(ours.requestsPerSecond).toLocaleString('en-US')} < 25,000 checks/s`]
              : []),
            ...(ours.latency.p99 > 5 ? [`p99 ${ms(ours.latency.p99)} > 5 ms`] : []),
            ...(ratio !== null && ratio < 0.8 ? [`${ratio}× < 0.8× fastify`] : []),
          ];
          return {
            id,
            name,
            unit: 'checks/s',
            ours: ours.requestsPerSecond,
            reference: {
              name: 'fastify constant-JSON route',
              value: ref.requestsPerSecond,
              unit: 'req/s',
              detail: {
                latency: ref.latency,
                non2xx: ref.non2xx,
                errors: ref.errors,
                serverCpuMicrosecondsPerRequest: ref.serverCpuMicrosecondsPerRequest,
              },
            },
            ratio,
            target: {
              text: SINGLE_TARGET,
              met: misses.length === 0 && ours.non2xx === 0,
              note: misses.join('; '),
            },
            detail: {
              summary: `p50 ${ms(ours.latency.p50)}, p99 ${ms(ours.latency.p99)}; server CPU ${ours.serverCpuMicrosecondsPerRequest} µs/req vs fastify ${ref.serverCpuMicrosecondsPerRequest}`,
              latency: ours.latency,
              serverCpuMicrosecondsPerRequest: ours.serverCpuMicrosecondsPerRequest,
              non2xx: ours.non2xx,
              errors: ours.errors,
              requests: ours.requests,
              seconds: ours.seconds,
            },
          };
        })),
      );
    }
    figures.push(...(await keyFigure(ledger, duration, warmup)));
    figures.push(...(await storeFigures(single.get(STORE_CONCURRENCY), duration, warmup)));
    figures.push(...(await batchFigures(ledger, reference, duration)));
  } finally {
    await Promise.all([ledger.stop(), reference?.stop()]);
  }
  return { figures };
}

const KEY_TARGET = 'within 5% of the same check without keys (≥ 0.95×)';

/**
 * The single check with access control on (an API key with checks:read, per-key rate limiting),
 * alternating with the same ledger data served without keys: what authentication costs a sender.
 */
async function keyFigure(open: RunningLedger, duration: number, warmup: number): Promise<Figure[]> {
  const id = `http-check-key-c${STORE_CONCURRENCY}`;
  const name = `single check with an API key, ${STORE_CONCURRENCY} connections`;
  return attempt({ id, name, unit: 'checks/s', target: KEY_TARGET }, async () => {
    const secret = `slk_bench_${uniqueTag()}`;
    const configFile = join(scratchDir('keys'), 'ledger.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        apiKeys: {
          sender: {
            sha256: createHash('sha256').update(secret).digest('hex'),
            scopes: ['checks:read'],
            brands: ['*'],
          },
        },
      }),
    );
    // The same data in a data directory of its own (one embedded log belongs to one process).
    const keyedDir = scratchDir('http-key');
    await fillDataDir(keyedDir, SUPPRESSED);
    const keyed = await startLedger({
      dataDir: keyedDir,
      env: { LEDGER_CONFIG_FILE: configFile },
      name: 'ledger-key',
    });
    try {
      const spec = {
        workload: 'check',
        connections: STORE_CONCURRENCY,
        duration,
        warmup,
        suppressed: SUPPRESSED,
      } as const;
      const { ours, reference } = await alternate(
        {
          ...spec,
          url: keyed.url,
          serverPid: keyed.child.process.pid,
          headers: { authorization: `Bearer ${secret}` },
        },
        { ...spec, url: open.url, serverPid: open.child.process.pid },
      );
      const ratio = ratioOf(ours.requestsPerSecond, reference.requestsPerSecond);
      return {
        id,
        name,
        unit: 'checks/s',
        ours: ours.requestsPerSecond,
        reference: {
          name: 'the same check without keys',
          value: reference.requestsPerSecond,
          unit: 'checks/s',
          detail: {
            latency: reference.latency,
            serverCpuMicrosecondsPerRequest: reference.serverCpuMicrosecondsPerRequest,
          },
        },
        ratio,
        target: {
          text: KEY_TARGET,
          met: ratio !== null && ratio >= 0.95 && ours.non2xx === 0,
          note: ours.non2xx > 0 ? `${ours.non2xx} answers were not 2xx` : '',
        },
        detail: {
          summary: `p50 ${ms(ours.latency.p50)}, p99 ${ms(ours.latency.p99)}; server CPU ${ours.serverCpuMicrosecondsPerRequest} µs/req vs ${reference.serverCpuMicrosecondsPerRequest} without keys`,
          latency: ours.latency,
          serverCpuMicrosecondsPerRequest: ours.serverCpuMicrosecondsPerRequest,
          non2xx: ours.non2xx,
        },
      };
    } finally {
      await keyed.stop();
    }
  });
}

/** The ledger answers as the contract says before anything is measured against it. */
async function sanityCheck(url: string): Promise<void> {
  const ask = async (phone: string): Promise<{ status: string; allowed: boolean }> => {
    const response = await fetch(`${url}/v1/suppressions/${encodeURIComponent(phone)}?brand=acme`);
    return (await response.json()) as { status: string; allowed: boolean };
  };
  const out = await ask(phoneAt(SUPPRESSED - 1));
  const none = await ask(phoneAt(5_000_000));
  if (out.status !== 'opted_out' || out.allowed || none.status !== 'no_record' || !none.allowed) {
    throw new Error(`the ledger under test answers wrongly: ${JSON.stringify({ out, none })}`);
  }
}

/** Figure 2: the same lookup in Redis and PostgreSQL, as senders do it without the ledger. */
async function storeFigures(
  http: HttpLoadResult | undefined,
  duration: number,
  warmup: number,
): Promise<Figure[]> {
  const tag = uniqueTag();
  const key = `bench:${tag}:suppressed`;
  const table = `bench_lookup_${tag}`;
  const phones = Array.from({ length: SUPPRESSED }, (_, i) => phoneAt(i));
  const figures: Figure[] = [];
  const oursName = `HTTP check at ${STORE_CONCURRENCY} connections`;
  const compare = (id: string, name: string, refName: string, result: StoreLoadResult): Figure => ({
    id,
    name,
    unit: 'checks/s',
    ours: http?.requestsPerSecond ?? null,
    reference: {
      name: refName,
      value: result.opsPerSecond,
      unit: 'ops/s',
      detail: { latency: result.latency, hits: result.hits, ops: result.ops },
    },
    ratio: ratioOf(http?.requestsPerSecond, result.opsPerSecond),
    detail: {
      summary: `${oursName}; ${refName.split(' ')[0] ?? ''} p50 ${ms(result.latency.p50)}, p99 ${ms(result.latency.p99)}`,
      oursLatency: http?.latency,
      referenceHitRate: round(result.hits / Math.max(1, result.ops), 3),
    },
  });

  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  figures.push(
    ...(await attempt(
      { id: 'http-vs-redis', name: 'single check: ours over HTTP vs Redis SISMEMBER', unit: 'checks/s' },
      async () => {
        await redis.connect();
        for (let i = 0; i < phones.length; i += 1000) await redis.sadd(key, ...phones.slice(i, i + 1000));
        const spec: StoreLoadSpec = {
          kind: 'redis',
          concurrency: STORE_CONCURRENCY,
          duration,
          warmup,
          suppressed: SUPPRESSED,
          redisUrl: REDIS_URL,
          redisKey: key,
        };
        const result = await runJsonChild<StoreLoadResult>('redis lookups', 'store-load.js', spec, {
          timeoutMs: (duration + warmup + 60) * 1000,
        });
        return compare(
          'http-vs-redis',
          'single check: ours over HTTP vs Redis SISMEMBER',
          `Redis SISMEMBER (ioredis auto-pipelined, ${STORE_CONCURRENCY} in flight)`,
          result,
        );
      },
    )),
  );
  await redis.unlink(key).catch(() => undefined);
  redis.disconnect();

  const client = new pg.Client({ connectionString: POSTGRES_URL });
  figures.push(
    ...(await attempt(
      {
        id: 'http-vs-postgres',
        name: 'single check: ours over HTTP vs PostgreSQL PK lookup',
        unit: 'checks/s',
      },
      async () => {
        await client.connect();
        await client.query(`CREATE TABLE ${table} (phone text PRIMARY KEY, allowed boolean NOT NULL)`);
        await client.query(`INSERT INTO ${table} (phone, allowed) SELECT unnest($1::text[]), false`, [
          phones,
        ]);
        await client.query(`ANALYZE ${table}`);
        const spec: StoreLoadSpec = {
          kind: 'postgres',
          concurrency: STORE_CONCURRENCY,
          duration,
          warmup,
          suppressed: SUPPRESSED,
          postgresUrl: POSTGRES_URL,
          table,
          poolSize: 10,
        };
        const result = await runJsonChild<StoreLoadResult>('postgres lookups', 'store-load.js', spec, {
          timeoutMs: (duration + warmup + 60) * 1000,
        });
        return compare(
          'http-vs-postgres',
          'single check: ours over HTTP vs PostgreSQL PK lookup',
          `PostgreSQL PK SELECT (pg Pool of 10, ${STORE_CONCURRENCY} in flight)`,
          result,
        );
      },
    )),
  );
  await client.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  await client.end().catch(() => undefined);
  return figures;
}

/** Figure 3: POST /v1/suppressions/check, phones per second, beside fastify parsing the same body. */
async function batchFigures(
  server: RunningLedger,
  referenceServer: RunningLedger,
  duration: number,
): Promise<Figure[]> {
  const figures: Figure[] = [];
  const target = '≥ 1,000,000 phones/s';
  const runs = [
    {
      id: 'batch-check-1k',
      batchSize: 1000,
      connections: 4,
      workload: 'batch',
      label: '1k phones a request (repeated list)',
    },
    {
      id: 'batch-check-10k',
      batchSize: 10_000,
      connections: 2,
      workload: 'batch',
      label: '10k phones a request (repeated list)',
    },
    {
      id: 'batch-check-1k-cold',
      batchSize: 1000,
      connections: 4,
      workload: 'batch-cold',
      label: '1k phones a request, every number new',
    },
  ] as const;
  for (const r of runs) {
    const name = `batch check, ${r.label}`;
    figures.push(
      ...(await attempt({ id: r.id, name, unit: 'phones/s', target }, async () => {
        const spec = {
          workload: r.workload,
          connections: r.connections,
          duration: Math.max(4, Math.round(duration / 2)),
          warmup: 1,
          suppressed: SUPPRESSED,
          batchSize: r.batchSize,
        } as const;
        const { ours, reference: ref } = await alternate(
          { ...spec, url: server.url, serverPid: server.child.process.pid },
          { ...spec, url: referenceServer.url, serverPid: referenceServer.child.process.pid },
        );
        const phones = ours.requestsPerSecond * r.batchSize;
        const refPhones = ref.requestsPerSecond * r.batchSize;
        return {
          id: r.id,
          name,
          unit: 'phones/s',
          ours: Math.round(phones),
          reference: {
            name: 'fastify route parsing the same body',
            value: Math.round(refPhones),
            unit: 'phones/s',
            detail: {
              latency: ref.latency,
              serverCpuMicrosecondsPerRequest: ref.serverCpuMicrosecondsPerRequest,
            },
          },
          ratio: ratioOf(phones, refPhones),
          target: {
            text: target,
            met: phones >= 1_000_000 && ours.non2xx === 0,
            note: phones >= 1_000_000 ? '' : `${Math.round(phones).toLocaleString('en-US')} phones/s`,
          },
          detail: {
            summary: `${round(ours.requestsPerSecond, 1)} req/s × ${r.batchSize}, p50 ${ms(ours.latency.p50)}; server CPU ${round(ours.serverCpuMicrosecondsPerRequest / r.batchSize, 2)} µs/phone vs fastify ${round(ref.serverCpuMicrosecondsPerRequest / r.batchSize, 2)}`,
            serverCpuMicrosecondsPerRequest: ours.serverCpuMicrosecondsPerRequest,
            requestsPerSecond: ours.requestsPerSecond,
            latency: ours.latency,
            non2xx: ours.non2xx,
            connections: r.connections,
            requestBytes: ours.requestBytes,
          },
        };
      })),
    );
  }
  return figures;
}
