export {
  Intake,
  type IntakeDeps,
  type InboundRequest,
  type InboundResult,
  type ProviderIntent,
  type RecordAnswer,
  type RecordedFact,
  type ReviewAnswer,
} from './intake.js';
export type { IntakeReads, QueuedReview } from './reads.js';
export {
  HttpGateway,
  GatewayError,
  type OutboundGateway,
  type OutboundMessage,
  type Sent,
} from './outbound.js';
export {
  decideRecord,
  decideInbound,
  sameFact,
  decideReview,
  type ReviewCommand,
  type ReviewDecision,
  MAX_FUTURE_SKEW_MS,
  MAX_RAW_TEXT_BYTES,
  RESERVED_ID_PREFIXES,
  replyEventId,
  legacyReplyEventId,
  type RecordConsent,
  type BrandPolicy,
  type InboundMessage,
  type InboundDecision,
} from './decide.js';
export {
  policyFor,
  routeInbound,
  DEFAULT_TEMPLATES,
  NEUTRAL_TEMPLATES,
  type BrandDirectory,
  type BrandSettings,
  type NumberRoute,
} from './brands.js';
export { checkConfirmation } from './templates.js';
