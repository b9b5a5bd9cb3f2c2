import { EmbeddedEventLog, type LogRecord } from '../../services/log/index.js';
import {
  MemoryView,
  PostgresView,
  ProjectorRunner,
  RedisView,
  type Projection,
} from '../../services/projector/index.js';
import { appendSynthetic } from '../fill.js';
import { nowMs, quick, round } from '../measure.js';
import { scratchDir, uniqueTag } from '../processes.js';
import { dropRedis, dropTables, POSTGRES_URL, REDIS_URL } from '../stores.js';
import { attempt, ratioOf, type Figure, type FigureOutput } from '../results.js';
import type { SyntheticOptions } from '../synthetic.js';

/**
 * Figure 7: rebuilding a view by replaying the log. An embedded log is filled with synthetic events
 * (EmbeddedEventLog.append in big batches); a fresh ProjectorRunner feeds a fresh store from the start
 * and the clock stops when it reports ready. The reference is the log's own read rate: the same
 * consumer path delivering to a projection that does nothing.
 */
const TOTAL = quick() ? 100_000 : 1_000_000;
/** PostgreSQL and Redis rebuilds replay only the first STORE_EVENTS events (they are slower). */
const STORE_EVENTS = quick() ? 20_000 : 200_000;
/** A store rebuild still running after this long is stopped and its rate taken over what it applied. */
const STORE_CAP_S = quick() ? 20 : 60;
const TARGET = '≥ 100,000 events/s';

function collect(): number {
  if (globalThis.gc !== undefined) for (let i = 0; i < 4; i++) globalThis.gc();
  return process.memoryUsage().heapUsed;
}

/** Replays the whole log into `projection` with a fresh runner; the rate, capped at `capS`. */
async function replay(
  log: EmbeddedEventLog,
  projection: Projection,
  capS: number,
): Promise<{ applied: number; seconds: number; complete: boolean }> {
  const runner = new ProjectorRunner(log, projection, { group: `bench-${projection.name}` });
  const started = nowMs();
  runner.start();
  let timer: NodeJS.Timeout | undefined;
  const complete = await Promise.race([
    runner.whenReady().then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), capS * 1000))),
  ]);
  clearTimeout(timer);
  const seconds = (nowMs() - started) / 1000;
  const applied = runner.cursor[0] ?? 0;
  await runner.stop();
  return { applied, seconds, complete };
}

/** The log's read rate through the consumer path, delivering to nothing. */
async function rawRead(log: EmbeddedEventLog): Promise<{ read: number; seconds: number }> {
  const head = log.last;
  let read = 0;
  const started = nowMs();
  await new Promise<void>((resolve) => {
    const consumption = log.consume({
      group: 'bench-raw',
      checkpoint: () => Promise.resolve(0 as never),
      deliver: (records: readonly LogRecord[]) => {
        read += records.length;
        if ((records[records.length - 1]?.position ?? 0) >= head) void consumption.stop().then(resolve);
        return Promise.resolve();
      },
    });
  });
  return { read, seconds: (nowMs() - started) / 1000 };
}

function figure(
  id: string,
  name: string,
  result: { applied: number; seconds: number; complete: boolean },
  raw: { read: number; seconds: number },
  extra: Record<string, unknown> = {},
): Figure {
  const rate = Math.round(result.applied / result.seconds);
  const rawRate = Math.round(raw.read / raw.seconds);
  return {
    id,
    name,
    unit: 'events/s',
    ours: rate,
    reference: {
      name: `raw read of the embedded log (${raw.read.toLocaleString('en-US')} events)`,
      value: rawRate,
      unit: 'events/s',
    },
    ratio: ratioOf(rate, rawRate),
    target: { text: TARGET, met: rate >= 100_000, note: `${rate.toLocaleString('en-US')} events/s` },
    detail: {
      summary: `${result.applied.toLocaleString('en-US')} events in ${round(result.seconds, 1)} s${result.complete ? '' : ` (stopped at the ${STORE_CAP_S} s cap)`}`,
      applied: result.applied,
      seconds: round(result.seconds, 2),
      complete: result.complete,
      ...extra,
    },
  };
}

export async function run(): Promise<FigureOutput> {
  const tag = uniqueTag();
  const dir = scratchDir('rebuild');
  const log = EmbeddedEventLog.open(dir);
  const options: SyntheticOptions = {
    now: Date.now(),
    phones: Math.round(TOTAL * 0.6),
    optInShare: 0.15,
    brands: ['acme', 'beta'],
  };
  const figures: Figure[] = [];
  const fills: Record<string, unknown>[] = [];
  try {
    fills.push(await appendSynthetic(log, 0, STORE_EVENTS, options));
    const rawSmall = await rawRead(log);

    const redisPrefix = `bench:${tag}:rebuild`;
    figures.push(
      ...(await attempt(
        {
          id: 'rebuild-redis',
          name: `rebuild a Redis view (first ${STORE_EVENTS / 1000}k events)`,
          unit: 'events/s',
          target: TARGET,
        },
        async () => {
          const view = new RedisView({ name: 'bench-rebuild-redis', url: REDIS_URL, prefix: redisPrefix });
          await view.open();
          try {
            return figure(
              'rebuild-redis',
              `rebuild a Redis view (first ${STORE_EVENTS / 1000}k events)`,
              await replay(log, view, STORE_CAP_S),
              rawSmall,
            );
          } finally {
            await view.close();
          }
        },
      )),
    );
    await dropRedis(redisPrefix);

    const table = `bench_${tag}_rebuild`;
    figures.push(
      ...(await attempt(
        {
          id: 'rebuild-postgres',
          name: `rebuild a PostgreSQL view (first ${STORE_EVENTS / 1000}k events)`,
          unit: 'events/s',
          target: TARGET,
        },
        async () => {
          const view = new PostgresView({ name: 'bench-rebuild-pg', connectionString: POSTGRES_URL, table });
          await view.open();
          try {
            return figure(
              'rebuild-postgres',
              `rebuild a PostgreSQL view (first ${STORE_EVENTS / 1000}k events)`,
              await replay(log, view, STORE_CAP_S),
              rawSmall,
            );
          } finally {
            await view.close();
          }
        },
      )),
    );
    await dropTables(table);

    fills.push(await appendSynthetic(log, STORE_EVENTS, TOTAL, options));
    const raw = await rawRead(log);
    const label = `${TOTAL / 1_000_000 >= 1 ? `${TOTAL / 1_000_000}M` : `${TOTAL / 1000}k`}`;
    figures.push(
      ...(await attempt(
        {
          id: 'rebuild-memory',
          name: `rebuild the central (memory) view from ${label} events`,
          unit: 'events/s',
          target: TARGET,
        },
        async () => {
          const before = collect();
          const view = new MemoryView('bench-rebuild-memory');
          const result = await replay(log, view, 300);
          const bytes = collect() - before;
          return figure(
            `rebuild-memory`,
            `rebuild the central (memory) view from ${label} events`,
            result,
            raw,
            {
              phones: view.size,
              heapBytesPerPhone: round(bytes / Math.max(1, view.size), 1),
              note: 'heap per phone of a view fed from the log (ids and strings as decoded), after GC',
            },
          );
        },
      )),
    );
  } finally {
    await log.close();
  }
  return {
    figures,
    extra: {
      rebuildFill: fills.map((f) => ({ ...f, note: 'EmbeddedEventLog.append, 5,000 events a call' })),
    },
  };
}
