import { randomUUID } from 'node:crypto';
import { projectionHistory, type ViewProgress } from '../audit/index.js';
import type { Config } from '../config/index.js';
import { Gate } from '../gate/index.js';
import { HttpGateway, Intake, type IntakeReads } from '../intake/index.js';
import type { E164 } from '../ledger/index.js';
import {
  reached,
  type EventLog,
  type LogPoint,
  type LogRecord,
  type PhoneHistorySource,
} from '../log/index.js';
import { MemoryView, ProjectorRunner, type ReviewItem } from '../projector/index.js';
import { createMetrics, type Metrics } from '../telemetry/index.js';
import { assembleSystems, Maintenance, startSystem, type SystemEntry } from '../views/index.js';

export interface Ledger {
  readonly config: Config;
  readonly log: EventLog;
  /** Per-phone records for audit: the log, or the configuration's postgres view; absent without one. */
  readonly history: PhoneHistorySource | undefined;
  readonly view: MemoryView;
  /** What intake reads to decide (a phone's facts, recorded ids, the review queue). */
  readonly reads: IntakeReads<ReviewItem>;
  readonly runners: readonly ProjectorRunner[];
  readonly gate: Gate;
  readonly intake: Intake;
  readonly metrics: Metrics;
  readonly views: readonly ViewProgress[];
  /** The sending systems' own views (configuration "views"), each with its runner and gate. */
  readonly systems: readonly SystemEntry[];
  /** Rebuild and reconcile of the system views. */
  readonly maintenance: Maintenance;
  /**
   * Starts the projectors: the views replay the log, then follow it. A process in one role runs only
   * what it serves: the central view (intake, gate) and/or the system views (projector).
   */
  start(parts?: { central?: boolean; systems?: boolean }): void;
  /** Resolves when every view has replayed the log it found at start. */
  ready(): Promise<void>;
  /**
   * Why intake cannot take opt-outs now (the log refuses appends: a full disk …), or undefined when it
   * can. Intake does not wait for any view, except where it reads the central view to decide replies.
   */
  intakeUnavailableReason(): Promise<string | undefined>;
  close(): Promise<void>;
}

export interface LedgerClock {
  readonly now?: () => number;
  readonly newId?: () => string;
  readonly onProjectorError?: (error: unknown, view: string) => void;
  /** Operational messages worth a log line (a confirmation the gateway never accepted …). */
  readonly onWarning?: (message: string, detail: object) => void;
}

/** Intake's reads, given the central view and its runner; `applied` sees each batch the view applies. */
export type ReadsFactory = (
  view: MemoryView,
  runner: ProjectorRunner,
) => IntakeReads<ReviewItem> & { applied?(records: readonly LogRecord[]): void };

export interface LedgerParts {
  readonly log: EventLog;
  /** Per-phone records from the log itself, where it can serve them (embedded); undefined on Kafka. */
  readonly history: PhoneHistorySource | undefined;
  /** The consumer group of this process's central view: unique per process on a shared log. */
  readonly viewGroup: string;
  /** What intake reads to decide: the embedded or the Kafka adapter (intake-reads.ts). */
  readonly reads: ReadsFactory;
  /** The partition a phone's records are in. */
  readonly partitionOf: (phone: E164) => number;
  readonly closeLog: () => Promise<void>;
}

/** Wires the roles around a log: the central view and its runner, the gate, intake and metrics. */
export function assembleLedger(config: Config, parts: LedgerParts, clock: LedgerClock = {}): Ledger {
  const now = clock.now ?? Date.now;
  const { log } = parts;
  const view = new MemoryView('memory');
  const runner = new ProjectorRunner(log, view, {
    now,
    group: parts.viewGroup,
    maxStalenessMs: config.maxStalenessMs,
    onError: (error, projection) => clock.onProjectorError?.(error, projection.name),
    onApplied: (_projection, records) => reads.applied?.(records),
  });
  const reads = parts.reads(view, runner);
  const systems = assembleSystems(config, log, {
    now,
    onError: (error, name) => clock.onProjectorError?.(error, name),
    onDeadLetter: (name, detail) => {
      metrics.deadLetter(name);
      clock.onWarning?.(`view ${name} could not deliver a change: written to its dead-letter file`, detail);
    },
    onReadError: (name, error) => {
      metrics.viewReadError(name);
      clock.onWarning?.(`view ${name} could not be read for a check: answered unknown`, {
        error: error instanceof Error ? error.message : String(error),
      });
    },
  });
  const lifecycle = new Lifecycle(runner, systems, clock);
  const metrics = createMetrics(() => lifecycle.running().map((r) => r.status()));
  const { intake, gateway } = createIntake(
    config,
    { log, reads, partitionOf: parts.partitionOf },
    metrics,
    clock,
  );
  return {
    config,
    log,
    history: parts.history ?? auditProjection(log, systems),
    view,
    reads,
    get runners() {
      return [runner, ...systems.map((s) => s.runner)];
    },
    gate: new Gate(view, runner, { maxStalenessMs: config.maxStalenessMs, readWaitMs: config.readWaitMs }),
    intake,
    metrics,
    views: [
      { name: view.name, ...progressOf(() => runner) },
      ...systems.map((s) => ({ name: s.view.name, ...progressOf(() => s.runner) })),
    ],
    systems,
    maintenance: new Maintenance(log, systems),
    start: (which) => lifecycle.start(which),
    ready: () => lifecycle.ready(),
    intakeUnavailableReason: async () => {
      const refused = await log.writable?.();
      if (refused !== undefined) return `the log does not accept appends: ${refused}`;
      return reads.unavailableReason();
    },
    close: async () => {
      // Confirmations in flight get a moment to finish, then their retries are abandoned.
      await Promise.race([intake.drain(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      gateway?.close();
      await intake.drain();
      await lifecycle.stop();
      await parts.closeLog();
    },
  };
}

/** Which log points a view has applied, and when: the audit report's per-view columns. */
function progressOf(runner: () => ProjectorRunner): Omit<ViewProgress, 'name'> {
  return {
    applied: (point: LogPoint) => reached(runner().cursor, [point]),
    appliedAt: (point: LogPoint) => runner().appliedAt(point),
  };
}

/** Intake, with the outbound gateway its confirmations go through when one is configured. */
function createIntake(
  config: Config,
  deps: Pick<ConstructorParameters<typeof Intake>[0], 'log' | 'reads' | 'partitionOf'>,
  metrics: Metrics,
  clock: LedgerClock,
): { intake: Intake; gateway: HttpGateway | undefined } {
  const gateway =
    config.outbound === undefined
      ? undefined
      : new HttpGateway({
          url: config.outbound.url,
          ...(config.outbound.token !== undefined && { token: config.outbound.token }),
        });
  const intake = new Intake({
    ...deps,
    directory: config.directory,
    defaultRegion: config.defaultRegion,
    now: clock.now ?? Date.now,
    newId: clock.newId ?? randomUUID,
    onRecorded: (event) => metrics.recorded(event),
    ...(gateway !== undefined && { gateway }),
    onConfirmation: (outcome, detail, event) => {
      metrics.confirmation(outcome);
      if (outcome === 'failed') {
        clock.onWarning?.('a confirmation text was not sent', {
          phone: event.phone,
          confirms: event.confirms,
          error: detail instanceof Error ? detail.message : `HTTP ${detail.status}`,
        });
      }
    },
  });
  return { intake, gateway };
}

/**
 * Per-number audit where the log cannot be read per phone (Kafka): the postgres view the
 * configuration declares, which keeps every event per phone. None declared: no per-number audit.
 */
function auditProjection(log: EventLog, systems: readonly SystemEntry[]): PhoneHistorySource | undefined {
  const entry = systems.find((s) => s.config.kind === 'postgres');
  const readPhone = entry?.view.readPhone?.bind(entry.view);
  if (entry === undefined || readPhone === undefined) return undefined;
  return projectionHistory(log, { name: entry.view.name, readPhone }, () => entry.runner);
}

/** Which runners run, started and stopped as the process's roles say. */
class Lifecycle {
  private centralStarted = false;
  private systemsStarted = false;
  private readonly stopping = new AbortController();

  constructor(
    private readonly central: ProjectorRunner,
    private readonly systems: readonly SystemEntry[],
    private readonly clock: LedgerClock,
  ) {}

  running(): ProjectorRunner[] {
    return [
      ...(this.centralStarted ? [this.central] : []),
      ...(this.systemsStarted ? this.systems.map((s) => s.runner) : []),
    ];
  }

  start({ central = true, systems = true }: { central?: boolean; systems?: boolean } = {}): void {
    if (central && !this.centralStarted) {
      this.centralStarted = true;
      this.central.start();
    }
    if (!systems || this.systemsStarted) return;
    this.systemsStarted = true;
    for (const system of this.systems) {
      void startSystem(system, this.stopping.signal, (error) =>
        this.clock.onProjectorError?.(error, system.view.name),
      );
    }
  }

  async ready(): Promise<void> {
    await Promise.all(this.running().map((r) => r.whenReady()));
  }

  /**
   * A view closes while its runner stops: a webhook sleeping out a backoff, or a store that hangs, must
   * not hold the shutdown (runner.stop() flags the stop before it waits).
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all([
      this.central.stop(),
      ...this.systems.map(async (s) => {
        const stopped = s.runner.stop();
        await s.view.close().catch(() => undefined);
        await stopped;
      }),
    ]);
  }
}
