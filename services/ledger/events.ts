import { LedgerError } from './errors.js';
import type { E164 } from './phone.js';
import type { ScopeKey } from './scope.js';

/** Where a consent decision came from. Kept small and fixed so reports can group by it. */
export const SOURCES = [
  'sms_reply',
  'web_form',
  'crm',
  'call_centre',
  'email',
  'import',
  'api',
  'provider',
] as const;
export type Source = (typeof SOURCES)[number];

/** Other spellings callers use for a source: US English, and the channel named for its reply. */
const SOURCE_ALIASES: ReadonlyMap<string, Source> = new Map<string, Source>([
  ['call_center', 'call_centre'],
  ['sms', 'sms_reply'],
]);

/**
 * The source a caller names → the one the log holds. Case, spaces and dashes do not matter
 * ("Call Center", "WEB-FORM"), and call_center is call_centre: a caller's spelling must not refuse an
 * opt-out, nor split one source into several in reports.
 */
export function parseSource(name: string): Source {
  const key = name
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  const source = SOURCES.find((s) => s === key) ?? SOURCE_ALIASES.get(key);
  if (source !== undefined) return source;
  throw new LedgerError(
    'invalid_request',
    `source ${JSON.stringify(name)} is not one we know: use one of ${SOURCES.join(', ')} (any case; call_center and sms are accepted too)`,
  );
}

export const CHANNELS = ['sms', 'web', 'voice', 'email', 'file', 'api'] as const;
export type Channel = (typeof CHANNELS)[number];

export const DEFAULT_CHANNEL: Readonly<Record<Source, Channel>> = {
  sms_reply: 'sms',
  web_form: 'web',
  crm: 'api',
  call_centre: 'voice',
  email: 'email',
  import: 'file',
  api: 'api',
  provider: 'sms',
};

/** What a compliance officer needs to show how the decision was made. All optional: sources differ. */
export interface Evidence {
  readonly rawText?: string;
  readonly matchedRule?: string;
  readonly confidence?: number;
  readonly language?: string;
  readonly messageId?: string;
  readonly to?: string;
  readonly agentId?: string;
  readonly formUrl?: string;
  readonly ip?: string;
  readonly userAgent?: string;
  readonly note?: string;
  /** Call-centre opt-ins: the call's reference in the call system. */
  readonly callReference?: string;
  /** Opt-ins from a CRM, an import or another system: where the proof of consent is kept. */
  readonly consentReference?: string;
  /**
   * Who recorded the event, written by the server and never taken from the caller: the API key id,
   * `twilio` (after its signature was checked), `local` (no keys configured) or `cli:<user>`. Absent on
   * records written before schema version 3.
   */
  readonly actor?: string;
}

interface EventCommon {
  readonly eventId: string;
  readonly phone: E164;
  readonly brand: string;
  readonly program?: string;
  readonly scope: ScopeKey;
  /** When the person expressed it (epoch ms). Decides the stale-opt-in rule. */
  readonly occurredAt: number;
  /** When the ledger accepted it (epoch ms). */
  readonly recordedAt: number;
  readonly source: Source;
  readonly sourceSystem: string;
  readonly channel: Channel;
  readonly evidence: Evidence;
}

export interface OptOutRecorded extends EventCommon {
  readonly type: 'OptOutRecorded';
}
export interface OptInRecorded extends EventCommon {
  readonly type: 'OptInRecorded';
}
/** A reply that may be a revocation: suppresses at once (fail safe) until a person reviews it. */
export interface OptOutSuspected extends EventCommon {
  readonly type: 'OptOutSuspected';
}
/** The one confirmation text the law allows after an opt-out, recorded so it is never sent twice. */
export interface ConfirmationSent extends EventCommon {
  readonly type: 'ConfirmationSent';
  readonly confirms: string;
  readonly text: string;
}

/** How a person reviewing a suspected opt-out decided it. */
export const REVIEW_OUTCOMES = ['confirmed', 'dismissed'] as const;
export type ReviewOutcome = (typeof REVIEW_OUTCOMES)[number];

/**
 * A person's decision on a suspected opt-out: `confirmed` makes it an opt-out from the moment the reply
 * arrived; `dismissed` withdraws it (it was not a revocation) and lifts nothing else. The reviewer goes
 * in evidence.agentId, their reason in evidence.note.
 */
export interface ReviewResolved extends EventCommon {
  readonly type: 'ReviewResolved';
  /** The event id of the OptOutSuspected decided. */
  readonly resolves: string;
  readonly outcome: ReviewOutcome;
}

export type LedgerEvent =
  OptOutRecorded | OptInRecorded | OptOutSuspected | ConfirmationSent | ReviewResolved;
export type EventType = LedgerEvent['type'];
export const EVENT_TYPES: readonly EventType[] = [
  'OptOutRecorded',
  'OptInRecorded',
  'OptOutSuspected',
  'ConfirmationSent',
  'ReviewResolved',
];

/** The order of the log. Per phone it is total; the log adapter turns it into an opaque token. */
export type Position = number & { readonly __brand: 'Position' };
export const asPosition = (n: number): Position => n as Position;
export const START: Position = asPosition(0);

export interface Recorded<E extends LedgerEvent = LedgerEvent> {
  readonly position: Position;
  readonly event: E;
}
