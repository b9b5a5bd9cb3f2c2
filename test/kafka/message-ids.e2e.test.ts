import { randomUUID } from 'node:crypto';
import {
  getJson,
  postJson,
  randomPhone,
  startKafkaChild,
  testBrokers,
  uniqueTopic,
  whenReady,
  type CheckAnswer,
  type KafkaChild,
} from '../support/kafka.js';

const brokers = testBrokers ?? [];
// needs a broker: make test starts one (infra/kafka/with-kafka.sh sets LEDGER_TEST_KAFKA_BROKERS)
const describeKafka = testBrokers !== undefined ? describe : describe.skip;

interface Inbound {
  intent: string;
  eventId: string | null;
  position: string | null;
  reply: string | null;
  duplicate: boolean;
}

describeKafka(
  'provider message ids on Kafka: scoped to (provider, from-number), a STOP never dropped',
  () => {
    let ledger: KafkaChild | undefined;

    beforeAll(async () => {
      ledger = await startKafkaChild(brokers, uniqueTopic('message-ids'));
      await whenReady(ledger.url);
    });
    afterAll(async () => {
      await ledger?.stop();
      ledger = undefined;
    });

    const sms = (from: string, body: string, messageId: string) =>
      postJson<Inbound>(`${ledger?.url}/v1/inbound/sms`, { from, to: '12345', body, messageId });
    /** Read-your-write: the check waits until the view has applied `position`. */
    const check = async (phone: string, position: string | null) => {
      const answer = await getJson<CheckAnswer>(
        `${ledger?.url}/v1/suppressions/${encodeURIComponent(phone)}?minPosition=${position ?? ''}`,
      );
      expect(answer.status).toBe(200);
      return answer.body;
    };

    it('the same messageId from two numbers: both STOPs are recorded and both numbers suppressed', async () => {
      const [first, second] = [randomPhone(), randomPhone()];
      const id = `m-${randomUUID()}`;
      const a = await sms(first, 'STOP', id);
      const b = await sms(second, 'STOP', id);
      expect(a.body).toMatchObject({ intent: 'opt_out', duplicate: false });
      expect(b).toMatchObject({
        status: 200,
        body: { intent: 'opt_out', duplicate: false, eventId: `sms:inbound-sms:${second}:${id}` },
      });
      expect(b.body.reply).toMatch(/unsubscribed/);
      expect(await check(second, b.body.position)).toMatchObject({ allowed: false, status: 'opted_out' });
      expect(await check(first, a.body.position)).toMatchObject({ allowed: false, status: 'opted_out' });
    });

    it('START then STOP under one id: the STOP is recorded, and its retry answers with the STOP', async () => {
      const phone = randomPhone();
      const id = `m-${randomUUID()}`;
      const start = await sms(phone, 'START', id);
      expect(start.body).toMatchObject({ intent: 'opt_in', duplicate: false });
      const stop = await sms(phone, 'STOP', id);
      expect(stop).toMatchObject({ status: 200, body: { intent: 'opt_out', duplicate: false } });
      expect(stop.body.eventId).not.toBe(start.body.eventId);
      expect(await check(phone, stop.body.position)).toMatchObject({ allowed: false, status: 'opted_out' });

      const retry = await sms(phone, 'STOP', id);
      expect(retry.body).toMatchObject({
        duplicate: true,
        eventId: stop.body.eventId,
        position: stop.body.position,
        reply: null,
      });
    });

    it('STOP then START under one id: the START is refused with 409 and the number stays suppressed', async () => {
      const phone = randomPhone();
      const id = `m-${randomUUID()}`;
      const stop = await sms(phone, 'STOP', id);
      const start = await postJson<{ error: string }>(`${ledger?.url}/v1/inbound/sms`, {
        from: phone,
        to: '12345',
        body: 'START',
        messageId: id,
      });
      expect(start).toMatchObject({ status: 409, body: { error: 'event_id_conflict' } });
      expect(await check(phone, stop.body.position)).toMatchObject({ allowed: false, status: 'opted_out' });
    });

    it('POST /v1/events refuses an id of the reply namespace', async () => {
      const refused = await postJson<{ error: string; message: string }>(`${ledger?.url}/v1/events`, {
        type: 'opt_in',
        phone: randomPhone(),
        source: 'web_form',
        eventId: `sms:${randomUUID()}`,
      });
      expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
      expect(refused.body.message).toMatch(/reserved/);
    });
  },
);
