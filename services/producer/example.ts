#!/usr/bin/env node
/**
 * Records one opt-out straight onto the ledger's Kafka topic, as a CRM or call-centre system would:
 *
 *   LEDGER_KAFKA_BROKERS=127.0.0.1:9092 node dist/services/producer/example.js "+1 201 555 0123" acme
 *
 * Prints the eventId and the position token; a gate check with ?minPosition=<token> reads the write.
 */
import { LedgerProducer } from './index.js';

const [phone = '+12015550123', brand = 'default'] = process.argv.slice(2);
const brokers = (process.env.LEDGER_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const producer = await LedgerProducer.connect({
  brokers,
  sourceSystem: 'producer-example',
  ...(process.env.LEDGER_TOPIC && { topic: process.env.LEDGER_TOPIC }),
});
try {
  const produced = await producer.record({
    type: 'opt_out',
    phone,
    brand,
    source: 'crm',
    evidence: { note: 'recorded by the producer example' },
  });
  process.stdout.write(`${JSON.stringify(produced)}\n`);
} finally {
  await producer.close();
}
