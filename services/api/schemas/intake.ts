import { Type } from '@sinclair/typebox';
import { CHANNELS, SOURCES } from '../../ledger/index.js';
import { literals, Timestamp, Nullable, Name, PhoneInput, Evidence } from './common.js';

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
