import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LedgerEvent } from '../../services/ledger/index.js';
import { eventually } from '../support/eventually.js';
import { openInProcess, removeDir, tempDir, type InProcessLedger } from '../support/ledger-harness.js';

const PHONE = '+12015550123';
/** Replies a careful reader cannot call a revocation or not; the test uses the first one classified review. */
const AMBIGUOUS = ['enough', 'not interested', 'too many texts', 'no'];

interface ReviewEntry {
  id: string;
  phone: string;
  scope: string;
  text: string | null;
  status: string;
  reviewer: string | null;
  note: string | null;
  position: string;
}

type Inject = (
  method: 'GET' | 'POST',
  url: string,
  payload?: unknown,
) => Promise<{ statusCode: number; json: <T>() => T }>;

function injector(ledger: InProcessLedger): Inject {
  return async (method, url, payload) => {
    const response = await ledger.app.inject({
      method,
      url,
      ...(payload !== undefined && { payload: payload as object }),
    });
    return { statusCode: response.statusCode, json: <T>() => response.json<T>() };
  };
}

async function ambiguousReply(inject: Inject): Promise<string> {
  for (const text of AMBIGUOUS) {
    const { intent } = (await inject('POST', '/v1/classify', { text })).json<{ intent: string }>();
    if (intent === 'review') return text;
  }
  throw new Error(
    `none of ${AMBIGUOUS.join(', ')} is classified review any more: pick another ambiguous reply`,
  );
}

async function check(inject: Inject, minPosition?: string) {
  const query = `brand=acme${minPosition === undefined ? '' : `&minPosition=${minPosition}`}`;
  return (await inject('GET', `/v1/suppressions/${PHONE}?${query}`)).json<{
    allowed: boolean;
    status: string;
  }>();
}

describe('the review queue: suspected opt-outs suppress at once and wait for a person', () => {
  let dir: string;
  let ledger: InProcessLedger;
  let inject: Inject;

  beforeEach(async () => {
    dir = tempDir();
    ledger = await openInProcess(dir);
    await ledger.ledger.ready();
    inject = injector(ledger);
  });
  afterEach(async () => {
    await ledger.close();
    removeDir(dir);
  });

  async function suspect(messageId = 'SM-R1'): Promise<{ id: string; text: string }> {
    const text = await ambiguousReply(inject);
    const inbound = await inject('POST', '/v1/inbound/sms', {
      from: PHONE,
      to: '12345',
      body: text,
      messageId,
      brand: 'acme',
    });
    const body = inbound.json<{ intent: string; eventId: string; position: string; reply: string | null }>();
    expect(body).toMatchObject({ intent: 'review', reply: null });
    expect(await check(inject, body.position)).toMatchObject({ allowed: false, status: 'pending_review' });
    return { id: body.eventId, text };
  }

  it('lists the suspected opt-out; confirm makes it an opt-out, recorded on the log', async () => {
    const { id, text } = await suspect();
    const queue = (await inject('GET', '/v1/reviews')).json<{ reviews: ReviewEntry[]; total: number }>();
    expect(queue.total).toBe(1);
    expect(queue.reviews[0]).toMatchObject({
      id,
      phone: PHONE,
      scope: 'brand:acme',
      text,
      status: 'pending',
    });

    const decided = await inject('POST', `/v1/reviews/${id}`, {
      decision: 'confirm',
      reviewer: 'ana',
      note: 'means stop',
    });
    expect(decided.statusCode).toBe(201);
    const answer = decided.json<{
      outcome: string;
      eventId: string;
      position: string;
      duplicate: boolean;
      confirmation: null;
    }>();
    expect(answer).toMatchObject({
      outcome: 'confirmed',
      eventId: `review:${id}`,
      duplicate: false,
      confirmation: null,
    });
    expect(await check(inject, answer.position)).toMatchObject({ allowed: false, status: 'opted_out' });

    expect((await inject('GET', '/v1/reviews')).json<{ total: number }>().total).toBe(0);
    const done = (await inject('GET', '/v1/reviews?status=decided')).json<{ reviews: ReviewEntry[] }>();
    expect(done.reviews).toEqual([
      // The actor is who the server knows (no keys: local); the typed name stays beside it.
      expect.objectContaining({
        id,
        status: 'confirmed',
        reviewer: 'ana',
        actor: 'local',
        note: 'means stop',
      }),
    ]);

    const audit = (await inject('GET', `/v1/audit/${PHONE}`)).json<{ events: { event: LedgerEvent }[] }>();
    expect(audit.events.map((e) => e.event.type)).toEqual(['OptOutSuspected', 'ReviewResolved']);
    expect(audit.events[1]?.event).toMatchObject({
      resolves: id,
      outcome: 'confirmed',
      evidence: { agentId: 'ana', actor: 'local' },
      actor: 'local',
    });
  });

  it('dismiss lifts the suppression it caused, and nothing else', async () => {
    await inject('POST', '/v1/events', { type: 'opt_out', phone: PHONE, brand: 'globex', source: 'crm' });
    const { id } = await suspect();
    const decided = await inject('POST', `/v1/reviews/${id}`, { decision: 'dismiss', reviewer: 'ana' });
    expect(decided.statusCode).toBe(201);
    const { position } = decided.json<{ position: string }>();
    expect(await check(inject, position)).toMatchObject({ allowed: true, status: 'no_record' });
    const globex = (await inject('GET', `/v1/suppressions/${PHONE}?brand=globex`)).json<{
      allowed: boolean;
    }>();
    expect(globex.allowed).toBe(false);
  });

  it('a repeated decision answers with the original; a contrary one is refused; an unknown id is 404', async () => {
    const { id } = await suspect();
    const first = await inject('POST', `/v1/reviews/${id}`, { decision: 'dismiss' });
    const again = await inject('POST', `/v1/reviews/${id}`, { decision: 'dismiss' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ ...first.json<object>(), duplicate: true });
    const contrary = await inject('POST', `/v1/reviews/${id}`, { decision: 'confirm' });
    expect(contrary.statusCode).toBe(409);
    expect(contrary.json<{ error: string; message: string }>()).toMatchObject({ error: 'review_decided' });
    expect(contrary.json<{ message: string }>().message).toMatch(/already dismissed/);
    const unknown = await inject('POST', '/v1/reviews/sms:nope', { decision: 'confirm' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json<{ error: string }>().error).toBe('not_found');
    const bad = await inject('POST', `/v1/reviews/${id}`, { decision: 'maybe' });
    expect(bad.statusCode).toBe(400);
    const audit = (await inject('GET', `/v1/audit/${PHONE}`)).json<{ events: unknown[] }>();
    expect(audit.events).toHaveLength(2);
  });

  it('a hard STOP after a suspected one is confirmed once, and the review stays open for the record', async () => {
    const { id } = await suspect();
    const stop = await inject('POST', '/v1/inbound/sms', {
      from: PHONE,
      to: '12345',
      body: 'STOP',
      messageId: 'SM-R2',
      brand: 'acme',
    });
    expect(stop.json<{ reply: string | null; confirmation: string | null }>()).toMatchObject({
      confirmation: 'reply',
    });
    expect(stop.json<{ reply: string | null }>().reply).toMatch(/unsubscribed/);
    const queue = (await inject('GET', '/v1/reviews')).json<{ reviews: ReviewEntry[] }>();
    expect(queue.reviews.map((r) => r.id)).toEqual([id]);
    // Dismissing the ambiguous reply cannot lift the STOP that followed it.
    const decided = await inject('POST', `/v1/reviews/${id}`, { decision: 'dismiss' });
    expect(await check(inject, decided.json<{ position: string }>().position)).toMatchObject({
      allowed: false,
      status: 'opted_out',
    });
  });
});

interface Received {
  headers: IncomingHttpHeaders;
  body: { to: string; from: string | null; brand: string; text: string; idempotencyKey: string };
}

/** An SMS provider's send endpoint on loopback: answers `statuses` in turn, then 202. */
async function fakeGateway(
  statuses: number[] = [],
): Promise<{ url: string; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const queue = [...statuses];
  const server: Server = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      received.push({ headers: request.headers, body: JSON.parse(raw) as Received['body'] });
      const status = queue.shift() ?? 202;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify(status < 300 ? { sid: `SMout${received.length}` } : { error: 'try later' }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/send`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('confirmations through an outbound gateway', () => {
  let dir: string;
  let ledger: InProcessLedger | undefined;
  let gateway: Awaited<ReturnType<typeof fakeGateway>> | undefined;

  afterEach(async () => {
    await ledger?.close();
    await gateway?.close();
    removeDir(dir);
  });

  async function open(statuses: number[]): Promise<Inject> {
    dir = tempDir();
    gateway = await fakeGateway(statuses);
    ledger = await openInProcess(dir, { LEDGER_OUTBOUND_URL: gateway.url, LEDGER_OUTBOUND_TOKEN: 'secret' });
    await ledger.ledger.ready();
    return injector(ledger);
  }

  const events = async (inject: Inject) =>
    (await inject('GET', `/v1/audit/${PHONE}`))
      .json<{ events: { event: LedgerEvent }[] }>()
      .events.map((e) => e.event);

  it('sends one confirmation through the gateway, retried with one idempotency key, then records it', async () => {
    const inject = await open([503, 503]);
    const stop = await inject('POST', '/v1/inbound/sms', {
      from: PHONE,
      to: '12345',
      body: 'Stop please',
      messageId: 'SM-G1',
    });
    expect(stop.json()).toMatchObject({ intent: 'opt_out', reply: null, confirmation: 'gateway' });
    await eventually(
      async () =>
        expect((await events(inject)).map((e) => e.type)).toEqual(['OptOutRecorded', 'ConfirmationSent']),
      { timeoutMs: 15_000 },
    );
    const received = gateway?.received ?? [];
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => r.headers['idempotency-key']))).toEqual(
      new Set([`sms:inbound-sms:${PHONE}:SM-G1:confirmation`]),
    );
    expect(received[0]?.headers.authorization).toBe('Bearer secret');
    expect(received[0]?.body).toMatchObject({
      to: PHONE,
      from: '12345',
      text: expect.stringMatching(/unsubscribed/) as string,
    });
    const recorded = (await events(inject))[1];
    expect(recorded).toMatchObject({
      type: 'ConfirmationSent',
      confirms: `sms:inbound-sms:${PHONE}:SM-G1`,
      evidence: { messageId: 'SMout3' },
    });
    expect(recorded?.evidence.note).toMatch(/HTTP 202 after 3 attempt/);

    // A second STOP is no new transition: nothing more is sent.
    const again = await inject('POST', '/v1/inbound/sms', {
      from: PHONE,
      to: '12345',
      body: 'STOP',
      messageId: 'SM-G2',
    });
    expect(again.json()).toMatchObject({ reply: null, confirmation: null });
    await ledger?.ledger.intake.drain();
    expect(gateway?.received).toHaveLength(3);
  });

  it('a gateway that refuses the message: nothing recorded as sent, the failure counted', async () => {
    const inject = await open([400]);
    await inject('POST', '/v1/inbound/sms', { from: PHONE, to: '12345', body: 'STOP', messageId: 'SM-G3' });
    await ledger?.ledger.intake.drain();
    expect(gateway?.received).toHaveLength(1);
    expect((await events(inject)).map((e) => e.type)).toEqual(['OptOutRecorded']);
    const metrics = (await ledger?.app.inject({ method: 'GET', url: '/metrics' }))?.body;
    expect(metrics).toMatch(/ledger_confirmations_total\{outcome="failed"\} 1/);
  });

  it('a confirmed review within five minutes is confirmed through the gateway', async () => {
    const inject = await open([]);
    const text = await ambiguousReply(inject);
    const inbound = await inject('POST', '/v1/inbound/sms', {
      from: PHONE,
      to: '12345',
      body: text,
      messageId: 'SM-G4',
    });
    const id = inbound.json<{ eventId: string }>().eventId;
    await ledger?.ledger.intake.drain();
    expect(gateway?.received).toHaveLength(0);
    const decided = await inject('POST', `/v1/reviews/${id}`, { decision: 'confirm', reviewer: 'ana' });
    expect(decided.json()).toMatchObject({ outcome: 'confirmed', confirmation: 'gateway' });
    await ledger?.ledger.intake.drain();
    expect(gateway?.received.map((r) => r.headers['idempotency-key'])).toEqual([`${id}:confirmation`]);
    expect((await events(inject)).map((e) => e.type)).toEqual([
      'OptOutSuspected',
      'ReviewResolved',
      'ConfirmationSent',
    ]);
  });
});
