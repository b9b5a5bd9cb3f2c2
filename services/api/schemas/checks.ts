import { Type } from '@sinclair/typebox';
import { literals, Timestamp, Nullable, Name, PhoneInput } from './common.js';

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
