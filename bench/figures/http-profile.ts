import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fillDataDir } from '../fill.js';
import type { HttpLoadResult } from '../http-load.js';
import { durationSeconds, progress, round } from '../measure.js';
import {
  BENCH_DIST,
  cpuTimeMs,
  ROOT,
  scratchDir,
  spawnNode,
  startLedger,
  waitForOutput,
  type RunningLedger,
} from '../processes.js';
import { summariseProfile, type ProfileSummary } from '../profile.js';
import type { FigureOutput } from '../results.js';
import { load, SUPPRESSED } from './http.js';

const CONNECTIONS = 50;

interface Profiled extends ProfileSummary {
  readonly requests: number;
  readonly load: HttpLoadResult;
  /** Sampled busy time of the main thread per request, by area (µs). */
  readonly perRequestUs: Record<string, number>;
  /** The process's CPU time (all threads, user + system, from /proc) per request (µs). */
  readonly cpuUsPerRequest: number;
}

/**
 * Where the HTTP check's time goes: a CPU profile (`node --cpu-prof`) of the ledger process serving
 * single checks under load, and one of the fastify reference server under the same load, summed as
 * self time per function and per area of the stack over the samples taken while the load ran, per
 * request served; beside each, the process's CPU time per request from /proc.
 */
export async function run(): Promise<FigureOutput> {
  const dir = scratchDir('http-profile');
  await fillDataDir(join(dir, 'data'), SUPPRESSED);
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });

  const profiled = async (
    name: string,
    start: (profileDir: string) => Promise<RunningLedger>,
  ): Promise<Profiled> => {
    const profileDir = join(dir, `${name}-profile`);
    const server = await start(profileDir);
    const pid = server.child.process.pid;
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const cpuBefore = cpuTimeMs(pid);
    let result: HttpLoadResult;
    let cpuMs: number;
    let toUs: number;
    try {
      result = await load({
        url: server.url,
        workload: 'check',
        connections: CONNECTIONS,
        duration: durationSeconds(6),
        // No warm-up: every request served while profiled is counted.
        warmup: 0,
        suppressed: SUPPRESSED,
      });
      toUs = Number(process.hrtime.bigint() / 1000n);
      cpuMs = cpuTimeMs(pid) - cpuBefore;
    } finally {
      // The profile is written when the process exits (SIGTERM → graceful close → exit 0).
      await server.stop();
    }
    const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`no .cpuprofile in ${profileDir}: did ${name} exit cleanly?`);
    const kept = join(resultsDir, `${name}.cpuprofile`);
    copyFileSync(join(profileDir, file), kept);
    // Only the samples taken while the load ran: no start-up, no shutdown.
    const summary = summariseProfile(kept, 20, { fromUs, toUs });
    const perRequestUs: Record<string, number> = {};
    for (const area of summary.byArea) perRequestUs[area.area] = round((area.ms * 1000) / result.requests, 2);
    perRequestUs.total = round((summary.byArea.reduce((n, a) => n + a.ms, 0) * 1000) / result.requests, 2);
    const cpuUsPerRequest = round((cpuMs * 1000) / result.requests, 1);
    progress(
      `${name}: ${round(result.requestsPerSecond)} checks/s while profiled; main thread busy ${perRequestUs.total} µs a request (sampled), process CPU ${cpuUsPerRequest} µs a request (/proc)`,
    );
    return {
      ...summary,
      file: `bench/results/${name}.cpuprofile`,
      requests: result.requests,
      load: result,
      perRequestUs,
      cpuUsPerRequest,
    };
  };

  const ours = await profiled('http-check-ledger', (profileDir) =>
    startLedger({ dataDir: join(dir, 'data'), nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profileDir] }),
  );
  const reference = await profiled('http-check-fastify', async (profileDir) => {
    const child = spawnNode('fastify reference (profiled)', [
      '--cpu-prof',
      '--cpu-prof-dir',
      profileDir,
      join(BENCH_DIST, 'reference-server.js'),
    ]);
    const match = await waitForOutput(child, /listening on (http:\/\/\S+)/, 30_000);
    return { url: match[1] ?? '', child, stop: () => child.stop(10_000) };
  });
  return {
    figures: [],
    extra: {
      profile: {
        what: `single checks at ${CONNECTIONS} connections, no warm-up, samples taken while the load ran. perRequestUs: sampled busy time of the main thread per request, by area (V8 samples wall-clock time: a thread waiting for a core inside a call is charged to that call). cpuUsPerRequest: the process's CPU time (all threads, /proc) per request.`,
        ledger: ours,
        fastify: reference,
      },
    },
  };
}
