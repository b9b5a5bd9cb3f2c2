import type fc from 'fast-check';

/**
 * How many sequences a property tries, and from which seed. `make test` runs each suite's bounded
 * default; LEDGER_PROPERTY_RUNS=N multiplies it (`make test-deep` sets 10). LEDGER_PROPERTY_SEED (and LEDGER_PROPERTY_PATH,
 * both printed by a failure) replays one run exactly.
 */
export function propertyParameters<T>(
  defaultRuns: number,
  env: NodeJS.ProcessEnv = process.env,
): fc.Parameters<T> & { seed: number; numRuns: number } {
  const scale = Number(env.LEDGER_PROPERTY_RUNS ?? '0');
  const numRuns = Number.isInteger(scale) && scale > 0 ? defaultRuns * scale : defaultRuns;
  const seed =
    env.LEDGER_PROPERTY_SEED === undefined
      ? Math.floor(Math.random() * 2 ** 31)
      : Number(env.LEDGER_PROPERTY_SEED);
  return {
    numRuns,
    seed,
    ...(env.LEDGER_PROPERTY_PATH !== undefined && { path: env.LEDGER_PROPERTY_PATH }),
  };
}

/** What a suite tried, for the one line it prints at the end (it survives jest's output). */
export class Tally {
  sequences = 0;
  steps = 0;
  requests = 0;
  checks = 0;
  readonly faults = new Map<string, number>();
  violations = 0;
  /**
   * Runs the harness could not carry out (a broker that would not restart in time on a loaded machine,
   * a process that did not start): failures all the same, but not answers that broke the invariant.
   */
  broken = 0;

  constructor(
    private readonly suite: string,
    private readonly seed: number,
  ) {}

  /** Counts a failed run as a violation of the invariant (its report) or as a broken run. */
  failed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (/violation\(s\) of the invariant/.test(message)) this.violations += 1;
    else this.broken += 1;
  }

  fault(kind: string): void {
    this.faults.set(kind, (this.faults.get(kind) ?? 0) + 1);
  }

  line(): string {
    const faults = [...this.faults].map(([kind, n]) => `${kind} ${n}`).join(', ');
    const total = [...this.faults.values()].reduce((a, b) => a + b, 0);
    return `property ${this.suite}: ${this.sequences} sequences, ${this.steps} steps, ${this.requests} requests, ${this.checks} checks, ${total} faults${faults === '' ? '' : ` (${faults})`}, ${this.violations} runs with violations, ${this.broken} runs the harness could not finish; seed ${this.seed} (replay: LEDGER_PROPERTY_SEED=${this.seed})\n`;
  }

  print(): void {
    process.stderr.write(`\n${this.line()}`);
  }
}
