import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import { describeEventLogContract } from '../support/event-log-contract.js';
import { openKafkaLog, testBrokers } from '../support/kafka.js';

/** One prefix per run: a long-lived broker may hold the topics of earlier runs. */
const RUN = randomUUID().slice(0, 8);

if (testBrokers === undefined) {
  // needs a broker: make test starts one (infra/kafka/with-kafka.sh sets LEDGER_TEST_KAFKA_BROKERS)
  describe.skip('EventLog contract: Kafka', () => {
    it('runs against a broker', () => undefined);
  });
} else {
  const brokers = testBrokers;
  // The topic follows from the test's dir, so reopening the same dir reopens the same topic.
  describeEventLogContract('Kafka (3 partitions)', (dir) =>
    openKafkaLog(brokers, `contract-${RUN}-${basename(dir)}`, { partitions: 3 }),
  );
}
