export {
  Gate,
  SystemGate,
  type CheckResult,
  type CheckStatus,
  type CheckQuery,
  type GateOptions,
} from './gate.js';
