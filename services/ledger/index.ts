export { LedgerError, ErrorCodes, type ErrorCode } from './errors.js';
export { parsePhone, memoisedPhoneParser, isE164, type E164, type Region } from './phone.js';
export {
  scopeKey,
  coveringScopes,
  scopeTarget,
  covers,
  isScopeKey,
  assertName,
  NAME_PATTERN,
  SCOPE_WIDTHS,
  type ScopeKey,
  type ScopeWidth,
} from './scope.js';
export * from './events.js';
export * from './fold.js';
export { CONSENT_EVIDENCE, assertConsentEvidence } from './consent.js';
