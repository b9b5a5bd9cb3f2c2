import type { Config, ViewConfig } from '../config/index.js';
import { SystemGate, type GateOptions } from '../gate/index.js';
import type { EventLog } from '../log/index.js';
import {
  PostgresView,
  ProjectorRunner,
  RedisView,
  WebhookView,
  type SystemView,
} from '../projector/index.js';
import { NotTransient, retry, RetryAborted } from '../retry/index.js';

/**
 * One sending system's view: its store, the runner that feeds it, and the gate that reads it. A rebuild
 * replaces the runner (a stopped runner does not start again).
 */
export class SystemEntry {
  readonly gate: SystemGate;

  constructor(
    readonly config: ViewConfig,
    readonly view: SystemView,
    private current: ProjectorRunner,
    private readonly makeRunner: (projection: SystemView, group?: string) => ProjectorRunner,
    gateOptions: GateOptions,
  ) {
    this.gate = new SystemGate(view, current, gateOptions);
  }

  get runner(): ProjectorRunner {
    return this.current;
  }

  /** A runner for this view's settings, feeding `projection` (this view, or its staging copy). */
  newRunner(projection: SystemView = this.view, group?: string): ProjectorRunner {
    return this.makeRunner(projection, group);
  }

  /** Feeds the view from `runner` from now on, and lets the gate serve from it. */
  replaceRunner(runner: ProjectorRunner): void {
    this.current = runner;
    this.gate.resume(runner);
  }
}

export interface SystemHooks {
  readonly now?: () => number;
  readonly onError?: (error: unknown, view: string) => void;
  readonly onDeadLetter?: (view: string, detail: object) => void;
  /** A webhook POST failed and will be retried: the view is unhealthy until the change is delivered. */
  readonly onAttemptFailed?: (view: string, error: unknown) => void;
  /** A check through the view could not read its store (that phone answered unknown). */
  readonly onReadError?: (view: string, error: unknown) => void;
}

/** The store a view configuration names. */
export function createSystemView(config: ViewConfig, dataDir: string, hooks: SystemHooks = {}): SystemView {
  switch (config.kind) {
    case 'redis':
      return new RedisView({
        name: config.name,
        url: config.url,
        ...(config.prefix !== undefined && { prefix: config.prefix }),
      });
    case 'postgres':
      return new PostgresView({
        name: config.name,
        connectionString: config.connectionString,
        ...(config.table !== undefined && { table: config.table }),
        ...(config.schema !== undefined && { schema: config.schema }),
      });
    case 'webhook':
      return new WebhookView({
        name: config.name,
        url: config.url,
        dataDir,
        ...(config.headers !== undefined && { headers: config.headers }),
        ...(config.maxAttempts !== undefined && { maxAttempts: config.maxAttempts }),
        onDeadLetter: (entry) => hooks.onDeadLetter?.(config.name, entry),
        onAttemptFailed: (error) => hooks.onAttemptFailed?.(config.name, error),
      });
    default: {
      const never: never = config;
      throw new Error(`unknown view kind ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Every configured system view with its runner. On Kafka each is its own consumer group
 * (`ledger-view-<name>`): processes running the same view share its partitions.
 */
export function assembleSystems(config: Config, log: EventLog, hooks: SystemHooks = {}): SystemEntry[] {
  return config.views.map((viewConfig) => {
    // A CRM that refuses or cannot be reached is shown at once (healthy false, lastError), not only
    // once the wait outgrows the staleness bound: its checks answer unknown meanwhile.
    const view = createSystemView(viewConfig, config.dataDir, {
      ...hooks,
      onAttemptFailed: (name, error) => {
        entry.runner.reportFailure(error);
        hooks.onAttemptFailed?.(name, error);
      },
    });
    const makeRunner = (projection: SystemView, group = `ledger-view-${viewConfig.name}`) =>
      new ProjectorRunner(log, projection, {
        group,
        maxStalenessMs: viewConfig.maxStalenessMs ?? config.maxStalenessMs,
        ...(hooks.now !== undefined && { now: hooks.now }),
        onError: (error) => hooks.onError?.(error, viewConfig.name),
      });
    const entry = new SystemEntry(viewConfig, view, makeRunner(view), makeRunner, {
      maxStalenessMs: viewConfig.maxStalenessMs ?? config.maxStalenessMs,
      readWaitMs: config.readWaitMs,
      onReadError: (error) => hooks.onReadError?.(viewConfig.name, error),
    });
    return entry;
  });
}

/** Opening a view's store: from 200 ms, doubling, at most 10 s apart. */
const OPEN_RETRY = { initialMs: 200, maxMs: 10_000 };

/**
 * Opens the view's store, retrying with backoff while it is unreachable, then starts its runner.
 * Meanwhile the view reports itself unhealthy with what went wrong (`lastError`: "cannot connect to
 * Redis …: connect ECONNREFUSED …"), not merely "replaying", and checks against it fail closed. A
 * failure retrying will not cure (invalid settings, a checkpoint of another view) is retried all the
 * same, every 10 s, so the view starts once an operator fixes it; it is reported as such meanwhile.
 */
export async function startSystem(
  entry: SystemEntry,
  signal: AbortSignal,
  onError: (error: unknown) => void,
): Promise<void> {
  if (signal.aborted) return;
  try {
    await retry(() => entry.view.open(), {
      ...OPEN_RETRY,
      signal,
      persist: true,
      // The wait does not hold a process that is exiting; a stop (the signal) ends it at once.
      unref: true,
      onError: (error, { retriable }) => {
        const reported = retriable
          ? error
          : new NotTransient(`opening view ${entry.view.name}`, error, OPEN_RETRY.maxMs);
        entry.runner.reportFailure(reported);
        onError(reported);
      },
    });
  } catch (error) {
    if (error instanceof RetryAborted) return;
    throw error;
  }
  if (signal.aborted) return;
  entry.runner.start();
}
