import { Type, type TSchema } from '@sinclair/typebox';

/** A string enum; `enum` (not a union of literals) so a wrong value gets a message listing the right ones. */
export const literals = <T extends string>(values: readonly T[], description?: string) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...(description !== undefined && { description }) });

const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
export const Name = (description: string) => Type.String({ pattern: NAME_PATTERN, description });
export const PhoneInput = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'Any common spelling of a number: E.164 (+14155550123), national ((415) 555-0123) or tel: URI',
});
export const Timestamp = (description: string) => Type.String({ format: 'date-time', description });
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'Stable error code' }),
    message: Type.String({ description: 'What to fix' }),
  },
  { $id: 'Error' },
);

/** Text from the outside world: any length is taken, and the event keeps up to 4 KiB of it (cut with a marker). */
export const FreeText = Type.String({
  description: 'Any length; kept up to 4 KiB, cut with a marker beyond',
});

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
