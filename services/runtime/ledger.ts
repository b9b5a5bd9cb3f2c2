import { randomUUID } from 'node:crypto';
import type { ViewProgress } from '../audit/index.js';
import type { Config } from '../config/index.js';
import { Gate } from '../gate/index.js';
import { HttpGateway, Intake, type RecordedFact } from '../intake/index.js';
import { LedgerError, type E164, type PhoneHistory } from '../ledger/index.js';
import { reached, type EventLog, type LogPoint, type PhoneHistorySource } from '../log/index.js';
import { MemoryView, PostgresView, ProjectorRunner } from '../projector/index.js';
import { createMetrics, type Metrics } from '../telemetry/index.js';
import { Maintenance } from './maintenance.js';
import { assembleSystems, startSystem, type SystemEntry } from './systems.js';

export interface Ledger {
  readonly config: Config;
  readonly log: EventLog;
  /** Per-phone records from the log, for audit; absent where the log cannot serve them (Kafka). */
  readonly history: PhoneHistorySource | undefined;
  readonly view: MemoryView;
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

export interface LedgerParts {
  readonly log: EventLog;
  readonly history: PhoneHistorySource | undefined;
  /** The consumer group of this process's central view: unique per process on a shared log. */
  readonly viewGroup: string;
  /** A phone's consent facts, as the log holds them now: intake decides replies against them. */
  readonly historyOf: (phone: E164, view: MemoryView, runner: ProjectorRunner) => Promise<PhoneHistory>;
  /** For a log that cannot dedupe at append: find an event id among a phone's facts. */
  readonly findRecorded?: (
    phone: E164,
    eventId: string,
    view: MemoryView,
    runner: ProjectorRunner,
  ) => Promise<RecordedFact | undefined>;
  /** The partition a phone's records are in. */
  readonly partitionOf: (phone: E164) => number;
  readonly closeLog: () => Promise<void>;
  /** True where intake decides replies from the central view (Kafka): it must have replayed first. */
  readonly intakeReadsCentralView?: boolean;
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
  });
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
  let centralStarted = false;
  let systemsStarted = false;
  const running = (): ProjectorRunner[] => [
    ...(centralStarted ? [runner] : []),
    ...(systemsStarted ? systems.map((s) => s.runner) : []),
  ];
  const stopping = new AbortController();
  const metrics = createMetrics(() => running().map((r) => r.status()));
  const gateway =
    config.outbound === undefined
      ? undefined
      : new HttpGateway({
          url: config.outbound.url,
          ...(config.outbound.token !== undefined && { token: config.outbound.token }),
        });
  const intake = new Intake({
    log,
    historyOf: (phone) => parts.historyOf(phone, view, runner),
    ...(parts.findRecorded !== undefined && {
      findRecorded: (phone: E164, eventId: string) =>
        parts.findRecorded?.(phone, eventId, view, runner) ?? Promise.resolve(undefined),
    }),
    partitionOf: parts.partitionOf,
    directory: config.directory,
    defaultRegion: config.defaultRegion,
    now,
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
    suspectedOptOut: (eventId) => view.review(eventId),
  });
  const gate = new Gate(view, runner, {
    maxStalenessMs: config.maxStalenessMs,
    readWaitMs: config.readWaitMs,
  });
  return {
    config,
    log,
    history: parts.history ?? perPhoneProjection(log, systems),
    view,
    get runners() {
      return [runner, ...systems.map((s) => s.runner)];
    },
    gate,
    intake,
    metrics,
    views: [
      {
        name: view.name,
        applied: (point) => reached(runner.cursor, [point]),
        appliedAt: (point) => runner.appliedAt(point),
      },
      ...systems.map((s) => ({
        name: s.view.name,
        applied: (point: LogPoint) => reached(s.runner.cursor, [point]),
        appliedAt: (point: LogPoint) => s.runner.appliedAt(point),
      })),
    ],
    systems,
    maintenance: new Maintenance(log, systems),
    start: ({ central = true, systems: withSystems = true } = {}) => {
      if (central && !centralStarted) {
        centralStarted = true;
        runner.start();
      }
      if (!withSystems || systemsStarted) return;
      systemsStarted = true;
      for (const system of systems) {
        void startSystem(system, stopping.signal, (error) =>
          clock.onProjectorError?.(error, system.view.name),
        );
      }
    },
    ready: async () => {
      await Promise.all(running().map((r) => r.whenReady()));
    },
    intakeUnavailableReason: async () => {
      const refused = await log.writable?.();
      if (refused !== undefined) return `the log does not accept appends: ${refused}`;
      if (parts.intakeReadsCentralView === true && !runner.ready) {
        return 'the central view, which intake reads to decide replies, is still replaying the log';
      }
      return undefined;
    },
    close: async () => {
      // Confirmations in flight get a moment to finish, then their retries are abandoned.
      await Promise.race([intake.drain(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      gateway?.close();
      await intake.drain();
      stopping.abort();
      // A view closes while its runner stops: a webhook sleeping out a backoff, or a store that hangs,
      // must not hold the shutdown (runner.stop() flags the stop before it waits).
      await Promise.all([
        runner.stop(),
        ...systems.map(async (s) => {
          const stopped = s.runner.stop();
          await s.view.close().catch(() => undefined);
          await stopped;
        }),
      ]);
      await parts.closeLog();
    },
  };
}

/** How long an audit waits for the PostgreSQL projection to reach the log's head. */
const AUDIT_WAIT_MS = 5_000;

/**
 * Where the log cannot be read per phone (Kafka), a PostgreSQL view run by this process holds every
 * event per phone: audit reads it once the view has applied everything the log held when asked.
 */
function perPhoneProjection(log: EventLog, systems: readonly SystemEntry[]): PhoneHistorySource | undefined {
  const entry = systems.find((s) => s.view instanceof PostgresView);
  if (entry === undefined) return undefined;
  const view = entry.view as PostgresView;
  return {
    readPhone: async (phone) => {
      const head = await log.head();
      const points = head.map((position, partition) => ({ partition, position }));
      if (!(await entry.runner.waitFor(points, AUDIT_WAIT_MS))) {
        throw new LedgerError(
          'unavailable',
          `the per-phone projection (view ${view.name}) is behind the log; retry shortly`,
        );
      }
      return view.readPhone(phone);
    },
  };
}
