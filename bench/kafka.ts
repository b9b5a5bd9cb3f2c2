import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './processes.js';

/**
 * The benchmark's own single Kafka node, started and stopped with the infra/kafka scripts: its own
 * run directory and port base (KAFKA_RUN_DIR, KAFKA_PORT_BASE from bench/run.sh), so it never meets a
 * developer's broker (9092) or the tests' (9192).
 */
const SCRIPTS = join(ROOT, 'infra', 'kafka');

function kafkaEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KAFKA_NODES: '1',
    KAFKA_RUN_DIR: process.env.KAFKA_RUN_DIR ?? join(ROOT, '.tmp', 'kafka-bench'),
    KAFKA_PORT_BASE: process.env.KAFKA_PORT_BASE ?? '9292',
    KAFKA_READY_TIMEOUT: process.env.KAFKA_READY_TIMEOUT ?? '120',
  };
}

export function runScript(
  script: string,
  args: readonly string[],
  { timeoutMs, env = kafkaEnv() }: { timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      join(SCRIPTS, script),
      [...args],
      { env, timeout: timeoutMs, maxBuffer: 16 << 20, cwd: ROOT },
      (error, stdout, stderr) => {
        if (error !== null)
          reject(
            new Error(`${script} ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`.trim()),
          );
        else resolve({ stdout, stderr });
      },
    );
  });
}

/** Starts the node; resolves with its bootstrap servers. */
export async function kafkaUp(): Promise<string> {
  await runScript('kafka-up.sh', [], { timeoutMs: 180_000 });
  return readFileSync(join(kafkaEnv().KAFKA_RUN_DIR ?? '', 'bootstrap'), 'utf8').trim();
}

export async function kafkaDown(): Promise<void> {
  await runScript('kafka-down.sh', [], { timeoutMs: 60_000 });
}

/** Kafka's own CLI tools (kafka-tool.sh) against the benchmark's node. */
export function kafkaTool(
  args: readonly string[],
  timeoutMs: number,
  jvmOpts?: string,
): Promise<{ stdout: string; stderr: string }> {
  return runScript('kafka-tool.sh', args, {
    timeoutMs,
    env: { ...kafkaEnv(), ...(jvmOpts !== undefined && { KAFKA_TOOL_JVM_OPTS: jvmOpts }) },
  });
}
