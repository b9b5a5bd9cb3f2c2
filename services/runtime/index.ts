export { assembleLedger, type Ledger, type LedgerClock, type LedgerParts } from './ledger.js';
export { openEmbeddedLedger } from './embedded.js';
export { openKafkaLedger } from './kafka.js';
export { Maintenance, type RebuildProgress, type ReconcileReport, type Difference } from './maintenance.js';
export { SystemEntry, createSystemView } from './systems.js';
export { exportLog, type ExportLine, type LogExport } from './export.js';
export { deadLetterView } from './dead-letters.js';
