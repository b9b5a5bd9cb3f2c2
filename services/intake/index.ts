export {
  Intake,
  type IntakeDeps,
  type InboundRequest,
  type InboundResult,
  type ProviderIntent,
  type RecordAnswer,
  type RecordedFact,
} from './intake.js';
export {
  decideRecord,
  decideInbound,
  sameFact,
  MAX_FUTURE_SKEW_MS,
  type RecordConsent,
  type BrandPolicy,
  type InboundMessage,
  type InboundDecision,
} from './decide.js';
export {
  policyFor,
  routeInbound,
  DEFAULT_TEMPLATES,
  type BrandDirectory,
  type BrandSettings,
  type NumberRoute,
} from './brands.js';
export { checkConfirmation } from './templates.js';
