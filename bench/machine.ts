import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './processes.js';

export interface Machine {
  readonly cpus: number;
  readonly model: string;
  readonly memoryBytes: number;
  readonly freeMemoryBytesAtStart: number;
  readonly node: string;
  readonly kafka: string | null;
  readonly gitCommit: string | null;
  /** Files changed against the commit when the run started (the figures are of that working tree). */
  readonly gitDirtyFiles: number | null;
  readonly loadAverageAtStart: readonly number[];
}

function git(args: readonly string[]): string | null {
  try {
    return execFileSync('git', [...args], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

export function machine(): Machine {
  const cores = cpus();
  let kafka: string | null = null;
  try {
    kafka = readFileSync(join(ROOT, 'infra', 'kafka', '.lib', 'version'), 'utf8').trim();
  } catch {
    kafka = null;
  }
  const status = git(['status', '--porcelain']);
  return {
    cpus: cores.length,
    model: cores[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
    freeMemoryBytesAtStart: freemem(),
    node: process.version,
    kafka,
    gitCommit: git(['rev-parse', 'HEAD']),
    gitDirtyFiles: status === null ? null : status.split('\n').filter((l) => l.trim() !== '').length,
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
