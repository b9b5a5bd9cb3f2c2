import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LedgerEvent } from '../ledger/index.js';
import type { ProjectorStatus } from '../projector/index.js';

/** Check latency lives in microseconds: buckets from 1 µs to 50 ms. */
const CHECK_BUCKETS = [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2];

export interface Metrics {
  readonly registry: Registry;
  recorded(event: LedgerEvent): void;
  /** Seconds spent answering one check (or one batch item) inside the process. */
  observeCheck(kind: 'single' | 'batch', seconds: number, count?: number): void;
  /** A confirmation sent through the outbound gateway, or given up on. */
  confirmation(outcome: 'sent' | 'failed'): void;
  /** A change a webhook view could not deliver and wrote to its dead-letter file. */
  deadLetter(view: string): void;
  /** A check through a system view whose store could not be read (answered unknown). */
  viewReadError(view: string): void;
}

export function createMetrics(views: () => readonly ProjectorStatus[]): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ledger_process_' });
  const recorded = new Counter({
    name: 'ledger_events_recorded_total',
    help: 'Events appended to the log by this process, by source and type',
    labelNames: ['source', 'type'] as const,
    registers: [registry],
  });
  const checks = new Histogram({
    name: 'ledger_check_duration_seconds',
    help: 'Time to answer a suppression check inside the process (batch: per phone)',
    labelNames: ['kind'] as const,
    buckets: CHECK_BUCKETS,
    registers: [registry],
  });
  registerViewGauges(registry, views);
  const confirmations = new Counter({
    name: 'ledger_confirmations_total',
    help: 'Confirmation texts through the outbound gateway, by outcome (failed: not accepted before the deadline)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const deadLetters = new Counter({
    name: 'ledger_view_dead_letters_total',
    help: 'Changes a webhook view gave up delivering and wrote to its dead-letter file',
    labelNames: ['view'] as const,
    registers: [registry],
  });
  const readErrors = new Counter({
    name: 'ledger_view_read_errors_total',
    help: 'Checks through a system view whose store could not be read (each answered unknown)',
    labelNames: ['view'] as const,
    registers: [registry],
  });
  const single = checks.labels('single');
  const batch = checks.labels('batch');
  return {
    registry,
    recorded: (event) => recorded.inc({ source: event.source, type: event.type }),
    // A batch is observed once, as its time per phone: one sample per request keeps the hot path cheap.
    observeCheck: (kind, seconds, count = 1) =>
      (kind === 'single' ? single : batch).observe(seconds / Math.max(count, 1)),
    confirmation: (outcome) => confirmations.inc({ outcome }),
    deadLetter: (view) => deadLetters.inc({ view }),
    viewReadError: (view) => readErrors.inc({ view }),
  };
}

/** The gauges read from the projector runners' statuses at each scrape: progress, lag, health, dead letters. */
function registerViewGauges(registry: Registry, views: () => readonly ProjectorStatus[]): void {
  const gauge = (name: string, help: string, value: (s: ProjectorStatus) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['view', 'kind'] as const,
      registers: [registry],
      collect() {
        for (const status of views()) this.set({ view: status.name, kind: status.kind }, value(status));
      },
    });
  };
  gauge('ledger_view_applied_total', 'Records the view has applied, summed over partitions', (s) =>
    s.position.reduce((sum: number, p) => sum + p, 0),
  );
  new Gauge({
    name: 'ledger_view_position',
    help: 'The last log position the view has applied, per partition (compare with the token a write returned)',
    labelNames: ['view', 'kind', 'partition'] as const,
    registers: [registry],
    collect() {
      // Reset first: a partition or view that is no longer reported must not linger at its old value.
      this.reset();
      for (const status of views()) {
        status.position.forEach((position, partition) =>
          this.set({ view: status.name, kind: status.kind, partition: String(partition) }, position),
        );
      }
    },
  });
  gauge('ledger_view_lag_events', 'Events on the log the view has not applied yet', (s) => s.lagEvents);
  gauge('ledger_view_lag_seconds', 'How long the view has been behind the log', (s) => s.lagMs / 1000);
  gauge('ledger_view_healthy', '1 when the view applies the log without errors', (s) => (s.healthy ? 1 : 0));
  gauge('ledger_view_ready', '1 once the initial replay is done', (s) => (s.ready ? 1 : 0));
  new Gauge({
    name: 'ledger_view_dead_letters_pending',
    help: 'Changes a webhook view owes its receiver (dead letters not replayed yet); checks for their phones answer unknown',
    labelNames: ['view', 'kind'] as const,
    registers: [registry],
    collect() {
      for (const status of views()) {
        if (status.deadLetters !== undefined) {
          this.set({ view: status.name, kind: status.kind }, status.deadLetters);
        }
      }
    },
  });
}
