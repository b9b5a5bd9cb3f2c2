import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import twilio from 'twilio';
import { buildApp } from '../../services/api/index.js';
import { loadConfig } from '../../services/config/index.js';
import type { LedgerEvent } from '../../services/ledger/index.js';
import { cursorToken } from '../../services/log/index.js';
import { openEmbeddedLedger } from '../../services/runtime/index.js';
import { openInProcess, removeDir, tempDir, type InProcessLedger } from '../support/ledger-harness.js';

const PHONE = '+12015550123';
const OUR_NUMBER = '+15005550006';
const AUTH_TOKEN = '12345678901234567890123456789012';
const PUBLIC_URL = 'https://ledger.example.com';
const WEBHOOK_URL = `${PUBLIC_URL}/v1/inbound/twilio`;
const FORM = 'application/x-www-form-urlencoded';
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';
const EMPTY_TWIML = `${XML_DECLARATION}<Response/>`;

type Params = Record<string, string>;

/** What Twilio posts for an inbound SMS, fields we ignore included. */
function inboundSms(fields: Params): Params {
  return {
    ToCountry: 'US',
    ToState: 'CA',
    SmsMessageSid: fields.MessageSid ?? 'SM00000000000000000000000000000000',
    NumMedia: '0',
    ToCity: '',
    FromZip: '07030',
    SmsSid: fields.MessageSid ?? 'SM00000000000000000000000000000000',
    FromState: 'NJ',
    SmsStatus: 'received',
    FromCity: 'HOBOKEN',
    FromCountry: 'US',
    To: OUR_NUMBER,
    NumSegments: '1',
    MessagingServiceSid: 'MG00000000000000000000000000000000',
    AccountSid: 'AC00000000000000000000000000000000',
    From: PHONE,
    ApiVersion: '2010-04-01',
    ...fields,
  };
}

const signed = (params: Params, url = WEBHOOK_URL, token = AUTH_TOKEN): string =>
  twilio.getExpectedTwilioSignature(token, url, params);

interface LoggedEvent {
  event: LedgerEvent;
}

describe('POST /v1/inbound/twilio with TWILIO_AUTH_TOKEN set', () => {
  let dir: string;
  let ledger: InProcessLedger;

  beforeEach(async () => {
    dir = tempDir();
    ledger = await openInProcess(dir, {
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      LEDGER_PUBLIC_URL: PUBLIC_URL,
      LEDGER_READ_WAIT_MS: '2000',
    });
    await ledger.ledger.ready();
  });
  afterEach(async () => {
    await ledger.close();
    removeDir(dir);
  });

  /** Posts the webhook as Twilio would: signed, unless told to send another signature or (null) none. */
  const webhook = (params: Params, signature: string | null = signed(params)) =>
    ledger.app.inject({
      method: 'POST',
      url: '/v1/inbound/twilio',
      headers: { 'content-type': FORM, ...(signature !== null && { 'x-twilio-signature': signature }) },
      payload: new URLSearchParams(params).toString(),
    });
  const events = async (phone = PHONE): Promise<LedgerEvent[]> => {
    const audit = await ledger.app.inject({ method: 'GET', url: `/v1/audit/${phone}` });
    expect(audit.statusCode).toBe(200);
    return audit.json<{ events: LoggedEvent[] }>().events.map((e) => e.event);
  };
  const types = async (phone = PHONE) => (await events(phone)).map((e) => e.type);
  /** The check as a sender sees it once the view has applied everything on the log. */
  const check = async (phone = PHONE) => {
    const head = cursorToken(await ledger.ledger.log.head());
    const response = await ledger.app.inject({
      method: 'GET',
      url: `/v1/suppressions/${phone}?minPosition=${head}`,
    });
    return response.json<{ allowed: boolean; status: string }>();
  };

  it('records a signed STOP, confirms it once in TwiML, and suppresses the number', async () => {
    const first = await webhook(inboundSms({ Body: 'STOP', MessageSid: 'SM-stop-1' }));
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toMatch(/^text\/xml/);
    expect(first.body.startsWith(`${XML_DECLARATION}<Response><Message>`)).toBe(true);
    expect(first.body.match(/<Message>/g)).toHaveLength(1);
    expect(first.body).toMatch(/<Message>[^<]*unsubscribed[^<]*<\/Message><\/Response>$/);
    expect(await check()).toMatchObject({ allowed: false, status: 'opted_out' });
    const recorded = await events();
    expect(recorded.map((e) => e.type)).toEqual(['OptOutRecorded', 'ConfirmationSent']);
    expect(recorded[0]).toMatchObject({
      eventId: `sms:twilio:${PHONE}:SM-stop-1`,
      sourceSystem: 'twilio',
      source: 'sms_reply',
      evidence: { rawText: 'STOP', messageId: 'SM-stop-1', to: OUR_NUMBER },
    });

    const second = await webhook(inboundSms({ Body: 'STOP', MessageSid: 'SM-stop-2' }));
    expect(second.statusCode).toBe(200);
    expect(second.body).toBe(EMPTY_TWIML);
    expect(await types()).toEqual(['OptOutRecorded', 'ConfirmationSent', 'OptOutRecorded']);
  });

  it('catches "Stop please" (which Twilio\'s exact-word rule lets through): suppressed, one confirmation in TwiML and on the log', async () => {
    const first = await webhook(inboundSms({ Body: 'Stop please', MessageSid: 'SM-polite-1' }));
    expect(first.statusCode).toBe(200);
    expect(first.body.match(/<Message>/g)).toHaveLength(1);
    expect(await check()).toMatchObject({ allowed: false, status: 'opted_out' });
    expect(await types()).toEqual(['OptOutRecorded', 'ConfirmationSent']);
    const recorded = await events();
    expect(recorded[0]).toMatchObject({
      evidence: { rawText: 'Stop please', matchedRule: 'keyword:stop+filler' },
    });

    const again = await webhook(inboundSms({ Body: 'STOP', MessageSid: 'SM-polite-2' }));
    expect(again.body).toBe(EMPTY_TWIML);
    expect(await types()).toEqual(['OptOutRecorded', 'ConfirmationSent', 'OptOutRecorded']);
  });

  it('applies a retried webhook (same MessageSid) once, without a second confirmation', async () => {
    const params = inboundSms({ Body: 'stop', MessageSid: 'SM-retried' });
    const first = await webhook(params);
    const retry = await webhook(params);
    expect(first.body).toMatch(/<Message>/);
    expect(retry.statusCode).toBe(200);
    expect(retry.body).toBe(EMPTY_TWIML);
    expect(await types()).toEqual(['OptOutRecorded', 'ConfirmationSent']);
  });

  it.each([
    ['signed with another token', (p: Params) => signed(p, WEBHOOK_URL, 'another-token-0000000000000000')],
    ['signed for another URL', (p: Params) => signed(p, 'https://evil.example.com/v1/inbound/twilio')],
    ['signed over another body', (p: Params) => signed({ ...p, Body: 'hello' })],
    ['signed without a field Twilio sent', (p: Params) => signed({ ...p, NumMedia: '1' })],
    ['not base64 at all', () => 'not a signature'],
    ['empty', () => ''],
  ])('refuses a signature %s with 403 and records nothing', async (_name, signatureFor) => {
    const params = inboundSms({ Body: 'STOP', MessageSid: 'SM-forged' });
    const response = await webhook(params, signatureFor(params));
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ error: 'forbidden' });
    expect(response.json<{ message: string }>().message).toMatch(/X-Twilio-Signature/);
    expect(await ledger.ledger.log.head()).toEqual([0]);
  });

  it('refuses a request without a signature with 403 and records nothing', async () => {
    const response = await webhook(inboundSms({ Body: 'STOP' }), null);
    expect(response.statusCode).toBe(403);
    expect(response.json()).toEqual({
      error: 'forbidden',
      message: 'X-Twilio-Signature is missing: only Twilio may call this route',
    });
    expect(await ledger.ledger.log.head()).toEqual([0]);
  });

  it('refuses an unsigned request before looking at its body', async () => {
    const response = await webhook({ Body: 'STOP' }, null);
    expect(response.statusCode).toBe(403);
  });

  it('records the opt-out Twilio acted on (OptOutType=STOP) without a confirmation of its own', async () => {
    const response = await webhook(
      inboundSms({ Body: 'Stop please', OptOutType: 'STOP', MessageSid: 'SM-aoo-1' }),
    );
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe(EMPTY_TWIML);
    expect(await check()).toMatchObject({ allowed: false, status: 'opted_out' });
    const recorded = await events();
    expect(recorded.map((e) => e.type)).toEqual(['OptOutRecorded']);
    expect(recorded[0]).toMatchObject({ sourceSystem: 'twilio', evidence: { rawText: 'Stop please' } });
  });

  it('takes OptOutType as the intent when the words alone would not say it', async () => {
    const response = await webhook(
      inboundSms({ Body: 'please take me off this', OptOutType: 'STOP', MessageSid: 'SM-aoo-2' }),
    );
    expect(response.body).toBe(EMPTY_TWIML);
    const recorded = await events();
    expect(recorded.map((e) => e.type)).toEqual(['OptOutRecorded']);
    expect(recorded[0]?.evidence).toMatchObject({ matchedRule: 'provider:opt_out' });
  });

  it('records the opt-in Twilio acted on (OptOutType=START), answering nothing itself', async () => {
    await webhook(inboundSms({ Body: 'STOP', OptOutType: 'STOP', MessageSid: 'SM-aoo-3' }));
    expect(await check()).toMatchObject({ allowed: false, status: 'opted_out' });
    const start = await webhook(
      inboundSms({ Body: 'Start again please', OptOutType: 'START', MessageSid: 'SM-aoo-4' }),
    );
    expect(start.statusCode).toBe(200);
    expect(start.body).toBe(EMPTY_TWIML);
    expect(await check()).toMatchObject({ allowed: true, status: 'opted_in' });
    expect(await types()).toEqual(['OptOutRecorded', 'OptInRecorded']);
  });

  it('leaves HELP to Twilio when it answered it (OptOutType=HELP), and answers it otherwise', async () => {
    const handled = await webhook(inboundSms({ Body: 'HELP', OptOutType: 'HELP' }));
    expect(handled.body).toBe(EMPTY_TWIML);
    const ours = await webhook(inboundSms({ Body: 'HELP' }));
    expect(ours.body).toMatch(/<Message>[^<]*Reply STOP to unsubscribe[^<]*<\/Message>/);
    expect(await ledger.ledger.log.head()).toEqual([0]);
  });

  it('answers a signed request it cannot use with the JSON error shape, recording nothing', async () => {
    const badPhone = await webhook(inboundSms({ From: 'not-a-number', Body: 'STOP' }));
    expect(badPhone.statusCode).toBe(400);
    expect(badPhone.headers['content-type']).toMatch(/^application\/json/);
    expect(badPhone.json()).toMatchObject({ error: 'invalid_phone' });
    const params = inboundSms({ Body: 'STOP' });
    delete params.From;
    const missing = await webhook(params);
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toEqual({ error: 'invalid_request', message: 'body: From is required' });
    expect(await ledger.ledger.log.head()).toEqual([0]);
  });

  it('takes form bodies only, and form bodies only here', async () => {
    const json = await ledger.app.inject({
      method: 'POST',
      url: '/v1/inbound/twilio',
      headers: { 'x-twilio-signature': signed({}) },
      payload: { From: PHONE, To: OUR_NUMBER, Body: 'STOP' },
    });
    expect(json.statusCode).toBe(415);
    expect(json.json()).toEqual({
      error: 'unsupported_media_type',
      message: 'send the body as application/x-www-form-urlencoded',
    });
    for (const url of ['/v1/events', '/v1/inbound/sms', '/v1/suppressions/check']) {
      const form = await ledger.app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': FORM },
        payload: new URLSearchParams({ type: 'opt_out', phone: PHONE, source: 'api' }).toString(),
      });
      expect(form.statusCode).toBe(415);
      expect(form.json()).toEqual({
        error: 'unsupported_media_type',
        message: 'send the body as application/json',
      });
    }
    expect(await ledger.ledger.log.head()).toEqual([0]);
  });

  it('is documented in the OpenAPI description', async () => {
    const openapi = (await ledger.app.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, { post?: { requestBody?: { content?: Record<string, unknown> } } }>;
    }>();
    expect(Object.keys(openapi.paths['/v1/inbound/twilio']?.post?.requestBody?.content ?? {})).toEqual([
      FORM,
    ]);
  });
});

describe('POST /v1/inbound/twilio without LEDGER_PUBLIC_URL', () => {
  it('checks the signature against the URL the request names (protocol and Host)', async () => {
    const dir = tempDir();
    const ledger = await openInProcess(dir, { TWILIO_AUTH_TOKEN: AUTH_TOKEN });
    try {
      await ledger.ledger.ready();
      const params = inboundSms({ Body: 'STOP', MessageSid: 'SM-host' });
      const post = (signature: string) =>
        ledger.app.inject({
          method: 'POST',
          url: '/v1/inbound/twilio',
          headers: { host: 'ledger.internal:8080', 'content-type': FORM, 'x-twilio-signature': signature },
          payload: new URLSearchParams(params).toString(),
        });
      const wrongHost = await post(signed(params, 'http://ledger.example.com/v1/inbound/twilio'));
      expect(wrongHost.statusCode).toBe(403);
      expect(wrongHost.json<{ message: string }>().message).toMatch(
        /http:\/\/ledger\.internal:8080\/v1\/inbound\/twilio/,
      );
      const right = await post(signed(params, 'http://ledger.internal:8080/v1/inbound/twilio'));
      expect(right.statusCode).toBe(200);
      expect(right.body).toMatch(/<Message>/);
    } finally {
      await ledger.close();
      removeDir(dir);
    }
  });
});

describe('POST /v1/inbound/twilio without TWILIO_AUTH_TOKEN', () => {
  it('accepts unsigned requests, and says so once at startup', async () => {
    const dir = tempDir();
    const lines: string[] = [];
    const ledger = openEmbeddedLedger(loadConfig({ LEDGER_DATA_DIR: dir }));
    const app = await buildApp(ledger, {
      logger: { level: 'warn', stream: { write: (line: string) => void lines.push(line) } },
    });
    ledger.start();
    try {
      await ledger.ready();
      const response = await app.inject({
        method: 'POST',
        url: '/v1/inbound/twilio',
        headers: { 'content-type': FORM },
        payload: new URLSearchParams(inboundSms({ Body: 'STOP', MessageSid: 'SM-unsigned' })).toString(),
      });
      expect(response.statusCode).toBe(200);
      expect(response.body).toMatch(/<Message>[^<]*unsubscribed/);
      expect(await ledger.log.head()).toEqual([2]);
      await app.inject({
        method: 'POST',
        url: '/v1/inbound/twilio',
        headers: { 'content-type': FORM },
        payload: new URLSearchParams(inboundSms({ Body: 'STOP', MessageSid: 'SM-unsigned-2' })).toString(),
      });
      const warnings = lines.filter((line) => line.includes('TWILIO_AUTH_TOKEN is not set'));
      expect(warnings).toHaveLength(1);
    } finally {
      await app.close();
      await ledger.close();
      removeDir(dir);
    }
  });
});

describe('the TwiML answer', () => {
  it('escapes the reply: a brand template with & < > " \' stays one well-formed message', async () => {
    const dir = tempDir();
    const configFile = join(dir, 'brands.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        brands: {
          acme: {
            displayName: 'Smith & Sons <Deli>',
            // Every character XML must escape, in a template that is still a bare confirmation.
            confirmation: `{brand}: you're unsubscribed & will get no more messages. Texts > 0? Never "again" <b>.`,
          },
        },
        numbers: { [OUR_NUMBER]: { brand: 'acme' } },
      }),
    );
    const ledger = await openInProcess(join(dir, 'data'), { LEDGER_CONFIG_FILE: configFile });
    try {
      await ledger.ledger.ready();
      const response = await ledger.app.inject({
        method: 'POST',
        url: '/v1/inbound/twilio',
        headers: { 'content-type': FORM },
        payload: new URLSearchParams(inboundSms({ Body: 'STOP' })).toString(),
      });
      expect(response.statusCode).toBe(200);
      expect(response.body).toBe(
        `${XML_DECLARATION}<Response><Message>` +
          'Smith &amp; Sons &lt;Deli&gt;: you&apos;re unsubscribed &amp; will get no more messages. Texts &gt; 0? Never &quot;again&quot; &lt;b&gt;.' +
          '</Message></Response>',
      );
    } finally {
      await ledger.close();
      removeDir(dir);
    }
  });
});
