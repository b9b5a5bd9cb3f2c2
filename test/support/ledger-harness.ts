import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../services/api/index.js';
import { loadConfig } from '../../services/config/index.js';
import { openEmbeddedLedger, type Ledger } from '../../services/runtime/index.js';

export function tempDir(prefix = 'ledger-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface InProcessLedger {
  readonly app: FastifyInstance;
  readonly ledger: Ledger;
  close(): Promise<void>;
}

/** The whole ledger in this process, served through app.inject(): no port needed. */
export async function openInProcess(
  dataDir: string,
  env: Record<string, string> = {},
  { start = true }: { start?: boolean } = {},
): Promise<InProcessLedger> {
  const config = loadConfig({ LEDGER_DATA_DIR: dataDir, LEDGER_LOG_LEVEL: 'silent', ...env });
  const ledger = openEmbeddedLedger(config);
  const app = await buildApp(ledger);
  if (start) ledger.start();
  return {
    app,
    ledger,
    close: async () => {
      await app.close();
      await ledger.close();
    },
  };
}

const CLI = resolve(__dirname, '../../dist/services/cli/main.js');

export interface ChildLedger {
  readonly url: string;
  readonly process: ChildProcessWithoutNullStreams;
  output(): string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** `ledger start` as a real process on a free port, resolved once it prints where it listens. */
export async function startChild(
  dataDir: string,
  env: Record<string, string> = {},
  args: readonly string[] = [],
  { startTimeoutMs = 15_000 }: { startTimeoutMs?: number } = {},
): Promise<ChildLedger> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "make build" before the end-to-end tests`);
  const child = spawn(process.execPath, [CLI, 'start', ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      LEDGER_DATA_DIR: dataDir,
      LEDGER_LOG_LEVEL: 'warn',
      ...env,
    },
  });
  let output = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    // A child that did not start is killed, not left running (and holding jest open) after the test.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ledger did not start within ${startTimeoutMs / 1000} s:\n${output}`));
    }, startTimeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ledger exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    process: child,
    output: () => output,
    kill: (signal) =>
      new Promise((resolveKill) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolveKill();
        child.once('exit', () => resolveKill());
        child.kill(signal);
      }),
  };
}

/** Runs the CLI to completion: exit code and stdout. */
export function runCli(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolveRun({ code: code ?? -1, stdout, stderr }));
  });
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
