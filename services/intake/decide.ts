import type { Classification } from '../classifier/index.js';
import {
  DEFAULT_CHANNEL,
  effectiveState,
  evolve,
  assertConsentEvidence,
  assertName,
  LedgerError,
  scopeKey,
  scopeTarget,
  type Channel,
  type E164,
  type EffectiveState,
  type Evidence,
  type ConfirmationSent,
  type ConsentFact,
  type LedgerEvent,
  type OptOutSuspected,
  type PhoneHistory,
  type ReviewResolved,
  type Position,
  type ScopeKey,
  type ScopeWidth,
  type Source,
} from '../ledger/index.js';

/** How far ahead of the ledger's clock an occurredAt may be (clock skew between systems). */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;

export interface RecordConsent {
  readonly type: 'opt_out' | 'opt_in';
  readonly phone: E164;
  readonly brand: string;
  readonly program?: string;
  readonly scope?: ScopeWidth;
  readonly source: Source;
  readonly sourceSystem?: string;
  readonly channel?: Channel;
  readonly occurredAt?: number;
  readonly eventId?: string;
  readonly evidence?: Evidence;
  /** Who records it (`actorOf` at the API): written into evidence.actor, never taken from the caller. */
  readonly actor: string;
}

export interface Context {
  readonly now: number;
  /** Used when the caller gave no event id. */
  readonly newId: () => string;
}

/** RecordConsent → the event to append. Brand scope unless told otherwise. */
export function decideRecord(command: RecordConsent, { now, newId }: Context): LedgerEvent {
  const occurredAt = command.occurredAt ?? now;
  if (!Number.isFinite(occurredAt) || Math.abs(occurredAt) > 8.64e15) {
    throw new LedgerError(
      'invalid_request',
      'occurredAt is not a time; send an ISO 8601 time such as 2026-01-31T12:00:00Z',
    );
  }
  assertName('brand', command.brand);
  const given = command.evidence ?? {};
  if (given.actor !== undefined) {
    throw new LedgerError(
      'invalid_request',
      'evidence.actor is written by the ledger (who recorded the event, from the API key); remove it from the request',
    );
  }
  if (command.type === 'opt_in') assertConsentEvidence(command.source, given);
  if (occurredAt > now + MAX_FUTURE_SKEW_MS) {
    throw new LedgerError(
      'invalid_request',
      `occurredAt ${new Date(occurredAt).toISOString()} is in the future; send the time the person asked`,
    );
  }
  const common = {
    eventId: command.eventId ?? newId(),
    phone: command.phone,
    brand: command.brand,
    ...(command.program !== undefined && { program: command.program }),
    scope: scopeKey(command.scope ?? 'brand', command.brand, command.program),
    occurredAt,
    recordedAt: now,
    source: command.source,
    sourceSystem: command.sourceSystem ?? command.source,
    channel: command.channel ?? DEFAULT_CHANNEL[command.source],
    evidence: { ...given, actor: command.actor },
  };
  return command.type === 'opt_out'
    ? { ...common, type: 'OptOutRecorded' }
    : { ...common, type: 'OptInRecorded' };
}

/** Whether a repeated event id names the same fact; reusing an id for another fact must not hide it. */
export function sameFact(a: LedgerEvent, b: LedgerEvent): boolean {
  return a.type === b.type && a.phone === b.phone && a.scope === b.scope;
}

export interface BrandPolicy {
  readonly displayName: string;
  /** Keyword opt-outs apply to the whole brand by default, or to the program the number belongs to. */
  readonly optOutScope: 'brand' | 'program';
  readonly confirmation: string;
  readonly optInReply: string;
  readonly helpReply: string;
}

export interface InboundMessage {
  readonly from: E164;
  readonly to: string;
  readonly body: string;
  readonly brand: string;
  readonly program?: string;
  readonly messageId?: string;
  readonly receivedAt?: number;
  readonly sourceSystem: string;
  /** Who passed the message on: the provider whose signature was checked, or the API caller. */
  readonly actor: string;
}

export interface InboundDecision {
  readonly events: readonly LedgerEvent[];
  readonly reply: string | null;
}

/**
 * A classified reply → what to record and what to answer. At most one confirmation per opt-out
 * transition: it is sent (and recorded) only when the reply moves the phone from allowed to suppressed
 * at the opt-out's scope.
 */
export function decideInbound(
  message: InboundMessage,
  classification: Classification,
  history: PhoneHistory,
  policy: BrandPolicy,
  { now, newId }: Context,
): InboundDecision {
  const { intent } = classification;
  if (intent === 'help') return { events: [], reply: fill(policy.helpReply, policy) };
  if (intent === 'none') return { events: [], reply: null };

  const eventId = message.messageId === undefined ? newId() : `sms:${message.messageId}`;
  const width: ScopeWidth = classification.global
    ? 'global'
    : policy.optOutScope === 'program' && message.program !== undefined
      ? 'program'
      : 'brand';
  const scope = scopeKey(width, message.brand, message.program);
  const evidence: Evidence = {
    rawText: message.body,
    ...(classification.matched !== null && { matchedRule: classification.matched }),
    confidence: classification.confidence,
    language: classification.language,
    ...(message.messageId !== undefined && { messageId: message.messageId }),
    to: message.to,
    actor: message.actor,
  };
  const common = {
    eventId,
    phone: message.from,
    brand: message.brand,
    ...(message.program !== undefined && { program: message.program }),
    scope,
    occurredAt: Math.min(message.receivedAt ?? now, now),
    recordedAt: now,
    source: 'sms_reply' as const,
    sourceSystem: message.sourceSystem,
    channel: 'sms' as const,
    evidence,
  };

  if (intent === 'opt_in') {
    const optIn: LedgerEvent = { ...common, type: 'OptInRecorded' };
    // A stale opt-in (sent before an opt-out in force) is recorded but lifts nothing: say nothing
    // rather than tell the person they are subscribed.
    const lifted = stateAfter(history, optIn, scope).allowed;
    return { events: [optIn], reply: lifted ? fill(policy.optInReply, policy) : null };
  }
  const optOut: LedgerEvent = { ...common, type: intent === 'review' ? 'OptOutSuspected' : 'OptOutRecorded' };
  if (!isConfirmable(history, optOut, scope)) return { events: [optOut], reply: null };
  const confirmation = confirmationOf(
    optOut,
    policy,
    { occurredAt: optOut.occurredAt, recordedAt: now },
    message.to,
    message.actor,
  );
  return { events: [optOut, confirmation], reply: confirmation.text };
}

/** The one confirmation of an opt-out, with the brand's text; its id derives from the opt-out's. */
function confirmationOf(
  optOut: LedgerEvent,
  policy: BrandPolicy,
  { occurredAt, recordedAt }: { readonly occurredAt: number; readonly recordedAt: number },
  to: string | undefined,
  actor: string,
): ConfirmationSent {
  return {
    ...optOut,
    eventId: `${optOut.eventId}:confirmation`,
    type: 'ConfirmationSent',
    occurredAt,
    recordedAt,
    confirms: optOut.eventId,
    text: fill(policy.confirmation, policy),
    evidence: to === undefined ? { actor } : { to, actor },
  };
}

/**
 * Does `event` move the phone into opted_out at `scope`? A suspected opt-out suppresses but is not
 * confirmed (it may not be one); a hard opt-out after it is, as the first confirmed transition.
 */
function isConfirmable(history: PhoneHistory, event: LedgerEvent, scope: ScopeKey): boolean {
  const { brand, program } = scopeTarget(scope);
  const before = effectiveState(history, brand, program);
  return before.status !== 'opted_out' && stateAfter(history, event, scope).status === 'opted_out';
}

function stateAfter(history: PhoneHistory, event: LedgerEvent, scope: ScopeKey): EffectiveState {
  const { brand, program } = scopeTarget(scope);
  const last = history[history.length - 1];
  const next = ((last?.position ?? 0) + 1) as Position;
  return effectiveState(evolve(history, { position: next, event }), brand, program);
}

function fill(template: string, policy: BrandPolicy): string {
  return template.replaceAll('{brand}', policy.displayName);
}

export interface ReviewCommand {
  /** The event id of the suspected opt-out. */
  readonly id: string;
  readonly decision: 'confirm' | 'dismiss';
  /** Who decided, as the server knows them (the API key id): recorded as evidence.actor. */
  readonly actor: string;
  /** The reviewer's name as they typed it (free text): recorded beside the actor as evidence.agentId. */
  readonly reviewer?: string;
  readonly note?: string;
  readonly sourceSystem?: string;
}

/** The law's window for the one confirmation text after an opt-out. */
export const CONFIRMATION_WINDOW_MS = 5 * 60_000;

export type ReviewDecision =
  | {
      readonly kind: 'record';
      readonly event: ReviewResolved;
      /**
       * The confirmation a confirmed review owes: only when it moves the phone into opted_out at the
       * reply's scope, and only within five minutes of the reply (after that none may be sent).
       */
      readonly confirmation?: ConfirmationSent;
    }
  /** The same decision was already recorded: answer with it. */
  | { readonly kind: 'repeat'; readonly review: NonNullable<ConsentFact['review']> };

/**
 * A reviewer's decision on a suspected opt-out → the event to record. The first decision stands: the
 * same one again is a repeat (a retried request), a contrary one is refused — changing consent after
 * that takes a new opt-in or opt-out, with its own evidence.
 */
export function decideReview(
  suspected: OptOutSuspected,
  history: PhoneHistory,
  command: ReviewCommand,
  policy: BrandPolicy,
  { now }: Pick<Context, 'now'>,
): ReviewDecision {
  const fact = history.find((f) => f.eventId === suspected.eventId);
  if (fact === undefined) {
    throw new LedgerError(
      'not_found',
      `no suspected opt-out ${command.id} on the log for ${suspected.phone}`,
    );
  }
  const outcome = command.decision === 'confirm' ? 'confirmed' : 'dismissed';
  if (fact.review !== undefined) {
    if (fact.review.outcome === outcome) return { kind: 'repeat', review: fact.review };
    throw new LedgerError(
      'review_decided',
      `suspected opt-out ${command.id} was already ${fact.review.outcome} (event ${fact.review.eventId}); a decision stands once made: record a new opt-in or opt-out instead`,
    );
  }
  const evidence: Evidence = {
    ...(command.reviewer !== undefined && { agentId: command.reviewer }),
    ...(command.note !== undefined && { note: command.note }),
    actor: command.actor,
  };
  const event: ReviewResolved = {
    eventId: `review:${suspected.eventId}`,
    type: 'ReviewResolved',
    phone: suspected.phone,
    brand: suspected.brand,
    ...(suspected.program !== undefined && { program: suspected.program }),
    scope: suspected.scope,
    occurredAt: now,
    recordedAt: now,
    source: 'api',
    sourceSystem: command.sourceSystem ?? 'review-queue',
    channel: 'api',
    evidence,
    resolves: suspected.eventId,
    outcome,
  };
  const owed =
    outcome === 'confirmed' &&
    now - suspected.occurredAt <= CONFIRMATION_WINDOW_MS &&
    isConfirmable(history, event, suspected.scope);
  return {
    kind: 'record',
    event,
    ...(owed && {
      confirmation: confirmationOf(
        suspected,
        policy,
        { occurredAt: now, recordedAt: now },
        suspected.evidence.to,
        command.actor,
      ),
    }),
  };
}
