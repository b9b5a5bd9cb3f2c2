/** Stable error codes: clients branch on these, so they never change meaning. */
export const ErrorCodes = [
  'invalid_phone',
  'invalid_request',
  'invalid_scope',
  'consent_evidence_required',
  'invalid_config',
  'unauthorized',
  'forbidden',
  'not_found',
  'event_id_conflict',
  'review_decided',
  'payload_too_large',
  'unsupported_media_type',
  'undecodable_record',
  'rate_limited',
  'unavailable',
  'internal',
] as const;
export type ErrorCode = (typeof ErrorCodes)[number];

export class LedgerError extends Error {
  override readonly name = 'LedgerError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
