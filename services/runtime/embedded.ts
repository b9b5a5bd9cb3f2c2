import { randomUUID } from 'node:crypto';
import type { ViewProgress } from '../audit/index.js';
import type { Config } from '../config/index.js';
import { Gate } from '../gate/index.js';
import { Intake } from '../intake/index.js';
import type { EventLog } from '../log/index.js';
import { EmbeddedEventLog } from '../log/index.js';
import { MemoryView, ProjectorRunner } from '../projector/index.js';
import { createMetrics, type Metrics } from '../telemetry/index.js';

export interface Ledger {
  readonly config: Config;
  readonly log: EventLog;
  readonly view: MemoryView;
  readonly runners: readonly ProjectorRunner[];
  readonly gate: Gate;
  readonly intake: Intake;
  readonly metrics: Metrics;
  readonly views: readonly ViewProgress[];
  /** Starts the projectors: the views replay the log, then follow it. */
  start(): void;
  /** Resolves when every view has replayed the log it found at start. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface LedgerClock {
  readonly now?: () => number;
  readonly newId?: () => string;
  readonly onProjectorError?: (error: unknown, view: string) => void;
}

/** Every role in one process on the embedded log: the default, zero-infrastructure mode. */
export function openEmbeddedLedger(config: Config, clock: LedgerClock = {}): Ledger {
  const now = clock.now ?? Date.now;
  const log = EmbeddedEventLog.open(config.dataDir);
  const view = new MemoryView('memory');
  const runner = new ProjectorRunner(log, view, {
    now,
    onError: (error, projection) => clock.onProjectorError?.(error, projection.name),
  });
  const runners = [runner];
  const metrics = createMetrics(() => runners.map((r) => r.status()));
  const intake = new Intake({
    log,
    directory: config.directory,
    defaultRegion: config.defaultRegion,
    now,
    newId: clock.newId ?? randomUUID,
    onRecorded: (event) => metrics.recorded(event),
  });
  const gate = new Gate(view, runner, {
    maxStalenessMs: config.maxStalenessMs,
    readWaitMs: config.readWaitMs,
  });
  return {
    config,
    log,
    view,
    runners,
    gate,
    intake,
    metrics,
    views: runners.map((r) => ({
      name: r.projection.name,
      position: () => r.status().position,
      appliedAt: (position) => r.appliedAt(position),
    })),
    start: () => {
      for (const r of runners) r.start();
    },
    ready: async () => {
      await Promise.all(runners.map((r) => r.whenReady()));
    },
    close: async () => {
      await Promise.all(runners.map((r) => r.stop()));
      await log.close();
    },
  };
}
