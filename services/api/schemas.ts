import { Type, type TSchema } from '@sinclair/typebox';
import { CHANNELS, SOURCES } from '../ledger/index.js';

/** A string enum; `enum` (not a union of literals) so a wrong value gets a message listing the right ones. */
const literals = <T extends string>(values: readonly T[], description?: string) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...(description !== undefined && { description }) });

const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
export const Name = (description: string) => Type.String({ pattern: NAME_PATTERN, description });
export const PhoneInput = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'Any common spelling of a number: E.164 (+14155550123), national ((415) 555-0123) or tel: URI',
});
const Timestamp = (description: string) => Type.String({ format: 'date-time', description });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'Stable error code' }),
    message: Type.String({ description: 'What to fix' }),
  },
  { $id: 'Error' },
);

/** Text from the outside world: any length is taken, and the event keeps up to 4 KiB of it (cut with a marker). */
const FreeText = Type.String({ description: 'Any length; kept up to 4 KiB, cut with a marker beyond' });

export const Evidence = Type.Object(
  {
    rawText: Type.Optional(FreeText),
    matchedRule: Type.Optional(Type.String({ maxLength: 200 })),
    confidence: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    language: Type.Optional(Type.String({ maxLength: 16 })),
    messageId: Type.Optional(Type.String({ maxLength: 200 })),
    to: Type.Optional(Type.String({ maxLength: 64 })),
    agentId: Type.Optional(Type.String({ maxLength: 200 })),
    formUrl: Type.Optional(FreeText),
    ip: Type.Optional(Type.String({ maxLength: 64 })),
    userAgent: Type.Optional(FreeText),
    note: Type.Optional(FreeText),
    callReference: Type.Optional(
      Type.String({ maxLength: 200, description: 'Call-centre opt-ins: the call in the call system' }),
    ),
    consentReference: Type.Optional(
      Type.String({
        maxLength: 2000,
        description: 'Where the proof of consent is kept (CRM, import, others)',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'How the decision was made. An opt_in must prove consent: sms_reply rawText; web_form formUrl and ip; call_centre agentId and callReference; email and provider rawText or consentReference; crm, import and api consentReference or rawText. Who recorded the event (actor) is written by the server, never sent.',
  },
);

export const RecordBody = Type.Object(
  {
    type: literals(['opt_out', 'opt_in'] as const),
    phone: PhoneInput,
    brand: Type.Optional(Name('Brand the consent is for (default: LEDGER_DEFAULT_BRAND)')),
    program: Type.Optional(Name('Program within the brand')),
    scope: Type.Optional(
      literals(['global', 'brand', 'program'] as const, 'Width of the decision (default brand)'),
    ),
    source: Type.String({
      minLength: 1,
      maxLength: 64,
      description: `Where the request came from: ${SOURCES.join(', ')} (any case; call_center and sms are accepted and stored canonical)`,
    }),
    sourceSystem: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    channel: Type.Optional(literals(CHANNELS)),
    occurredAt: Type.Optional(Timestamp('When the person asked (default: now)')),
    eventId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        pattern: '^[A-Za-z0-9][A-Za-z0-9:._/-]*$',
        description:
          "Your idempotency key: a repeated id is acknowledged with the original and applied once. Ids beginning sms: or review: (any case) are the ledger's own and refused",
      }),
    ),
    evidence: Type.Optional(Evidence),
  },
  { additionalProperties: false },
);

export const RecordReply = Type.Object({
  eventId: Type.String(),
  phone: Type.String(),
  position: Type.String({ description: 'Consistency token: pass as minPosition to read your own write' }),
  recordedAt: Type.String(),
  duplicate: Type.Boolean(),
});

export const InboundBody = Type.Object(
  {
    from: PhoneInput,
    to: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'Our number or short code the reply was sent to',
    }),
    body: Type.String({
      description:
        'The reply as the person sent it, any length (up to the request size limit): classified whole; the evidence keeps up to 4 KiB of it',
    }),
    messageId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: "The provider's id: a retry under it from the same number is applied once",
      }),
    ),
    receivedAt: Type.Optional(Timestamp('When the provider received the message')),
    brand: Type.Optional(Name('Brand, when the to-number does not say')),
    program: Type.Optional(Name('Program, when the to-number does not say')),
  },
  { additionalProperties: false },
);

export const ClassifyBody = Type.Object(
  {
    text: Type.String({ maxLength: 2000, description: 'The reply as the person sent it' }),
    brand: Type.Optional(Name('Brand (for its own keywords, when configured)')),
  },
  { additionalProperties: false },
);

export const ClassifyReply = Type.Object({
  intent: literals(['opt_out', 'opt_in', 'help', 'none', 'review'] as const),
  confidence: Type.Number({ minimum: 0, maximum: 1 }),
  matched: Nullable(Type.String({ description: 'The rule that decided, e.g. keyword:stop+filler' })),
  language: Type.String(),
});

export const InboundReply = Type.Object({
  intent: literals(['opt_out', 'opt_in', 'help', 'none', 'review'] as const),
  eventId: Nullable(Type.String()),
  position: Nullable(Type.String()),
  reply: Nullable(Type.String({ description: 'Text to send back (the confirmation), or null' })),
  confirmation: Type.Optional(
    Nullable(
      literals(
        ['reply', 'gateway'] as const,
        'How the confirmation goes out: in `reply`, or through the outbound gateway (then `reply` is null)',
      ),
    ),
  ),
  duplicate: Type.Optional(
    Type.Boolean({ description: 'The message id was already recorded: the original, nothing new' }),
  ),
});

export const ReviewsQuery = Type.Object(
  {
    status: Type.Optional(
      literals(['pending', 'decided', 'all'] as const, 'Which suspected opt-outs (default pending)'),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'At most (default 100)' })),
  },
  { additionalProperties: false },
);

const ReviewEntry = Type.Object({
  id: Type.String({ description: "The suspected opt-out's event id: POST /v1/reviews/:id decides it" }),
  phone: Type.String(),
  brand: Type.String(),
  program: Nullable(Type.String()),
  scope: Type.String({ description: 'What it suppresses meanwhile' }),
  text: Nullable(Type.String({ description: 'What the person wrote' })),
  matchedRule: Nullable(Type.String()),
  confidence: Nullable(Type.Number()),
  language: Nullable(Type.String()),
  receivedAt: Type.String(),
  position: Type.String(),
  status: literals(['pending', 'confirmed', 'dismissed'] as const),
  decidedAt: Nullable(Type.String()),
  reviewer: Nullable(Type.String({ description: "The reviewer's name as they gave it" })),
  actor: Nullable(Type.String({ description: 'Who decided, as the server knows them (API key id)' })),
  note: Nullable(Type.String()),
});

export const ReviewsReply = Type.Object({
  reviews: Type.Array(ReviewEntry),
  total: Type.Integer({ description: 'How many match, before the limit' }),
});

export const ReviewParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 512 }) },
  { additionalProperties: false },
);

export const ReviewBody = Type.Object(
  {
    decision: literals(
      ['confirm', 'dismiss'] as const,
      'confirm: it was an opt-out (from when it arrived); dismiss: it was not (the suppression it caused is lifted)',
    ),
    reviewer: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Who decided' })),
    note: Type.Optional(Type.String({ maxLength: 2000, description: 'Why' })),
  },
  { additionalProperties: false },
);

export const ReviewReply = Type.Object({
  id: Type.String(),
  outcome: literals(['confirmed', 'dismissed'] as const),
  eventId: Type.String({ description: 'The ReviewResolved event on the log' }),
  position: Type.String({ description: 'Consistency token: pass as minPosition to read the new state' }),
  recordedAt: Type.String(),
  duplicate: Type.Boolean(),
  confirmation: Nullable(
    literals(
      ['gateway'] as const,
      "A confirmed opt-out's confirmation, when it is sent (gateway only, within 5 minutes)",
    ),
  ),
});

const Status = literals(['opted_out', 'opted_in', 'pending_review', 'no_record', 'unknown'] as const);

export const CheckQuery = Type.Object(
  {
    brand: Type.Optional(Name('Brand (default: LEDGER_DEFAULT_BRAND)')),
    program: Type.Optional(Name('Program')),
    minPosition: Type.Optional(
      Type.String({ description: 'Wait (bounded) until the view has applied this token' }),
    ),
    system: Type.Optional(
      Type.String({
        pattern: '^[a-z0-9][a-z0-9_-]{0,47}$',
        description:
          "Answer from this sending system's own view (GET /v1/views lists them); default the central view",
      }),
    ),
  },
  { additionalProperties: false },
);

export const CheckReply = Type.Object({
  phone: Type.String(),
  allowed: Type.Boolean(),
  status: Status,
  reason: Type.String(),
  since: Nullable(Type.String()),
  eventId: Nullable(Type.String()),
  asOf: Type.String(),
});

export const BatchBody = Type.Object(
  {
    phones: Type.Array(PhoneInput, { minItems: 1 }),
    brand: Type.Optional(Name('Brand (default: LEDGER_DEFAULT_BRAND)')),
    program: Type.Optional(Name('Program')),
    minPosition: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const BatchQuery = Type.Object(
  {
    system: Type.Optional(
      Type.String({
        pattern: '^[a-z0-9][a-z0-9_-]{0,47}$',
        description:
          "Answer from this sending system's own view (GET /v1/views lists them); default the central view",
      }),
    ),
  },
  { additionalProperties: false },
);

export const BatchReply = Type.Object({
  results: Type.Array(
    Type.Object({
      phone: Type.String(),
      allowed: Type.Boolean(),
      status: Status,
      error: Type.Optional(Type.String()),
    }),
  ),
  asOf: Type.String(),
});

export const PhoneParams = Type.Object({ phone: Type.String({ minLength: 1, maxLength: 64 }) });

export const AuditQuery = Type.Object(
  { at: Type.Optional(Timestamp('Effective state as the ledger knew it at this time')) },
  { additionalProperties: false },
);

const LoggedEvent = Type.Object({}, { additionalProperties: true });

export const AuditReply = Type.Object({
  phone: Type.String(),
  at: Nullable(Type.String()),
  events: Type.Array(
    Type.Object({
      position: Type.String(),
      event: LoggedEvent,
      views: Type.Array(
        Type.Object({ view: Type.String(), applied: Type.Boolean(), appliedAt: Nullable(Type.String()) }),
      ),
    }),
  ),
  effective: Type.Array(
    Type.Object({
      brand: Nullable(Type.String()),
      program: Nullable(Type.String()),
      status: Status,
      allowed: Type.Boolean(),
      reason: Type.String(),
      since: Nullable(Type.String()),
      eventId: Nullable(Type.String()),
    }),
  ),
});

export const ViewsReply = Type.Object({
  views: Type.Array(
    Type.Object({
      name: Type.String(),
      kind: Type.String(),
      position: Type.String(),
      head: Type.String(),
      lag: Type.Object({ events: Type.Integer(), ms: Type.Integer() }),
      ready: Type.Boolean(),
      healthy: Type.Boolean(),
      lastError: Type.Optional(Type.String()),
      deadLetters: Type.Optional(
        Type.Integer({
          description: 'Webhook views: changes the receiver is owed (ledger deadletters list)',
        }),
      ),
    }),
  ),
});

/** The fields of Twilio's inbound-message webhook the ledger reads; Twilio sends many more, which pass. */
export const TwilioBody = Type.Object(
  {
    From: PhoneInput,
    To: Type.String({ minLength: 1, maxLength: 64, description: 'Our number or short code' }),
    Body: Type.String({ description: 'Any length: classified whole; the evidence keeps up to 4 KiB of it' }),
    MessageSid: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'Twilio retries repeat it: applied once' }),
    ),
    OptOutType: Type.Optional(
      Type.String({
        maxLength: 32,
        description:
          'STOP, START or HELP when Twilio (Advanced Opt-Out) acted on the keyword and answered the person',
      }),
    ),
  },
  { additionalProperties: true },
);

export const ViewParams = Type.Object(
  { name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,47}$' }) },
  { additionalProperties: false },
);

export const RebuildReply = Type.Object({
  view: Type.String(),
  state: literals(['replaying', 'switching', 'done', 'failed'] as const),
  applied: Type.Integer({ description: 'Records the new store has applied' }),
  target: Type.Integer({ description: 'Records the log held when the rebuild started' }),
  startedAt: Type.String(),
  finishedAt: Nullable(Type.String()),
  eventsPerSecond: Nullable(Type.Number()),
  error: Nullable(Type.String()),
});

export const ReconcileBody = Type.Object(
  {
    repair: Type.Optional(
      Type.Boolean({ description: 'Rewrite each differing phone from the fold of the log' }),
    ),
    view: Type.Optional(
      Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,47}$', description: 'Only this view' }),
    ),
  },
  { additionalProperties: false },
);

const RowState = Type.Object({
  status: Type.String(),
  allowed: Type.Boolean(),
  eventId: Nullable(Type.String()),
});

export const ReconcileReply = Type.Object({
  views: Type.Array(
    Type.Object({
      view: Type.String(),
      kind: Type.String(),
      compared: Type.Boolean(),
      phones: Type.Integer(),
      rows: Type.Integer(),
      differences: Type.Integer(),
      examples: Type.Array(
        Type.Object({
          phone: Type.String(),
          scope: Type.String(),
          problem: literals(['missing', 'unexpected', 'different'] as const),
          expected: Type.Optional(RowState),
          actual: Type.Optional(RowState),
          structure: Type.Optional(literals(['suppressed_set'] as const)),
        }),
      ),
      repaired: Type.Integer(),
      asOf: Type.String(),
      note: Type.Optional(Type.String()),
    }),
  ),
});

export const DeadLettersQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100_000, description: 'At most (default 1000)' }),
    ),
  },
  { additionalProperties: false },
);

export const DeadLettersReply = Type.Object({
  view: Type.String(),
  pending: Type.Integer({ description: 'Changes the receiver is owed' }),
  phones: Type.Integer({
    description: 'Phones they concern: checks for them through this view answer unknown',
  }),
  deadLetters: Type.Array(
    Type.Object({
      idempotencyKey: Type.String({ description: 'Sent again with the same key on replay' }),
      at: Type.String({ description: 'When it was last refused' }),
      attempts: Type.Integer(),
      status: Nullable(Type.Integer({ description: 'The last HTTP status, when the receiver answered' })),
      lastError: Type.String(),
      phone: Nullable(Type.String()),
      scope: Nullable(Type.String()),
      superseded: Type.Boolean({
        description: 'The log has moved this row on since: a replay retires it unsent',
      }),
      change: Nullable(
        Type.Object({}, { additionalProperties: true, description: 'The body that was POSTed' }),
      ),
    }),
  ),
});

export const ReplayReply = Type.Object({
  view: Type.String(),
  sent: Type.Integer({ description: 'Accepted this time, with their original idempotency keys' }),
  superseded: Type.Integer({ description: 'Not resent: a later push carries the state the log gives now' }),
  unsendable: Type.Integer({ description: 'Unreadable records without a phone: nothing to send, retired' }),
  failed: Type.Integer({ description: 'Refused again: still owed' }),
  remaining: Type.Integer({ description: 'Still owed after this replay' }),
  errors: Type.Array(Type.Object({ idempotencyKey: Type.String(), lastError: Type.String() })),
  stoppedEarly: Nullable(Type.String()),
});
