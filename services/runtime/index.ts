// The composition root: a ledger's parts wired around the embedded log or a Kafka topic.
export { assembleLedger, type Ledger, type LedgerClock, type LedgerParts } from './ledger.js';
export { openEmbeddedLedger } from './embedded.js';
export { openKafkaLedger } from './kafka.js';
