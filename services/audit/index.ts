export {
  auditPhone,
  type AuditReport,
  type AuditedEvent,
  type ScopeState,
  type ViewProgress,
} from './audit.js';
export { projectionHistory } from './source.js';
