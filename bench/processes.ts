import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sleep } from './measure.js';

/** The repository: bench/run.sh sets it; compiled files live two levels below it (dist/bench). */
export const ROOT = process.env.BENCH_ROOT ?? resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'services', 'cli', 'main.js');
export const BENCH_DIST = join(ROOT, 'dist', 'bench');
/** Scratch space of this run (data directories, configs); under .tmp, which git ignores. */
export const SCRATCH = process.env.BENCH_SCRATCH ?? join(ROOT, '.tmp', 'bench');

export function scratchDir(name: string): string {
  const dir = join(SCRATCH, `${name}-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A short random tag for names other processes must not share (topics, tables, key prefixes). */
export function uniqueTag(): string {
  return Math.random().toString(36).slice(2, 10).padEnd(8, '0');
}

export interface Child {
  readonly process: ChildProcess;
  readonly name: string;
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const children = new Set<Child>();

/** Every child still running is stopped when this process exits, whatever the reason. */
function stopAllNow(): void {
  for (const child of children) {
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  }
}
process.once('exit', stopAllNow);

/** The environment a child gets: only what it needs, so no stray LEDGER_* setting leaks into a ledger. */
export function baseEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const keep = ['PATH', 'HOME', 'JAVA_HOME', 'BENCH_ROOT', 'BENCH_SCRATCH', 'BENCH_DURATION', 'BENCH_QUICK'];
  const env: Record<string, string> = {};
  for (const key of keep) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, ...extra };
}

export function spawnNode(
  name: string,
  args: readonly string[],
  { env = baseEnv(), cwd = ROOT }: { env?: Record<string, string>; cwd?: string } = {},
): Child {
  return spawnTracked(name, process.execPath, args, { env, cwd });
}

export function spawnTracked(
  name: string,
  command: string,
  args: readonly string[],
  { env = baseEnv(), cwd = ROOT }: { env?: Record<string, string>; cwd?: string } = {},
): Child {
  const proc = spawn(command, [...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output += chunk.toString();
    // Only the tail matters for error messages; a chatty child must not grow this without bound.
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolveExit) => {
    proc.once('exit', (code) => resolveExit(code));
    proc.once('error', (error) => {
      output += `\n${String(error)}`;
      resolveExit(-1);
    });
  });
  const child: Child = {
    process: proc,
    name,
    output: () => output,
    exited,
    stop: async (graceMs = 5000) => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      children.delete(child);
    },
  };
  children.add(child);
  void exited.then(() => children.delete(child));
  return child;
}

/** Resolves with the first match of `pattern` in the child's output; rejects if it exits first. */
export async function waitForOutput(
  child: Child,
  pattern: RegExp,
  timeoutMs: number,
): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  let exitedWith: number | null | undefined;
  void child.exited.then((code) => (exitedWith = code));
  for (;;) {
    const match = pattern.exec(child.output());
    if (match !== null) return match;
    if (exitedWith !== undefined) {
      throw new Error(
        `${child.name} exited (${exitedWith}) before printing ${pattern}:\n${tail(child.output())}`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${child.name} did not print ${pattern} within ${timeoutMs} ms:\n${tail(child.output())}`,
      );
    }
    await sleep(20);
  }
}

export function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export interface RunningLedger {
  readonly url: string;
  readonly child: Child;
  stop(): Promise<void>;
}

/**
 * `node dist/services/cli/main.js start` as its own process on a free port; resolves once it listens
 * and /readyz answers 200 (every view replayed).
 */
export async function startLedger({
  dataDir,
  env = {},
  nodeArgs = [],
  readyTimeoutMs = 90_000,
  name = 'ledger',
}: {
  dataDir: string;
  env?: Readonly<Record<string, string>>;
  nodeArgs?: readonly string[];
  readyTimeoutMs?: number;
  name?: string;
}): Promise<RunningLedger> {
  const child = spawnNode(name, [...nodeArgs, CLI, 'start'], {
    env: baseEnv({ PORT: '0', LEDGER_DATA_DIR: dataDir, LEDGER_LOG_LEVEL: 'warn', ...env }),
  });
  try {
    const match = await waitForOutput(child, /listening on (http:\/\/\S+)/, 60_000);
    const url = match[1] ?? '';
    await waitReady(`${url}/readyz`, readyTimeoutMs, child);
    return { url, child, stop: () => child.stop(15_000) };
  } catch (error) {
    await child.stop(1000);
    throw error;
  }
}

async function waitReady(url: string, timeoutMs: number, child: Child): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited:\n${tail(child.output())}`);
    try {
      const response = await fetch(url);
      last = `${response.status} ${await response.text()}`;
      if (response.ok) return;
    } catch (error) {
      last = String(error);
    }
    await sleep(100);
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms (last answer: ${last})\n${tail(child.output())}`);
}

/** The fastify reference server (bench/reference-server.ts) as its own process. */
export async function startReference(): Promise<RunningLedger> {
  const child = spawnNode('fastify reference', [join(BENCH_DIST, 'reference-server.js')]);
  const match = await waitForOutput(child, /listening on (http:\/\/\S+)/, 30_000);
  return { url: match[1] ?? '', child, stop: () => child.stop(5000) };
}

/**
 * Runs a bench script as its own process with a JSON spec as its argument; resolves with the JSON it
 * prints on its last line of stdout.
 */
export async function runJsonChild<T>(
  name: string,
  script: string,
  spec: unknown,
  {
    timeoutMs = 120_000,
    nodeArgs = [],
    env,
  }: { timeoutMs?: number; nodeArgs?: readonly string[]; env?: Record<string, string> } = {},
): Promise<T> {
  const child = spawnNode(name, [...nodeArgs, join(BENCH_DIST, script), JSON.stringify(spec)], {
    ...(env !== undefined && { env }),
  });
  let stdout = '';
  child.process.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const timer = setTimeout(() => void child.stop(1000), timeoutMs);
  const code = await child.exited;
  clearTimeout(timer);
  const last = stdout.trimEnd().split('\n').pop() ?? '';
  if (code !== 0) throw new Error(`${name} exited with ${code}:\n${tail(child.output())}`);
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`${name} printed no JSON result:\n${tail(child.output())}`);
  }
}

/** POSTs JSON and returns the parsed answer; a non-2xx status throws with the body. */
export async function postJson<T>(url: string, body: unknown): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${url} → ${response.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

let ticksPerSecond: number | undefined;

/** CPU time (user + system, every thread) a process has used so far, in ms, from /proc; NaN if unknown. */
export function cpuTimeMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return NaN;
  }
}
