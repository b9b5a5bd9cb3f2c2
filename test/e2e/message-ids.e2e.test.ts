import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { E164, LedgerEvent } from '../../services/ledger/index.js';
import { cursorToken } from '../../services/log/index.js';
import {
  openInProcess,
  removeDir,
  runCli,
  startChild,
  tempDir,
  type InProcessLedger,
} from '../support/ledger-harness.js';

const FIRST = '+12015550131';
const SECOND = '+12015550132';
const OUR_NUMBER = '+15005550006';
const FORM = 'application/x-www-form-urlencoded';

interface Inbound {
  intent: string;
  eventId: string | null;
  position: string | null;
  reply: string | null;
  duplicate?: boolean;
}

interface Check {
  allowed: boolean;
  status: string;
}

describe('provider message ids are scoped to (provider, from-number); a reused id never drops a STOP', () => {
  let dir: string;
  let ledger: InProcessLedger;

  beforeEach(async () => {
    dir = tempDir();
    ledger = await openInProcess(dir, { LEDGER_READ_WAIT_MS: '2000' });
    await ledger.ledger.ready();
  });
  afterEach(async () => {
    await ledger.close();
    removeDir(dir);
  });

  const post = (url: string, payload: object) => ledger.app.inject({ method: 'POST', url, payload });
  const sms = async (from: string, body: string, messageId: string) => {
    const response = await post('/v1/inbound/sms', { from, to: '12345', body, messageId });
    return { status: response.statusCode, body: response.json<Inbound>() };
  };
  const twilio = (From: string, Body: string, MessageSid: string) =>
    ledger.app.inject({
      method: 'POST',
      url: '/v1/inbound/twilio',
      headers: { 'content-type': FORM },
      payload: new URLSearchParams({ From, To: OUR_NUMBER, Body, MessageSid }).toString(),
    });
  /** The check as a sender sees it once the view has applied everything on the log. */
  const check = async (phone: string): Promise<Check> => {
    const head = cursorToken(await ledger.ledger.log.head());
    const response = await ledger.app.inject({
      method: 'GET',
      url: `/v1/suppressions/${phone}?minPosition=${head}`,
    });
    return response.json<Check>();
  };
  const events = async (phone: string): Promise<LedgerEvent[]> => {
    const audit = await ledger.app.inject({ method: 'GET', url: `/v1/audit/${phone}` });
    expect(audit.statusCode).toBe(200);
    return audit.json<{ events: { event: LedgerEvent }[] }>().events.map((e) => e.event);
  };

  it('the same messageId from two numbers: both STOPs are recorded, both numbers suppressed', async () => {
    const first = await sms(FIRST, 'STOP', 'm-1');
    const second = await sms(SECOND, 'STOP', 'm-1');
    expect(first.status).toBe(200);
    expect(second).toMatchObject({ status: 200, body: { intent: 'opt_out', duplicate: false } });
    expect(second.body.eventId).toBe(`sms:inbound-sms:${SECOND}:m-1`);
    expect(second.body.position).not.toBe(first.body.position);
    expect(second.body.reply).toMatch(/unsubscribed/);
    expect(await check(SECOND)).toMatchObject({ allowed: false, status: 'opted_out' });
    expect((await events(SECOND)).map((e) => e.type)).toEqual(['OptOutRecorded', 'ConfirmationSent']);
  });

  it('START then STOP on one number under one id: the STOP is recorded and the number suppressed', async () => {
    const start = await sms(FIRST, 'START', 'm-2');
    expect(start.body.intent).toBe('opt_in');
    const stop = await sms(FIRST, 'STOP', 'm-2');
    expect(stop).toMatchObject({ status: 200, body: { intent: 'opt_out', duplicate: false } });
    expect(stop.body.eventId).not.toBe(start.body.eventId);
    expect(await check(FIRST)).toMatchObject({ allowed: false, status: 'opted_out' });
    const recorded = await events(FIRST);
    expect(recorded.map((e) => e.type)).toEqual(['OptInRecorded', 'OptOutRecorded', 'ConfirmationSent']);
    expect(recorded[1]?.evidence.note).toMatch(/message id m-2/);

    // The provider retries that STOP: the original STOP answers, nothing new is recorded.
    const retry = await sms(FIRST, 'STOP', 'm-2');
    expect(retry.body).toMatchObject({ duplicate: true, eventId: stop.body.eventId, reply: null });
    expect(await events(FIRST)).toHaveLength(3);
  });

  it('STOP then START under one id: the START is refused with 409 and the number stays suppressed', async () => {
    await sms(FIRST, 'STOP', 'm-3');
    const start = await post('/v1/inbound/sms', {
      from: FIRST,
      to: '12345',
      body: 'START',
      messageId: 'm-3',
    });
    expect(start.statusCode).toBe(409);
    expect(start.json()).toMatchObject({ error: 'event_id_conflict' });
    expect(await check(FIRST)).toMatchObject({ allowed: false, status: 'opted_out' });
  });

  it('a retried webhook is still answered with the original, once', async () => {
    const first = await sms(FIRST, 'STOP', 'm-4');
    const retry = await sms(FIRST, 'STOP', 'm-4');
    expect(retry.body).toMatchObject({
      duplicate: true,
      eventId: first.body.eventId,
      position: first.body.position,
      reply: null,
    });
    expect((await events(FIRST)).map((e) => e.type)).toEqual(['OptOutRecorded', 'ConfirmationSent']);
  });

  it('POST /v1/events refuses an id in the reply namespace, so it cannot take a reply’s place', async () => {
    const taken = await post('/v1/events', {
      type: 'opt_in',
      phone: FIRST,
      source: 'web_form',
      eventId: 'sms:m-5',
    });
    expect(taken.statusCode).toBe(400);
    expect(taken.json()).toMatchObject({ error: 'invalid_request' });
    expect(taken.json<{ message: string }>().message).toMatch(/reserved/);
    const stop = await sms(FIRST, 'STOP', 'm-5');
    expect(stop.body).toMatchObject({ intent: 'opt_out', duplicate: false });
    expect(await check(FIRST)).toMatchObject({ allowed: false, status: 'opted_out' });
  });

  it('the Twilio webhook: the same MessageSid from two numbers suppresses both', async () => {
    const first = await twilio(FIRST, 'STOP', 'SM-shared');
    const second = await twilio(SECOND, 'STOP', 'SM-shared');
    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    expect(second.body).toMatch(/<Message>[^<]*unsubscribed/);
    expect(await check(SECOND)).toMatchObject({ allowed: false, status: 'opted_out' });
    expect((await events(SECOND))[0]).toMatchObject({
      eventId: `sms:twilio:${SECOND}:SM-shared`,
      sourceSystem: 'twilio',
      evidence: { messageId: 'SM-shared' },
    });
  });

  it('an old record (id sms:<messageId>) still reads, and a retry of it is still a repeat', async () => {
    const old: LedgerEvent = {
      type: 'OptOutRecorded',
      eventId: 'sms:SM-old',
      phone: FIRST as E164,
      brand: 'default',
      scope: 'brand:default',
      occurredAt: Date.now() - 60_000,
      recordedAt: Date.now() - 60_000,
      source: 'sms_reply',
      sourceSystem: 'inbound-sms',
      channel: 'sms',
      evidence: { rawText: 'STOP', messageId: 'SM-old' },
    };
    const [appended] = await ledger.ledger.log.append([old]);
    const retry = await sms(FIRST, 'STOP', 'SM-old');
    expect(retry.body).toMatchObject({ duplicate: true, eventId: 'sms:SM-old', reply: null });
    expect(retry.body.position).toBe(`${appended?.partition}:${appended?.position}`);
    expect(await events(FIRST)).toHaveLength(1);
    // The same old id from another number is another reply.
    expect((await sms(SECOND, 'STOP', 'SM-old')).body).toMatchObject({ duplicate: false });
  });
});

describe('a reply over 2,000 characters is recorded, its text kept up to 4 KiB', () => {
  let dir: string;
  let ledger: InProcessLedger;

  beforeEach(async () => {
    dir = tempDir();
    ledger = await openInProcess(dir, { LEDGER_READ_WAIT_MS: '2000' });
    await ledger.ledger.ready();
  });
  afterEach(async () => {
    await ledger.close();
    removeDir(dir);
  });

  const rawTextOf = async (phone: string) => {
    const audit = await ledger.app.inject({ method: 'GET', url: `/v1/audit/${phone}` });
    return audit.json<{ events: { event: LedgerEvent }[] }>().events[0]?.event.evidence;
  };

  it('POST /v1/inbound/sms: a 3,000-character reply ending in STOP is an opt-out, its text kept whole', async () => {
    const body = `${'I never signed up for any of this and I am tired of it. '.repeat(53)}STOP`;
    expect(body.length).toBeGreaterThan(2000);
    const response = await ledger.app.inject({
      method: 'POST',
      url: '/v1/inbound/sms',
      payload: { from: FIRST, to: '12345', body, messageId: 'long-1' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ intent: 'opt_out' });
    expect(await rawTextOf(FIRST)).toMatchObject({ rawText: body });
  });

  it('POST /v1/inbound/twilio: a 50,000-character STOP is recorded, the text cut at 4 KiB with a marker', async () => {
    const Body = `STOP ${'x'.repeat(50_000)}`;
    const response = await ledger.app.inject({
      method: 'POST',
      url: '/v1/inbound/twilio',
      headers: { 'content-type': FORM },
      payload: new URLSearchParams({ From: SECOND, To: OUR_NUMBER, Body, MessageSid: 'SM-long' }).toString(),
    });
    expect(response.statusCode).toBe(200);
    const evidence = await rawTextOf(SECOND);
    expect(evidence?.rawText).toMatch(/…\[truncated\]$/);
    expect(Buffer.byteLength(evidence?.rawText ?? '')).toBeLessThanOrEqual(4096);
    expect(evidence?.note).toMatch(/^rawText truncated to 4096 bytes: the reply was 50005 characters/);
  });
});

describe('POST /v1/events: long evidence is kept up to 4 KiB a field, never a reason to refuse the opt-out', () => {
  it('an opt-out with a 10,000-character rawText and a 600-character user agent is recorded', async () => {
    const dir = tempDir();
    const ledger = await openInProcess(dir);
    try {
      await ledger.ledger.ready();
      const userAgent = `Mozilla/5.0 ${'(extension) '.repeat(50)}`;
      const recorded = await ledger.app.inject({
        method: 'POST',
        url: '/v1/events',
        payload: {
          type: 'opt_out',
          phone: FIRST,
          source: 'web_form',
          evidence: { rawText: 'x'.repeat(10_000), userAgent },
        },
      });
      expect(recorded.statusCode).toBe(201);
      const audit = await ledger.app.inject({ method: 'GET', url: `/v1/audit/${FIRST}` });
      const evidence = audit.json<{ events: { event: LedgerEvent }[] }>().events[0]?.event.evidence;
      expect(evidence?.userAgent).toBe(userAgent);
      expect(evidence?.rawText).toMatch(/…\[truncated\]$/);
      expect(evidence?.note).toMatch(/^rawText truncated to 4096 bytes/);
    } finally {
      await ledger.close();
      removeDir(dir);
    }
  });
});

describe('the built-in confirmation never names the sender by an internal brand id', () => {
  it('with no display name configured it uses neutral wording; with one, it names the brand', async () => {
    const dir = tempDir();
    const configFile = join(dir, 'brands.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        brands: { acme: { displayName: 'Acme Coffee' } },
        numbers: { '55501': { brand: 'acme' } },
      }),
    );
    const ledger = await openInProcess(join(dir, 'data'), { LEDGER_CONFIG_FILE: configFile });
    try {
      await ledger.ledger.ready();
      const stop = async (from: string, to: string) =>
        (
          await ledger.app.inject({
            method: 'POST',
            url: '/v1/inbound/sms',
            payload: { from, to, body: 'STOP' },
          })
        ).json<Inbound>().reply;
      const unbranded = await stop(FIRST, '12345');
      expect(unbranded).not.toMatch(/default/i);
      expect(unbranded).toMatch(/^You are unsubscribed and will receive no more messages/);
      expect(await stop(SECOND, '55501')).toMatch(/^Acme Coffee: You are unsubscribed/);
    } finally {
      await ledger.close();
      removeDir(dir);
    }
  });
});

describe('source names: call_center beside call_centre, any case, stored canonical', () => {
  let dir: string;
  let ledger: InProcessLedger;

  beforeEach(async () => {
    dir = tempDir();
    ledger = await openInProcess(dir);
    await ledger.ledger.ready();
  });
  afterEach(async () => {
    await ledger.close();
    removeDir(dir);
  });

  it.each([
    ['call_center', 'call_centre'],
    ['Call_Centre', 'call_centre'],
    ['SMS', 'sms_reply'],
    ['Web_Form', 'web_form'],
    ['CRM', 'crm'],
  ])('source %s is recorded as %s', async (given, canonical) => {
    const recorded = await ledger.app.inject({
      method: 'POST',
      url: '/v1/events',
      payload: { type: 'opt_out', phone: FIRST, source: given },
    });
    expect(recorded.statusCode).toBe(201);
    const audit = await ledger.app.inject({ method: 'GET', url: `/v1/audit/${FIRST}` });
    expect(audit.json<{ events: { event: LedgerEvent }[] }>().events[0]?.event.source).toBe(canonical);
  });

  it('an unknown source is refused with 400, naming the accepted ones', async () => {
    const refused = await ledger.app.inject({
      method: 'POST',
      url: '/v1/events',
      payload: { type: 'opt_out', phone: FIRST, source: 'carrier_pigeon' },
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ error: 'invalid_request' });
    expect(refused.json<{ message: string }>().message).toMatch(/call_centre/);
  });
});

describe('ledger record --source takes the same spellings', () => {
  it('--source Call_Center records call_centre; an unknown one is refused before any request', async () => {
    const dir = tempDir();
    const child = await startChild(dir);
    try {
      const env = { LEDGER_URL: child.url };
      const recorded = await runCli(
        ['record', '--type', 'opt_out', '--phone', FIRST, '--source', 'Call_Center'],
        env,
      );
      expect(recorded.code).toBe(0);
      const audit = await fetch(`${child.url}/v1/audit/${encodeURIComponent(FIRST)}`);
      expect(await audit.json()).toMatchObject({ events: [{ event: { source: 'call_centre' } }] });
      const refused = await runCli(['record', '--type', 'opt_out', '--phone', FIRST, '--source', 'fax'], env);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/source "fax" is not one we know/);
    } finally {
      await child.kill('SIGKILL');
      removeDir(dir);
    }
  }, 60_000);
});
