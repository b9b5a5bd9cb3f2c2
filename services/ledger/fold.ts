import type { LedgerEvent, Position, Recorded } from './events.js';
import { covers, type ScopeKey } from './scope.js';

export type ConsentKind = 'out' | 'suspected' | 'in';

/** The part of an event that decides consent; what a view keeps per phone. */
export interface ConsentFact {
  readonly position: Position;
  readonly scope: ScopeKey;
  readonly kind: ConsentKind;
  readonly occurredAt: number;
  readonly recordedAt: number;
  readonly eventId: string;
}

/** A phone's consent facts in log order. */
export type PhoneHistory = readonly ConsentFact[];
export const EMPTY_HISTORY: PhoneHistory = Object.freeze([]);

const KIND: Readonly<Record<LedgerEvent['type'], ConsentKind | undefined>> = {
  OptOutRecorded: 'out',
  OptOutSuspected: 'suspected',
  OptInRecorded: 'in',
  ConfirmationSent: undefined,
};

export function consentFact({ position, event }: Recorded): ConsentFact | undefined {
  const kind = KIND[event.type];
  if (kind === undefined) return undefined;
  return {
    position,
    scope: event.scope,
    kind,
    occurredAt: event.occurredAt,
    recordedAt: event.recordedAt,
    eventId: event.eventId,
  };
}

/**
 * evolve(history, event) → history. Idempotent: a record at or below the last applied position of this
 * phone is a re-delivery, and an event id the phone already has is a duplicate (a log that cannot
 * dedupe at append, like Kafka, holds it twice); neither changes anything.
 */
export function evolve(history: PhoneHistory, recorded: Recorded): PhoneHistory {
  const fact = consentFact(recorded);
  if (fact === undefined) return history;
  const last = history[history.length - 1];
  if (last !== undefined && fact.position <= last.position) return history;
  if (history.some((earlier) => earlier.eventId === fact.eventId)) return history;
  return [...history, fact];
}

/** The fold of a phone's records, oldest first. */
export function foldHistory(records: readonly Recorded[]): PhoneHistory {
  return records.reduce(evolve, EMPTY_HISTORY);
}

export type Status = 'opted_out' | 'pending_review' | 'opted_in' | 'no_record';

export interface EffectiveState {
  readonly status: Status;
  readonly allowed: boolean;
  /** The fact that put the phone in this status (none for no_record). */
  readonly cause?: ConsentFact;
  /** An opt-in that could not lift the suppression because an opt-out in force occurred after it. */
  readonly staleOptIn?: ConsentFact;
}

const NO_RECORD: EffectiveState = Object.freeze({ status: 'no_record', allowed: true });

/**
 * The effective state of a phone for (brand, program?): the facts at the covering scopes, folded in log
 * order. The latest fact wins, with one safety rule: an opt-in never lifts an opt-out in force whose
 * occurredAt is later than the opt-in's own, so a stale, late-arriving opt-in cannot resurrect consent.
 * A hard opt-out outranks a suspected one for the status label; both suppress.
 */
export function effectiveState(
  history: PhoneHistory,
  brand: string | undefined,
  program?: string,
  asOf: (fact: ConsentFact) => boolean = () => true,
): EffectiveState {
  let state = NO_RECORD;
  let latestOutAt = -Infinity;
  for (const fact of history) {
    if (!covers(fact.scope, brand, program) || !asOf(fact)) continue;
    if (fact.kind === 'in') {
      if (!state.allowed && fact.occurredAt < latestOutAt) {
        state = { ...state, staleOptIn: fact };
        continue;
      }
      state = { status: 'opted_in', allowed: true, cause: fact };
      latestOutAt = -Infinity;
      continue;
    }
    const hard = fact.kind === 'out';
    if (state.allowed) {
      state = { status: hard ? 'opted_out' : 'pending_review', allowed: false, cause: fact };
    } else if (hard && state.status === 'pending_review') {
      state = {
        status: 'opted_out',
        allowed: false,
        cause: fact,
        ...(state.staleOptIn && { staleOptIn: state.staleOptIn }),
      };
    }
    latestOutAt = Math.max(latestOutAt, fact.occurredAt);
  }
  return state;
}

/** One sentence a support agent or auditor can read. */
export function describe(state: EffectiveState, brand: string | undefined, program?: string): string {
  const { cause } = state;
  if (cause === undefined) {
    const target =
      brand === undefined
        ? 'global scope'
        : `brand ${brand}${program === undefined ? '' : ` program ${program}`}`;
    return `no consent events for this number at the scopes covering ${target}`;
  }
  const where = `at ${cause.scope} (event ${cause.eventId})`;
  const base =
    state.status === 'opted_out'
      ? `opted out ${where}`
      : state.status === 'pending_review'
        ? `suspected opt-out ${where} awaiting review; suppressed until reviewed`
        : `opted in ${where}`;
  return state.staleOptIn === undefined
    ? base
    : `${base}; opt-in ${state.staleOptIn.eventId} was ignored because it occurred before the opt-out in force`;
}
