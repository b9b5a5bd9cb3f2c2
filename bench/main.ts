import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { kafkaDown, kafkaUp } from './kafka.js';
import { machine } from './machine.js';
import { BENCH_DIST, ROOT, SCRATCH, tail } from './processes.js';
import { failed, renderTable, type Figure, type FigureOutput } from './results.js';

/**
 * `make bench`: every benchmark in a process of its own (and its load generators in theirs), one
 * after another, on a quiet machine as far as we can make it. A benchmark that fails or overruns is
 * recorded with its error and the next one runs. Kafka is started only for the figures that need it
 * and always stopped.
 */
interface Step {
  readonly name: string;
  readonly timeoutS: number;
  readonly nodeArgs?: readonly string[];
  readonly kafka?: boolean;
  /** Ids and names of the figures this step promises, reported as failed if the step dies. */
  readonly promises: readonly { id: string; name: string; unit: string; target?: string }[];
}

const STEPS: readonly Step[] = [
  {
    name: 'http',
    timeoutS: 300,
    promises: [
      {
        id: 'http-check',
        name: 'single check over HTTP',
        unit: 'checks/s',
        target: '≥ 25,000 checks/s, p99 ≤ 5 ms, ≥ 0.8× fastify',
      },
      { id: 'batch-check', name: 'batch check', unit: 'phones/s', target: '≥ 1,000,000 phones/s' },
    ],
  },
  { name: 'http-profile', timeoutS: 90, promises: [] },
  {
    name: 'in-process',
    timeoutS: 330,
    nodeArgs: ['--expose-gc', '--max-old-space-size=14336'],
    promises: [
      { id: 'in-process-check', name: 'in-process check', unit: 'checks/s', target: '≥ 5,000,000 checks/s' },
      {
        id: 'view-memory',
        name: 'memory of the central view',
        unit: 'bytes/number',
        target: '≤ 50 bytes per suppressed number at 10M; must hold 250M',
      },
    ],
  },
  {
    name: 'classifier',
    timeoutS: 60,
    promises: [{ id: 'classifier', name: 'classifier', unit: 'replies/s' }],
  },
  {
    name: 'rebuild',
    timeoutS: 330,
    nodeArgs: ['--expose-gc', '--max-old-space-size=6144'],
    promises: [
      { id: 'rebuild', name: 'rebuild a view by replay', unit: 'events/s', target: '≥ 100,000 events/s' },
    ],
  },
  {
    name: 'stop-embedded',
    timeoutS: 150,
    promises: [
      {
        id: 'stop-embedded',
        name: 'STOP accepted → applied in every view, embedded',
        unit: 'ms p99',
        target: 'p99 ≤ 50 ms',
      },
    ],
  },
  {
    name: 'ingest-embedded',
    timeoutS: 120,
    promises: [{ id: 'ingest-http-embedded', name: 'ingest POST /v1/events, embedded', unit: 'events/s' }],
  },
  {
    name: 'stop-kafka',
    timeoutS: 180,
    kafka: true,
    promises: [
      {
        id: 'stop-kafka',
        name: 'STOP accepted → applied in every view, Kafka',
        unit: 'ms p99',
        target: 'p99 ≤ 250 ms',
      },
    ],
  },
  {
    name: 'ingest-kafka',
    timeoutS: 240,
    kafka: true,
    promises: [
      {
        id: 'ingest-http-kafka',
        name: 'ingest POST /v1/events into Kafka (acks=all)',
        unit: 'events/s',
        target: '≥ 10,000 events/s',
      },
      {
        id: 'ingest-producer-kafka',
        name: 'ingest through the producer library into Kafka',
        unit: 'events/s',
        target: '≥ 50,000 events/s',
      },
    ],
  },
];

/** The whole run must stay under 15 minutes; steps that would start after this are skipped. */
const BUDGET_S = Number(process.env.BENCH_BUDGET_S ?? 13 * 60);
const PIDS_FILE = join(SCRATCH, 'figure-pids');

const say = (line: string): void => void process.stdout.write(`${line}\n`);

let current: ChildProcess | undefined;
let kafkaStarted = false;

/** Kills the running figure's whole process group (the figure, its ledger, its load generators). */
function killCurrent(): void {
  const pid = current?.pid;
  if (pid !== undefined && current?.exitCode === null) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function onSignal(signal: NodeJS.Signals): Promise<void> {
  say(`\nbench: ${signal}: stopping the running benchmark${kafkaStarted ? ' and Kafka' : ''}`);
  killCurrent();
  if (kafkaStarted) await kafkaDown().catch(() => undefined);
  process.exit(130);
}
process.once('SIGINT', (s) => void onSignal(s));
process.once('SIGTERM', (s) => void onSignal(s));
process.once('exit', killCurrent);

function runStep(step: Step, env: Record<string, string>): Promise<FigureOutput> {
  const resultFile = join(SCRATCH, `${step.name}.result.json`);
  rmSync(resultFile, { force: true });
  return new Promise((resolve, reject) => {
    // Its own process group, so that a step that overruns goes with everything it started.
    const child = spawn(
      process.execPath,
      [...(step.nodeArgs ?? []), join(BENCH_DIST, 'figure.js'), step.name, resultFile],
      {
        cwd: ROOT,
        env: { ...process.env, ...env },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    current = child;
    if (child.pid !== undefined) appendFileSync(PIDS_FILE, `${child.pid}\n`);
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-50_000);
    };
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      keep(chunk);
      // Progress lines of the figure process are shown as they come.
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('· ')) say(`bench:   ${line.slice(2)}`);
    });
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      output += `\n(killed after ${step.timeoutS} s)`;
      killCurrent();
    }, step.timeoutS * 1000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      current = undefined;
      // Whatever it started and left behind goes too.
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is empty
      }
      try {
        resolve(JSON.parse(readFileSync(resultFile, 'utf8')) as FigureOutput);
      } catch {
        reject(new Error(`exited with ${code ?? signal}: ${tail(output, 40)}`));
      }
    });
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const only = process.env.BENCH_ONLY?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  mkdirSync(SCRATCH, { recursive: true });
  writeFileSync(PIDS_FILE, '');
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const info = machine();
  say(
    `bench: ${info.cpus} × ${info.model}, ${Math.round(info.memoryBytes / 2 ** 30)} GiB, node ${info.node}, Kafka ${info.kafka ?? '?'}, commit ${info.gitCommit?.slice(0, 12) ?? '?'}${info.gitDirtyFiles ? ` (+${info.gitDirtyFiles} changed files)` : ''}, load average ${info.loadAverageAtStart.join(' ')}`,
  );
  const figures: Figure[] = [];
  const steps: Record<string, unknown>[] = [];
  const extra: Record<string, unknown> = {};
  let brokers: string | undefined;
  let kafkaError: string | undefined;
  for (const step of STEPS) {
    if (only !== undefined && !only.includes(step.name)) continue;
    const elapsed = (Date.now() - started) / 1000;
    const fail = (error: string): void => {
      for (const p of step.promises) figures.push(failed(p.id, p.name, p.unit, error, p.target));
      steps.push({ step: step.name, error, seconds: 0 });
      say(`bench: ${step.name}: ${error.split('\n')[0] ?? error}`);
    };
    if (elapsed + Math.min(step.timeoutS, 120) > BUDGET_S) {
      fail(`skipped: ${Math.round(elapsed)} s of the ${BUDGET_S} s budget used`);
      continue;
    }
    const env: Record<string, string> = {};
    if (step.kafka === true) {
      if (brokers === undefined && kafkaError === undefined) {
        say('bench: starting a single Kafka node for the Kafka figures...');
        const t = Date.now();
        try {
          kafkaStarted = true;
          brokers = await kafkaUp();
          say(`bench: Kafka up at ${brokers} in ${Math.round((Date.now() - t) / 1000)} s`);
        } catch (error) {
          kafkaError = `Kafka did not start: ${String(error)}`;
        }
      }
      if (brokers === undefined) {
        fail(kafkaError ?? 'Kafka did not start');
        continue;
      }
      env.BENCH_KAFKA_BROKERS = brokers;
    }
    say(`bench: [${Math.round((Date.now() - started) / 1000)} s] ${step.name}...`);
    const t = Date.now();
    const loadAverageBefore = loadavg().map((l) => Math.round(l * 100) / 100);
    try {
      const output = await runStep(step, env);
      figures.push(...output.figures);
      if (output.extra !== undefined) Object.assign(extra, output.extra);
      const seconds = Math.round((Date.now() - t) / 100) / 10;
      steps.push({ step: step.name, seconds, loadAverageBefore });
      for (const f of output.figures)
        if (f.error !== undefined) say(`bench:   ${f.id} failed: ${f.error.split('\n')[0] ?? ''}`);
      say(`bench: ${step.name} done in ${seconds} s`);
    } catch (error) {
      fail(String(error instanceof Error ? error.message : error));
    }
  }
  if (kafkaStarted) {
    say('bench: stopping Kafka...');
    await kafkaDown().catch((error: unknown) => say(`bench: stopping Kafka failed: ${String(error)}`));
    kafkaStarted = false;
  }
  const finished = Date.now();
  const report = {
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationSeconds: Math.round((finished - started) / 1000),
    machine: { ...info, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
    settings: {
      secondsPerMeasuredRun:
        process.env.BENCH_DURATION ??
        (process.env.BENCH_QUICK === '1'
          ? '2 (quick)'
          : 'per figure: 6 (HTTP checks, 2 alternating rounds of 3 s a side), 4 (batch), 8 (ingest)'),
      only: only ?? 'all',
      kafkaBrokers: brokers ?? null,
    },
    figures,
    steps,
    ...extra,
  };
  const file = join(resultsDir, only === undefined ? 'latest.json' : 'partial.json');
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  say('');
  say(renderTable(figures));
  say('');
  const profile = extra.profile as
    | {
        ledger?: {
          top: { function: string; where: string; percent: number }[];
          perRequestUs: Record<string, number>;
          cpuUsPerRequest: number;
        };
        fastify?: { perRequestUs: Record<string, number>; cpuUsPerRequest: number };
      }
    | undefined;
  if (profile?.ledger !== undefined) {
    const ours = profile.ledger.perRequestUs;
    const ref = profile.fastify?.perRequestUs ?? {};
    say(
      `HTTP check at 50 connections: process CPU per request (/proc) ledger ${profile.ledger.cpuUsPerRequest} µs vs fastify ${profile.fastify?.cpuUsPerRequest ?? '?'} µs; main-thread time per request by area (sampled, µs): ledger ${ours.total ?? '?'} vs fastify ${ref.total ?? '?'}`,
    );
    for (const [area, us] of Object.entries(ours)) {
      if (area !== 'total')
        say(`  ${String(us).padStart(7)}  (fastify ${String(ref[area] ?? 0).padStart(6)})  ${area}`);
    }
    say('HTTP check, top self time in the ledger process (share of busy time):');
    for (const f of profile.ledger.top.slice(0, 12))
      say(`  ${f.percent.toFixed(1).padStart(5)}%  ${f.function}  ${f.where}`);
    say('');
  }
  const missed = figures.filter((f) => f.target?.met === false).length;
  const errors = figures.filter((f) => f.error !== undefined).length;
  say(
    `bench: ${figures.length} figures, ${missed} targets missed, ${errors} failed; ${report.durationSeconds} s; written to ${file.replace(`${ROOT}/`, '')}`,
  );
}

await main();
