import type { LedgerEvent, Position, Recorded, ReviewOutcome, ReviewResolved } from './events.js';
import { covers, scopeTarget, type ScopeKey } from './scope.js';

/** `dismissed`: a suspected opt-out a reviewer found was none; it no longer counts. */
export type ConsentKind = 'out' | 'suspected' | 'in' | 'dismissed';

/** The part of an event that decides consent; what a view keeps per phone. */
export interface ConsentFact {
  readonly position: Position;
  readonly scope: ScopeKey;
  readonly kind: ConsentKind;
  readonly occurredAt: number;
  readonly recordedAt: number;
  readonly eventId: string;
  /** A suspected opt-out a reviewer decided: the decision's event. `kind` is then out or dismissed. */
  readonly review?: {
    readonly eventId: string;
    readonly position: Position;
    readonly outcome: ReviewOutcome;
    readonly recordedAt: number;
  };
}

/** A phone's consent facts in log order. */
export type PhoneHistory = readonly ConsentFact[];
export const EMPTY_HISTORY: PhoneHistory = Object.freeze([]);

const KIND: Readonly<Record<LedgerEvent['type'], ConsentKind | undefined>> = {
  OptOutRecorded: 'out',
  OptOutSuspected: 'suspected',
  OptInRecorded: 'in',
  ConfirmationSent: undefined,
  ReviewResolved: undefined,
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

/** The type of the event a fact was recorded from: a reviewed suspected opt-out was recorded as one. */
export function factType(fact: ConsentFact): 'OptOutRecorded' | 'OptInRecorded' | 'OptOutSuspected' {
  if (fact.review !== undefined) return 'OptOutSuspected';
  switch (fact.kind) {
    case 'out':
      return 'OptOutRecorded';
    case 'in':
      return 'OptInRecorded';
    case 'suspected':
    case 'dismissed':
      return 'OptOutSuspected';
    default: {
      const never: never = fact.kind;
      return never;
    }
  }
}

/**
 * evolve(history, event) → history. Idempotent: a record at or below the last applied position of this
 * phone is a re-delivery, and an event id the phone already has is a duplicate (a log that cannot
 * dedupe at append, like Kafka, holds it twice); neither changes anything.
 */
export function evolve(history: PhoneHistory, recorded: Recorded): PhoneHistory {
  if (recorded.event.type === 'ReviewResolved') return resolve(history, recorded.event, recorded.position);
  const fact = consentFact(recorded);
  if (fact === undefined) return history;
  const last = history[history.length - 1];
  if (last !== undefined && fact.position <= last.position) return history;
  if (history.some((earlier) => earlier.eventId === fact.eventId)) return history;
  // Not [...history, fact]: spreading over-allocates the new array (about 130 bytes a phone in memory).
  return history.length === 0 ? [fact] : history.concat([fact]);
}

/**
 * A review decides the suspected opt-out in place: confirmed, it counts as an opt-out from when the reply
 * arrived (an opt-in after it still wins, as it would have); dismissed, it stops counting. Only a fact
 * still suspected changes, so a repeated or late decision changes nothing.
 */
function resolve(history: PhoneHistory, review: ReviewResolved, position: Position): PhoneHistory {
  const index = history.findIndex((fact) => fact.eventId === review.resolves);
  const fact = history[index];
  if (fact === undefined || fact.kind !== 'suspected') return history;
  const decided: ConsentFact = {
    ...fact,
    kind: review.outcome === 'confirmed' ? 'out' : 'dismissed',
    review: { eventId: review.eventId, position, outcome: review.outcome, recordedAt: review.recordedAt },
  };
  return history.map((each, i) => (i === index ? decided : each));
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
  /** An opt-in that could not lift the suppression: an opt-out still in force occurred after it, or sits
   * at a narrower scope than the opt-in's own (see `ignoredBecause`). */
  readonly staleOptIn?: ConsentFact;
  /** Why `staleOptIn` lifted nothing that suppresses: the opt-out it could not lift occurred later, or was
   * recorded at a narrower scope. */
  readonly ignoredBecause?: OptInIgnored;
}

export type OptInIgnored = 'occurred_before_opt_out' | 'narrower_opt_out';

const NO_RECORD: EffectiveState = Object.freeze({ status: 'no_record', allowed: true });

const WIDTH_RANK: Readonly<Record<'global' | 'brand' | 'program', number>> = {
  global: 0,
  brand: 1,
  program: 2,
};

function widthRank(scope: ScopeKey): number {
  if (scope === 'global') return WIDTH_RANK.global;
  return scope.startsWith('brand:') ? WIDTH_RANK.brand : WIDTH_RANK.program;
}

/**
 * Why `optIn` cannot lift the opt-out `out` (both cover the same check), or undefined when it can. The
 * whole safety rule of consent lives here: an opt-in lifts only an opt-out at its own scope or a wider
 * one, and only one that did not occur after it. A global "yes" is not proof that the person took back
 * a "STOP" said to one brand or program (issue 11: a global opt-in lifted a STOPALL and three brands'
 * opt-outs at once).
 */
export function optInCannotLift(optIn: ConsentFact, out: ConsentFact): OptInIgnored | undefined {
  if (widthRank(out.scope) > widthRank(optIn.scope)) return 'narrower_opt_out';
  if (optIn.occurredAt < out.occurredAt) return 'occurred_before_opt_out';
  return undefined;
}

/**
 * The effective state of a phone for (brand, program?): the facts at the covering scopes, folded in log
 * order. Every opt-out (or suspected one) stays in force until a later opt-in that may lift it
 * (`optInCannotLift`) arrives; the phone may be messaged only when none is left in force. An opt-in that
 * leaves one standing is reported as `staleOptIn` with the reason. A hard opt-out outranks a suspected
 * one for the status label; both suppress.
 */
export function effectiveState(
  history: PhoneHistory,
  brand: string | undefined,
  program?: string,
  asOf: (fact: ConsentFact) => boolean = () => true,
): EffectiveState {
  // Checks run millions of times a second on this: one small array, compacted in place.
  const inForce: ConsentFact[] = [];
  let lastIn: ConsentFact | undefined;
  let ignored: { fact: ConsentFact; because: OptInIgnored } | undefined;
  for (const fact of history) {
    if (fact.kind === 'dismissed' || !covers(fact.scope, brand, program) || !asOf(fact)) continue;
    if (fact.kind !== 'in') {
      inForce.push(fact);
      continue;
    }
    let because: OptInIgnored | undefined;
    let kept = 0;
    for (const out of inForce) {
      const reason = optInCannotLift(fact, out);
      if (reason === undefined) continue;
      if (because !== 'narrower_opt_out') because = reason;
      inForce[kept++] = out;
    }
    inForce.length = kept;
    if (because === undefined) {
      lastIn = fact;
      ignored = undefined;
    } else {
      ignored = { fact, because };
    }
  }
  if (inForce.length === 0) {
    return lastIn === undefined ? NO_RECORD : { status: 'opted_in', allowed: true, cause: lastIn };
  }
  const hard = inForce.find((fact) => fact.kind === 'out');
  const cause = hard ?? inForce[0];
  return {
    status: hard === undefined ? 'pending_review' : 'opted_out',
    allowed: false,
    cause,
    ...(ignored && { staleOptIn: ignored.fact, ignoredBecause: ignored.because }),
  };
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
  if (state.staleOptIn === undefined) return base;
  const why =
    state.ignoredBecause === 'narrower_opt_out'
      ? `an opt-out recorded at a narrower scope than the opt-in's ${state.staleOptIn.scope} stands`
      : 'it occurred before the opt-out in force';
  return `${base}; opt-in ${state.staleOptIn.eventId} was ignored because ${why}`;
}

/**
 * The state at every scope the phone has facts at: what a per-system view stores, one row per scope. A
 * check for (brand b, program p) is answered by the most specific row present among program:b/p,
 * brand:b and global; a missing row means no fact at that scope changes the wider row's answer, and
 * no row at all means no_record.
 */
export function scopeStates(history: PhoneHistory): ReadonlyMap<ScopeKey, EffectiveState> {
  const states = new Map<ScopeKey, EffectiveState>();
  for (const { scope } of history) {
    if (states.has(scope)) continue;
    const { brand, program } = scopeTarget(scope);
    states.set(scope, effectiveState(history, brand, program));
  }
  return states;
}
