import {
  CHANNELS,
  EVENT_TYPES,
  isE164,
  isScopeKey,
  LedgerError,
  REVIEW_OUTCOMES,
  SOURCES,
  type Channel,
  type E164,
  type EventType,
  type Evidence,
  type LedgerEvent,
  type ReviewOutcome,
  type ScopeKey,
  type Source,
} from '../ledger/index.js';

/** The Avro record of the writer schema (v3): optional values are null, never absent. */
export interface AvroEvent {
  eventId: string;
  type: string;
  phone: string;
  brand: string;
  program: string | null;
  scope: string;
  occurredAt: number;
  recordedAt: number;
  source: string;
  sourceSystem: string;
  channel: string;
  evidence: Record<(typeof EVIDENCE_FIELDS)[number], string | number | null>;
  confirms: string | null;
  text: string | null;
  resolves: string | null;
  outcome: string | null;
}

const EVIDENCE_FIELDS = [
  'rawText',
  'matchedRule',
  'confidence',
  'language',
  'messageId',
  'to',
  'agentId',
  'formUrl',
  'ip',
  'userAgent',
  'note',
  'callReference',
  'consentReference',
  'actor',
] as const satisfies readonly (keyof Evidence)[];

export function toAvro(event: LedgerEvent): AvroEvent {
  const evidence = Object.fromEntries(
    EVIDENCE_FIELDS.map((key) => [key, event.evidence[key] ?? null]),
  ) as AvroEvent['evidence'];
  return {
    eventId: event.eventId,
    type: event.type,
    phone: event.phone,
    brand: event.brand,
    program: event.program ?? null,
    scope: event.scope,
    occurredAt: event.occurredAt,
    recordedAt: event.recordedAt,
    source: event.source,
    sourceSystem: event.sourceSystem,
    channel: event.channel,
    evidence,
    confirms: event.type === 'ConfirmationSent' ? event.confirms : null,
    text: event.type === 'ConfirmationSent' ? event.text : null,
    resolves: event.type === 'ReviewResolved' ? event.resolves : null,
    outcome: event.type === 'ReviewResolved' ? event.outcome : null,
  };
}

/**
 * An Avro record → a domain event, checked: a record another system produced is trusted no more than
 * a request. What does not hold is an `undecodable_record` error naming the field.
 */
export function fromAvro(record: AvroEvent): LedgerEvent {
  const bad = (field: string, why: string): never => {
    throw new LedgerError('undecodable_record', `event ${record.eventId || '(no id)'}: ${field} ${why}`);
  };
  if (record.eventId === '') bad('eventId', 'is empty');
  if (!isE164(record.phone)) bad('phone', `"${record.phone}" is not E.164`);
  if (!isScopeKey(record.scope))
    bad('scope', `"${record.scope}" is not global, brand:<b> or program:<b>/<p>`);
  if (!(EVENT_TYPES as readonly string[]).includes(record.type)) bad('type', `"${record.type}" is unknown`);
  if (!(SOURCES as readonly string[]).includes(record.source)) bad('source', `"${record.source}" is unknown`);
  if (!(CHANNELS as readonly string[]).includes(record.channel))
    bad('channel', `"${record.channel}" is unknown`);
  const evidence: Record<string, string | number> = {};
  for (const key of EVIDENCE_FIELDS) {
    const value = record.evidence[key];
    if (value !== null && value !== undefined) evidence[key] = value;
  }
  const common = {
    eventId: record.eventId,
    phone: record.phone as E164,
    brand: record.brand,
    ...(record.program !== null && { program: record.program }),
    scope: record.scope as ScopeKey,
    occurredAt: record.occurredAt,
    recordedAt: record.recordedAt,
    source: record.source as Source,
    sourceSystem: record.sourceSystem,
    channel: record.channel as Channel,
    evidence: evidence as Evidence,
  };
  const type = record.type as EventType;
  switch (type) {
    case 'OptOutRecorded':
    case 'OptInRecorded':
    case 'OptOutSuspected':
      return { ...common, type };
    case 'ConfirmationSent':
      if (record.confirms === null || record.text === null)
        bad('confirms/text', 'are required on ConfirmationSent');
      return { ...common, type, confirms: record.confirms ?? '', text: record.text ?? '' };
    case 'ReviewResolved': {
      const { resolves, outcome } = record;
      if (resolves === null || resolves === '') return bad('resolves', 'is required on ReviewResolved');
      if (!(REVIEW_OUTCOMES as readonly (string | null)[]).includes(outcome))
        return bad('outcome', `"${String(outcome)}" is not confirmed or dismissed`);
      return { ...common, type, resolves, outcome: outcome as ReviewOutcome };
    }
    default: {
      const never: never = type;
      return bad('type', `"${String(never)}" is unknown`);
    }
  }
}
