// The sending systems' views as a process runs them: each view's store, runner and gate (systems.ts),
// and the operations on them: rebuild and reconcile (maintenance.ts), dead letters (dead-letters.ts).
export { SystemEntry, assembleSystems, createSystemView, startSystem, type SystemHooks } from './systems.js';
export { Maintenance, type RebuildProgress, type ReconcileReport, type Difference } from './maintenance.js';
export { deadLetterView } from './dead-letters.js';
