import { describe, type E164, type EffectiveState, type Status } from '../ledger/index.js';
import { pointToken, reached, type Cursor, type LogPoint } from '../log/index.js';
import type { MemoryView, ProjectorRunner, SystemView } from '../projector/index.js';

export type CheckStatus = Status | 'unknown';

export interface CheckResult {
  readonly phone: E164;
  readonly allowed: boolean;
  readonly status: CheckStatus;
  readonly reason: string;
  readonly since: number | null;
  readonly eventId: string | null;
  /** What the view had applied when it answered. */
  readonly asOf: Cursor;
}

export interface GateOptions {
  /** How far behind the log the view may be before checks fail closed. */
  readonly maxStalenessMs: number;
  /** How long a check with minPosition waits for the view to apply it. */
  readonly readWaitMs: number;
  /**
   * A system view's store could not be read for a check (the phone answered unknown): told here so an
   * outage that fails every check closed is seen in logs and metrics, not only in the answers.
   */
  readonly onReadError?: (error: unknown) => void;
}

export interface CheckQuery {
  readonly brand: string;
  readonly program?: string;
  /** Points the view must have applied first (the caller's own writes). */
  readonly minPosition?: readonly LogPoint[];
}

/**
 * Answers "may I send to this number?" from the central view, and fails closed: while the view
 * replays, is unhealthy, is too far behind, or has not reached the caller's own write, the answer is
 * `allowed: false, status: unknown` — never a guess of "allowed".
 */
export class Gate {
  constructor(
    private readonly view: MemoryView,
    private readonly runner: ProjectorRunner,
    private readonly options: GateOptions,
  ) {}

  /** Why the view cannot answer right now, or undefined when it can. */
  unavailableReason(): string | undefined {
    return unavailable(this.runner, this.options.maxStalenessMs, 'the suppression view');
  }

  async check(phone: E164, query: CheckQuery): Promise<CheckResult> {
    const waited = await this.reach(query.minPosition);
    if (waited !== undefined) return this.unknown(phone, waited);
    return this.checkNow(phone, query.brand, query.program);
  }

  /**
   * The batch check's answer: allowed and status only, against one view state (no reason sentence per
   * phone, which a batch does not return). Same fail-closed rules as `check`.
   */
  async statusMany(
    phones: readonly E164[],
    query: CheckQuery,
  ): Promise<{ readonly allowed: boolean; readonly status: CheckStatus }[]> {
    const { brand, program } = query;
    const waited = (await this.reach(query.minPosition)) ?? this.unavailableReason();
    if (waited !== undefined) return phones.map(() => ({ allowed: false, status: 'unknown' }));
    return phones.map((phone) => {
      if (this.view.quarantined(phone) !== undefined) return { allowed: false, status: 'unknown' };
      const { allowed, status } = this.view.check(phone, brand, program);
      return { allowed, status };
    });
  }

  /** The synchronous hot path: no waiting, one map lookup and a fold over a few facts. */
  checkNow(phone: E164, brand: string, program?: string): CheckResult {
    const unavailable = this.unavailableReason();
    if (unavailable !== undefined) return this.unknown(phone, unavailable);
    return this.answer(phone, this.view.check(phone, brand, program), brand, program);
  }

  private reach(points: readonly LogPoint[] | undefined): Promise<string | undefined> {
    return reach(this.runner, points, this.options.readWaitMs, 'the suppression view');
  }

  get asOf(): Cursor {
    return this.view.cursor;
  }

  private answer(phone: E164, state: EffectiveState, brand: string, program?: string): CheckResult {
    const unreadable = this.view.quarantined(phone);
    if (unreadable !== undefined) {
      return this.unknown(
        phone,
        `the log holds a record for this number that cannot be read (${pointToken(unreadable)}: ${unreadable.reason}); it is in the dead-letter topic until an operator re-records it`,
      );
    }
    return {
      phone,
      allowed: state.allowed,
      status: state.status,
      reason: describe(state, brand, program),
      since: state.cause?.occurredAt ?? null,
      eventId: state.cause?.eventId ?? null,
      asOf: this.view.cursor,
    };
  }

  private unknown(phone: E164, reason: string): CheckResult {
    return {
      phone,
      allowed: false,
      status: 'unknown',
      reason,
      since: null,
      eventId: null,
      asOf: this.view.cursor,
    };
  }
}

/** Why a view cannot answer right now (replaying, failing, too far behind), or undefined when it can. */
function unavailable(runner: ProjectorRunner, maxStalenessMs: number, label: string): string | undefined {
  // Failing first: a view whose store cannot be reached at start has not replayed either, and
  // "replaying" would hide the outage.
  if (!runner.healthy) return `${label} is failing to apply the log${because(runner.staleReason)}`;
  if (!runner.ready) return `${label} is still replaying the log`;
  // A view cut off from the log (broker dead or hung, this process frozen) has applied everything it
  // was handed and reports no lag: what bounds it is when it last knew it had all the log held.
  const stalenessMs = runner.stalenessMs();
  if (stalenessMs > maxStalenessMs) {
    return `${label} cannot vouch for the last ${stalenessMs} ms of the log (bound ${maxStalenessMs} ms)${because(runner.staleReason)}`;
  }
  const lagMs = runner.lagMs();
  if (lagMs > maxStalenessMs) return `${label} is ${lagMs} ms behind the log (bound ${maxStalenessMs} ms)`;
  return undefined;
}

function because(reason: string | undefined): string {
  return reason === undefined ? '' : `: ${reason}`;
}

/** Waits (bounded) until the view has applied `points`; the reason when it has not. */
async function reach(
  runner: ProjectorRunner,
  points: readonly LogPoint[] | undefined,
  waitMs: number,
  label: string,
): Promise<string | undefined> {
  if (points === undefined || reached(runner.cursor, points)) return undefined;
  if (await runner.waitFor(points, waitMs)) return undefined;
  return `${label} has not applied position ${points.map(pointToken).join(',')} yet`;
}

/**
 * Answers a check from one sending system's own view (Redis, PostgreSQL …), read from its store the
 * way that system reads it, with the same fail-closed rules as the central gate: replaying, failing,
 * beyond its staleness bound, or short of the caller's write → `allowed: false, status: unknown`.
 */
export class SystemGate {
  private paused: string | undefined;

  constructor(
    readonly view: SystemView,
    private runner: ProjectorRunner,
    private readonly options: GateOptions,
  ) {}

  /** Answers unknown with `reason` until resumed (a rebuild switching stores). */
  pause(reason: string): void {
    this.paused = reason;
  }

  /** Serves again, from `runner` when the view is now fed by a new one. */
  resume(runner: ProjectorRunner = this.runner): void {
    this.runner = runner;
    this.paused = undefined;
  }

  unavailableReason(): string | undefined {
    return this.paused ?? unavailable(this.runner, this.options.maxStalenessMs, `view ${this.view.name}`);
  }

  /**
   * The batch check through this view: allowed and status per phone, each read from the store the way
   * `check` reads it and failing closed the same way — the whole batch while the view cannot vouch for
   * its data (waited for once, not per phone), a phone whose read fails or whose record is unreadable on
   * its own. At most `concurrency` reads are in flight. `asOf`: what the view had applied before the
   * reads began.
   */
  async statusMany(
    phones: readonly E164[],
    query: CheckQuery,
    concurrency = 32,
  ): Promise<{
    readonly answers: readonly { readonly allowed: boolean; readonly status: CheckStatus }[];
    readonly asOf: Cursor;
  }> {
    const label = `view ${this.view.name}`;
    const unknown = { allowed: false, status: 'unknown' } as const;
    const waited = await reach(this.runner, query.minPosition, this.options.readWaitMs, label);
    const asOf = this.runner.cursor;
    if ((waited ?? this.unavailableReason()) !== undefined) {
      return { answers: phones.map(() => unknown), asOf };
    }
    const answers: { allowed: boolean; status: CheckStatus }[] = phones.map(() => unknown);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < phones.length; i = next++) {
        try {
          const answer = await this.view.check(phones[i] as E164, query.brand, query.program);
          if (answer.quarantined === undefined) {
            answers[i] = { allowed: answer.status !== 'unknown' && answer.allowed, status: answer.status };
          }
        } catch (error) {
          // Unreadable: this phone stays unknown, as the single check answers it.
          this.options.onReadError?.(error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, phones.length) }, worker));
    return { answers, asOf };
  }

  async check(phone: E164, query: CheckQuery): Promise<CheckResult> {
    const label = `view ${this.view.name}`;
    const waited = await reach(this.runner, query.minPosition, this.options.readWaitMs, label);
    const asOf = this.runner.cursor;
    const unknown = (reason: string): CheckResult => ({
      phone,
      allowed: false,
      status: 'unknown',
      reason,
      since: null,
      eventId: null,
      asOf,
    });
    const reason = waited ?? this.unavailableReason();
    if (reason !== undefined) return unknown(reason);
    let answer;
    try {
      answer = await this.view.check(phone, query.brand, query.program);
    } catch (error) {
      this.options.onReadError?.(error);
      return unknown(`${label} could not be read: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (answer.quarantined !== undefined) {
      return unknown(`${label} holds an unreadable log record for this number: ${answer.quarantined}`);
    }
    // Unknown is never allowed, whatever `allowed` says.
    if (answer.status === 'unknown')
      return unknown(`${label}: ${answer.reason ?? 'cannot vouch for this number'}`);
    return {
      phone,
      allowed: answer.allowed,
      status: answer.status,
      reason:
        answer.eventId === null
          ? `${label} has no consent events for this number at the scopes covering brand ${query.brand}`
          : `${label}: ${answer.status.replace('_', ' ')} (event ${answer.eventId})`,
      since: answer.since,
      eventId: answer.eventId,
      asOf,
    };
  }
}
