import {
  describe,
  effectiveState,
  foldHistory,
  type E164,
  type LedgerEvent,
  type Status,
} from '../ledger/index.js';
import type { LogPoint, LogRecord, PhoneHistorySource } from '../log/index.js';

/** What the audit needs to know of each view: how far it got and when it applied a position. */
export interface ViewProgress {
  readonly name: string;
  applied(point: LogPoint): boolean;
  appliedAt(point: LogPoint): number | undefined;
}

export interface AuditedEvent extends LogPoint {
  readonly event: LedgerEvent;
  readonly views: readonly {
    readonly view: string;
    readonly applied: boolean;
    readonly appliedAt: number | null;
  }[];
}

export interface ScopeState {
  readonly brand: string | null;
  readonly program: string | null;
  readonly status: Status;
  readonly allowed: boolean;
  readonly reason: string;
  readonly since: number | null;
  readonly eventId: string | null;
}

export interface AuditReport {
  readonly phone: E164;
  readonly at: number | null;
  readonly events: readonly AuditedEvent[];
  /** The effective state for every brand and program the phone has events at, plus global. */
  readonly effective: readonly ScopeState[];
}

/**
 * "When did this person opt out, through what, and what did we do about it?" — answered from the log,
 * never from a view. With `at`, the state is what the ledger knew at that time (events recorded by then).
 */
export async function auditPhone(
  log: PhoneHistorySource,
  views: readonly ViewProgress[],
  phone: E164,
  at?: number,
): Promise<AuditReport> {
  const records = await log.readPhone(phone);
  const history = foldHistory(records);
  const known = at === undefined ? () => true : (fact: { recordedAt: number }) => fact.recordedAt <= at;
  const targets = new Map<string, { brand?: string; program?: string }>([['', {}]]);
  for (const { event } of records) {
    targets.set(event.brand, { brand: event.brand });
    if (event.program !== undefined) {
      targets.set(`${event.brand}/${event.program}`, { brand: event.brand, program: event.program });
    }
  }
  const effective = [...targets.values()].map(({ brand, program }): ScopeState => {
    const state = effectiveState(history, brand, program, known);
    return {
      brand: brand ?? null,
      program: program ?? null,
      status: state.status,
      allowed: state.allowed,
      reason: describe(state, brand, program),
      since: state.cause?.occurredAt ?? null,
      eventId: state.cause?.eventId ?? null,
    };
  });
  return {
    phone,
    at: at ?? null,
    events: records.map(({ partition, position, event }: LogRecord) => ({
      partition,
      position,
      event,
      views: views.map((view) => ({
        view: view.name,
        applied: view.applied({ partition, position }),
        appliedAt: view.appliedAt({ partition, position }) ?? null,
      })),
    })),
    effective,
  };
}
