import { describe, type E164, type EffectiveState, type Status } from '../ledger/index.js';
import { pointToken, reached, type Cursor, type LogPoint } from '../log/index.js';
import type { MemoryView, ProjectorRunner } from '../projector/index.js';

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
    if (!this.runner.ready) return 'the suppression view is still replaying the log';
    if (!this.runner.healthy) return 'the suppression view is failing to apply the log';
    const lagMs = this.runner.lagMs();
    if (lagMs > this.options.maxStalenessMs) {
      return `the suppression view is ${lagMs} ms behind the log (bound ${this.options.maxStalenessMs} ms)`;
    }
    return undefined;
  }

  async check(phone: E164, query: CheckQuery): Promise<CheckResult> {
    const waited = await this.reach(query.minPosition);
    if (waited !== undefined) return this.unknown(phone, waited);
    return this.checkNow(phone, query.brand, query.program);
  }

  /** Waits (bounded) for the caller's own write, then answers every phone against one view state. */
  async checkMany(phones: readonly E164[], query: CheckQuery): Promise<CheckResult[]> {
    const { brand, program } = query;
    const waited = await this.reach(query.minPosition);
    if (waited !== undefined) return phones.map((phone) => this.unknown(phone, waited));
    const unavailable = this.unavailableReason();
    if (unavailable !== undefined) return phones.map((phone) => this.unknown(phone, unavailable));
    return phones.map((phone) => this.answer(phone, this.view.check(phone, brand, program), brand, program));
  }

  /** The synchronous hot path: no waiting, one map lookup and a fold over a few facts. */
  checkNow(phone: E164, brand: string, program?: string): CheckResult {
    const unavailable = this.unavailableReason();
    if (unavailable !== undefined) return this.unknown(phone, unavailable);
    return this.answer(phone, this.view.check(phone, brand, program), brand, program);
  }

  /** Waits (bounded) until the view has applied `minPosition`; the reason when it has not. */
  private async reach(points: readonly LogPoint[] | undefined): Promise<string | undefined> {
    if (points === undefined || reached(this.view.cursor, points)) return undefined;
    if (await this.runner.waitFor(points, this.options.readWaitMs)) return undefined;
    return `the suppression view has not applied position ${points.map(pointToken).join(',')} yet`;
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
