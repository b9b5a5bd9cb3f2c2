export { openEmbeddedLedger, type Ledger, type LedgerClock } from './embedded.js';
