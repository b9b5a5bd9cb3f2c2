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

/**
 * Codes whose failure may pass by itself (a store, the log or a receiver down, a limit reached): trying
 * again later can succeed. Every other code names something trying again will not change — invalid
 * input or settings, a refusal, a bug.
 */
const RETRIABLE_CODES: ReadonlySet<ErrorCode> = new Set(['unavailable', 'rate_limited']);

export class LedgerError extends Error {
  override readonly name = 'LedgerError';
  /** Private (not an own enumerable property): errors still compare and serialise as before. */
  readonly #retriable: boolean | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; retriable?: boolean },
  ) {
    // Error reads only `cause` from the options.
    super(message, options);
    this.#retriable = options?.retriable;
  }

  /**
   * Whether trying the same thing again may succeed: from the code, unless the thrower knew better
   * (an HTTP 503 from a receiver is retriable whatever code it is reported under).
   */
  get retriable(): boolean {
    return this.#retriable ?? RETRIABLE_CODES.has(this.code);
  }
}
