export { LedgerProducer, type LedgerProducerOptions, type ConsentRecord, type Produced } from './producer.js';
