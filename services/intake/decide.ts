import type { Classification } from '../classifier/index.js';
import {
  DEFAULT_CHANNEL,
  effectiveState,
  evolve,
  factType,
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
/**
 * The earliest occurredAt taken. No text-message consent predates 1990 (the TCPA is of 1991, the first
 * SMS of 1992): an earlier time is a data error — an epoch-zero or year-1 default — and an opt-out
 * dated then would be lifted by any stale opt-in.
 */
export const MIN_OCCURRED_AT = Date.UTC(1990, 0, 1);

/**
 * When a reply happened: the provider's receivedAt, never later than now and never before 1990. A
 * provider's zero or epoch default would date a STOP to 1970, and any stale opt-in dated after that
 * could then lift it; a STOP is never refused for its date, so such a time falls back to now.
 */
function replyTime(receivedAt: number | undefined, now: number): number {
  if (receivedAt === undefined || receivedAt < MIN_OCCURRED_AT) return now;
  return Math.min(receivedAt, now);
}

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

/**
 * Ids intake derives: replies (`sms:…`, and their confirmations) and review decisions (`review:…`). A
 * caller's event under one of them would take the place of the reply it names, so callers may not use
 * them (any case).
 */
export const RESERVED_ID_PREFIXES = ['sms:', 'review:'] as const;

/**
 * The event id of a reply with a provider message id. Providers promise unique ids only within their
 * own traffic, and some reuse them: scoped to the provider and the number the reply came from, another
 * number's reply under the same id is another reply (it once was taken for a retry, and its STOP lost).
 */
export function replyEventId(provider: string, from: E164, messageId: string): string {
  return `sms:${provider}:${from}:${idSegment(messageId)}`;
}

/**
 * A message id as the last segment of an event id: provider ids (SM + hex, UUIDs) stay as they are;
 * anything else (":", "%", "/", NUL, a lone surrogate: the generic route takes any text) becomes %xxxx
 * of its UTF-16 unit. One id per message id, and an id no store or URL chokes on.
 */
function idSegment(messageId: string): string {
  return messageId.replace(/[^A-Za-z0-9._~-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The id replies were recorded under before ids were scoped: still read, still a repeat for its phone. */
export function legacyReplyEventId(messageId: string): string {
  return `sms:${messageId}`;
}

/**
 * How much of a reply's text its event keeps as evidence (UTF-8 bytes). A reply of any length is
 * classified and recorded whole as a decision; only the text kept as evidence is cut, with a marker,
 * and the evidence says so.
 */
export const MAX_RAW_TEXT_BYTES = 4096;
const TRUNCATED = '…[truncated]';

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
  if (command.eventId !== undefined) assertCallerId(command.eventId);
  if (occurredAt < MIN_OCCURRED_AT) {
    throw new LedgerError(
      'invalid_request',
      `occurredAt ${new Date(occurredAt).toISOString()} is before 1990; send the time the person asked (ISO 8601, e.g. 2026-01-31T12:00:00Z)`,
    );
  }
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
    evidence: { ...keptEvidence(given), actor: command.actor },
  };
  return command.type === 'opt_out'
    ? { ...common, type: 'OptOutRecorded' }
    : { ...common, type: 'OptInRecorded' };
}

function assertCallerId(eventId: string): void {
  const prefix = RESERVED_ID_PREFIXES.find((p) => eventId.toLowerCase().startsWith(p));
  if (prefix === undefined) return;
  throw new LedgerError(
    'invalid_request',
    `eventId ${eventId} is in the ${prefix} namespace, reserved for the ledger's own events (SMS replies through /v1/inbound, review decisions); use an id of your own, e.g. crm-${eventId.slice(prefix.length)}`,
  );
}

/** Whether a repeated event id names the same fact; reusing an id for another fact must not hide it. */
export function sameFact(a: LedgerEvent, b: LedgerEvent): boolean {
  return a.type === b.type && a.phone === b.phone && a.scope === b.scope;
}

export interface BrandPolicy {
  /** What {brand} prints; absent when none is configured (the templates then name no brand). */
  readonly displayName?: string;
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
  /** The reply was recorded already (a provider's retry): the fact it was recorded as; nothing new. */
  readonly repeat?: ConsentFact;
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

  const width: ScopeWidth = classification.global
    ? 'global'
    : policy.optOutScope === 'program' && message.program !== undefined
      ? 'program'
      : 'brand';
  const scope = scopeKey(width, message.brand, message.program);
  const type =
    intent === 'opt_in' ? 'OptInRecorded' : intent === 'review' ? 'OptOutSuspected' : 'OptOutRecorded';
  const identity =
    message.messageId === undefined
      ? { eventId: newId() }
      : replyIdentity(message, message.messageId, type, scope, history, newId);
  if ('repeat' in identity) return { events: [], reply: null, repeat: identity.repeat };
  const { eventId } = identity;
  const text = keptText(message.body);
  const note = [identity.note, text.note].filter((n) => n !== undefined).join('; ');
  const evidence: Evidence = {
    rawText: text.rawText,
    ...(classification.matched !== null && { matchedRule: classification.matched }),
    confidence: classification.confidence,
    language: classification.language,
    ...(message.messageId !== undefined && { messageId: message.messageId }),
    to: message.to,
    ...(note !== '' && { note }),
    actor: message.actor,
  };
  const common = {
    eventId,
    phone: message.from,
    brand: message.brand,
    ...(message.program !== undefined && { program: message.program }),
    scope,
    occurredAt: replyTime(message.receivedAt, now),
    recordedAt: now,
    source: 'sms_reply' as const,
    sourceSystem: message.sourceSystem,
    channel: 'sms' as const,
    evidence,
  };

  if (type === 'OptInRecorded') {
    const optIn: LedgerEvent = { ...common, type };
    // A stale opt-in (sent before an opt-out in force) is recorded but lifts nothing: say nothing
    // rather than tell the person they are subscribed.
    const lifted = stateAfter(history, optIn, scope).allowed;
    return { events: [optIn], reply: lifted ? fill(policy.optInReply, policy) : null };
  }
  const optOut: LedgerEvent = { ...common, type };
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

/**
 * The id a reply with a provider message id is recorded under, or the recorded fact it repeats. The
 * phone's own facts answer (its ids name it), on the embedded log and on Kafka alike:
 * - the same fact under the id (or the id of before, `sms:<messageId>`) is a provider's retry: a repeat;
 * - an opt-out is never refused nor swallowed: under an id the phone used for another fact, or whose
 *   opt-out no longer suppresses (an opt-in lifted it since), it is recorded under an id of its own,
 *   and the evidence says why;
 * - an opt-in under an id used for another fact is refused (409): the opt-out it would lift stands.
 */
function replyIdentity(
  message: InboundMessage,
  messageId: string,
  type: 'OptInRecorded' | 'OptOutRecorded' | 'OptOutSuspected',
  scope: ScopeKey,
  history: PhoneHistory,
  newId: () => string,
): { readonly eventId: string; readonly note?: string } | { readonly repeat: ConsentFact } {
  const base = replyEventId(message.sourceSystem, message.from, messageId);
  const legacy = legacyReplyEventId(messageId);
  const earlier = history.filter(
    (f) => f.eventId === base || f.eventId === legacy || f.eventId.startsWith(`${base}:`),
  );
  const first = earlier[0];
  if (first === undefined) return { eventId: base };
  const same = earlier.findLast((f) => factType(f) === type && f.scope === scope);
  if (type === 'OptInRecorded') {
    if (same !== undefined) return { repeat: same };
    throw new LedgerError(
      'event_id_conflict',
      `message id ${messageId} from ${message.from} (${message.sourceSystem}) was already recorded as ${factType(first)} at ${first.scope} (event ${first.eventId}); an opt-in under it is refused and the opt-out stands: send it with a message id of its own`,
    );
  }
  const { brand, program } = scopeTarget(scope);
  if (same !== undefined && !effectiveState(history, brand, program).allowed) return { repeat: same };
  return {
    eventId: `${base}:${newId()}`,
    note:
      same === undefined
        ? `message id ${messageId} was already recorded as ${factType(first)} at ${first.scope} (event ${first.eventId}): this reply is recorded under an id of its own`
        : `message id ${messageId} was recorded before (event ${same.eventId}) but no longer suppresses: recorded again`,
  };
}

/** Evidence fields of free text, kept as a reply's text is: a long one is cut, never refused. */
const FREE_TEXT = ['rawText', 'note', 'formUrl', 'userAgent'] as const;

/** A caller's evidence, each free-text field whole up to MAX_RAW_TEXT_BYTES, else cut; the note says which. */
function keptEvidence(evidence: Evidence): Evidence {
  const kept: { -readonly [K in keyof Evidence]: Evidence[K] } = { ...evidence };
  const cut: string[] = [];
  for (const field of FREE_TEXT) {
    const text = evidence[field];
    if (text === undefined) continue;
    const { rawText, note } = keptText(text, field, 'it');
    if (note === undefined) continue;
    kept[field] = rawText;
    cut.push(note);
  }
  if (cut.length === 0) return evidence;
  kept.note = [kept.note, ...cut].filter((n) => n !== undefined).join('; ');
  return kept;
}

/** Text as evidence: whole up to MAX_RAW_TEXT_BYTES of UTF-8, else cut between characters, with a note. */
function keptText(
  text: string,
  field = 'rawText',
  what = 'the reply',
): { readonly rawText: string; readonly note?: string } {
  // A UTF-16 unit is at most 3 bytes of UTF-8 (a pair of them, 4): short texts need no counting.
  if (text.length * 3 <= MAX_RAW_TEXT_BYTES) return { rawText: text };
  const budget = MAX_RAW_TEXT_BYTES - utf8Bytes(TRUNCATED);
  let kept = 0;
  let cut = 0;
  let fits = true;
  let characters = 0;
  let total = 0;
  // By code point, so the cut never splits a surrogate pair into two lone halves.
  for (const c of text) {
    const bytes = utf8Bytes(c);
    total += bytes;
    characters += 1;
    fits &&= kept + bytes <= budget;
    if (fits) {
      kept += bytes;
      cut += c.length;
    }
  }
  if (total <= MAX_RAW_TEXT_BYTES) return { rawText: text };
  return {
    rawText: text.slice(0, cut) + TRUNCATED,
    note: `${field} truncated to ${MAX_RAW_TEXT_BYTES} bytes: ${what} was ${characters} characters (${total} bytes of UTF-8)`,
  };
}

/** UTF-8 length; a lone surrogate counts as the replacement character it is written as (3 bytes). */
function utf8Bytes(text: string): number {
  let bytes = 0;
  for (const c of text) {
    const cp = c.codePointAt(0) ?? 0;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return bytes;
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

function fill(template: string, { displayName }: BrandPolicy): string {
  return displayName === undefined ? template : template.replaceAll('{brand}', displayName);
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
