import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { latencyOf, nowMs, quick, round, sleep, type Latency } from './measure.js';
import { postJson, scratchDir, startLedger, uniqueTag } from './processes.js';
import { dropRedis, dropTables, POSTGRES_URL, REDIS_URL } from './stores.js';
import type { Figure, FigureOutput } from './results.js';
import { phoneAt } from './synthetic.js';

/**
 * Figure 5: a STOP accepted by POST /v1/inbound/sms → the opt-out applied in every view. The clock
 * starts when the POST has answered (with the position) and stops, per view, when the change can be
 * seen where that view's readers look:
 * - memory: GET /v1/suppressions/:phone?minPosition=<position> answers (it waits for the position, so
 *   this includes one HTTP round trip even when the view was already there);
 * - Redis: SISMEMBER on the view's suppressed set is 1 (polled about every millisecond);
 * - PostgreSQL: the view's row for the phone says not allowed (polled about every millisecond);
 * - webhook: our receiver got the POST for the phone (receipt time; 0 if it came before the answer).
 * "Every view" is the latest of the four. STOPs go one at a time.
 */
const STOPS = quick() ? 40 : 200;
const WARMUP = 10;
const TIMEOUT_MS = 10_000;
const VIEWS = ['memory', 'redis', 'postgres', 'webhook'] as const;
type ViewName = (typeof VIEWS)[number];

interface InboundAnswer {
  readonly intent: string;
  readonly position: string | null;
}

/** The CRM end of the webhook view: remembers when each phone's opt-out arrived. */
function webhookReceiver(): Promise<{
  server: Server;
  url: string;
  arrived: Map<string, number>;
  waiters: Map<string, () => void>;
}> {
  const arrived = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const at = nowMs();
      try {
        const change = JSON.parse(Buffer.concat(chunks).toString()) as { phone?: string; allowed?: boolean };
        if (change.phone !== undefined && change.allowed === false && !arrived.has(change.phone)) {
          arrived.set(change.phone, at);
          waiters.get(change.phone)?.();
        }
      } catch {
        // not ours to judge: acknowledge anyway
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      resolve({ server, url: `http://127.0.0.1:${port}/hook`, arrived, waiters });
    });
  });
}

async function pollUntil(check: () => Promise<boolean>, deadline: number): Promise<number> {
  for (;;) {
    if (await check()) return nowMs();
    if (nowMs() > deadline) return NaN;
    await sleep(1);
  }
}

export async function stopLatency(mode: 'embedded' | 'kafka'): Promise<FigureOutput> {
  const tag = uniqueTag();
  const dir = scratchDir(`stop-${mode}`);
  const receiver = await webhookReceiver();
  const redisPrefix = `bench:${tag}`;
  const table = `bench_${tag}`;
  const configFile = join(dir, 'ledger.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      numbers: { '12345': { brand: 'acme' } },
      views: [
        { name: 'bench-redis', kind: 'redis', url: REDIS_URL, prefix: redisPrefix },
        { name: 'bench-pg', kind: 'postgres', connectionString: POSTGRES_URL, table },
        { name: 'bench-hook', kind: 'webhook', url: receiver.url },
      ],
    }),
  );
  const brokers = process.env.BENCH_KAFKA_BROKERS;
  if (mode === 'kafka' && brokers === undefined) throw new Error('BENCH_KAFKA_BROKERS is not set');
  const ledger = await startLedger({
    dataDir: join(dir, 'data'),
    env: {
      LEDGER_CONFIG_FILE: configFile,
      ...(mode === 'kafka' && {
        LEDGER_KAFKA_BROKERS: brokers ?? '',
        LEDGER_TOPIC: `bench.stop.${tag}`,
        LEDGER_PARTITIONS: '6',
      }),
    },
    readyTimeoutMs: 120_000,
  });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  const suppressedKey = `${redisPrefix}:suppressed:brand:acme`;
  const rowQuery = {
    name: 'bench-row',
    text: `SELECT allowed FROM ${table}_suppressions WHERE phone = $1 AND scope = 'brand:acme'`,
  };
  const samples: Record<ViewName | 'all' | 'answer', number[]> = {
    memory: [],
    redis: [],
    postgres: [],
    webhook: [],
    all: [],
    answer: [],
  };
  let timeouts = 0;
  let beforeAnswer = 0;
  try {
    for (let i = 0; i < WARMUP + STOPS; i++) {
      const phone = phoneAt(30_000_000 + i);
      const webhook = new Promise<number>((resolve) => {
        const done = (): void => resolve(receiver.arrived.get(phone) ?? NaN);
        if (receiver.arrived.has(phone)) done();
        else receiver.waiters.set(phone, done);
      });
      const sent = nowMs();
      const answer = await postJson<InboundAnswer>(`${ledger.url}/v1/inbound/sms`, {
        from: phone,
        to: '12345',
        body: 'STOP',
        messageId: `bench-${tag}-${i}`,
      });
      const accepted = nowMs();
      if (answer.intent !== 'opt_out' || answer.position === null)
        throw new Error(`STOP was not recorded: ${JSON.stringify(answer)}`);
      const deadline = accepted + TIMEOUT_MS;
      const [memory, inRedis, inPostgres, hooked] = await Promise.all([
        fetch(
          `${ledger.url}/v1/suppressions/${encodeURIComponent(phone)}?brand=acme&minPosition=${answer.position}`,
        )
          .then((r) => r.json() as Promise<{ status: string }>)
          .then((body) => (body.status === 'opted_out' ? nowMs() : NaN)),
        pollUntil(async () => (await redis.sismember(suppressedKey, phone)) === 1, deadline),
        pollUntil(
          async () =>
            (await client.query<{ allowed: boolean }>({ ...rowQuery, values: [phone] })).rows[0]?.allowed ===
            false,
          deadline,
        ),
        Promise.race([webhook, sleep(TIMEOUT_MS).then(() => NaN)]),
      ]);
      receiver.waiters.delete(phone);
      if (i < WARMUP) continue;
      const times: Record<ViewName, number> = {
        memory,
        redis: inRedis,
        postgres: inPostgres,
        webhook: hooked,
      };
      if (hooked < accepted) beforeAnswer++;
      if (Object.values(times).some((t) => Number.isNaN(t))) {
        timeouts++;
        continue;
      }
      samples.answer.push(accepted - sent);
      let latest = 0;
      for (const view of VIEWS) {
        const ms = Math.max(0, times[view] - accepted);
        samples[view].push(ms);
        latest = Math.max(latest, ms);
      }
      samples.all.push(latest);
    }
  } finally {
    redis.disconnect();
    await client.end().catch(() => undefined);
    await ledger.stop();
    receiver.server.close();
    await dropRedis(redisPrefix).catch(() => undefined);
    await dropTables(table).catch(() => undefined);
  }
  const all = latencyOf(samples.all);
  const perView: Record<string, Latency> = {};
  for (const view of VIEWS) perView[view] = latencyOf(samples[view]);
  const limit = mode === 'embedded' ? 50 : 250;
  const slowest = VIEWS.reduce((a, b) => ((perView[a]?.p99 ?? 0) >= (perView[b]?.p99 ?? 0) ? a : b));
  const figure: Figure = {
    id: `stop-${mode}`,
    name: `STOP accepted → applied in every view (memory, Redis, PostgreSQL, webhook), ${mode === 'embedded' ? 'embedded log' : 'Kafka'}`,
    unit: 'ms p99',
    ours: all.p99,
    lowerIsBetter: true,
    target: {
      text: `p99 ≤ ${limit} ms`,
      met: timeouts === 0 && all.count > 0 && all.p99 <= limit,
      note: `p99 ${all.p99} ms${timeouts > 0 ? `, ${timeouts} STOPs not applied within ${TIMEOUT_MS} ms` : ''}`,
    },
    detail: {
      summary: `p50 ${round(all.p50, 1)} ms, max ${round(all.max, 1)} ms over ${all.count} STOPs; slowest view ${slowest} (p99 ${perView[slowest]?.p99} ms)`,
      everyView: all,
      perView,
      postAnswer: latencyOf(samples.answer),
      timeouts,
      webhookBeforeAnswer: beforeAnswer,
      method:
        'clock from the POST /v1/inbound/sms answer; memory: GET with minPosition answered; Redis: SISMEMBER polled ~1 ms; PostgreSQL: row polled ~1 ms; webhook: receipt time at our receiver',
    },
  };
  return { figures: [figure] };
}
