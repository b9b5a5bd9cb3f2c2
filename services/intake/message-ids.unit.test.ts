import { classifyReply } from '../classifier/index.js';
import { asPosition, evolve, type E164, type LedgerEvent, type PhoneHistory } from '../ledger/index.js';
import { BRAND, PHONE, T0, given, optIn, optOut, suspected } from '../../test/support/given.js';
import { caught } from '../../test/support/caught.js';
import {
  decideInbound,
  decideRecord,
  legacyReplyEventId,
  MAX_RAW_TEXT_BYTES,
  replyEventId,
  type BrandPolicy,
  type InboundMessage,
} from './decide.js';

const NOW = T0 + 60 * 60_000;
const OTHER = '+12015550132' as E164;

const POLICY: BrandPolicy = {
  displayName: 'Acme',
  optOutScope: 'brand',
  confirmation: '{brand}: You are unsubscribed and will receive no more messages.',
  optInReply: '{brand}: subscribed again.',
  helpReply: '{brand}: help.',
};

function message(body: string, fields: Partial<InboundMessage> = {}): InboundMessage {
  return {
    from: PHONE,
    to: '+12015550100',
    body,
    brand: BRAND,
    messageId: 'm-1',
    receivedAt: NOW - 1_000,
    sourceSystem: 'twilio',
    actor: 'local',
    ...fields,
  };
}

let n = 0;
const newId = () => `fresh-${++n}`;

function decide(body: string, history: PhoneHistory = given().history, fields: Partial<InboundMessage> = {}) {
  return decideInbound(message(body, fields), classifyReply(body), history, POLICY, { now: NOW, newId });
}

/** The phone's history after the events a decision recorded, at the positions the log would give. */
function after(history: PhoneHistory, events: readonly LedgerEvent[]): PhoneHistory {
  const last = history[history.length - 1]?.position ?? 0;
  return events.reduce((h, event, i) => evolve(h, { position: asPosition(last + i + 1), event }), history);
}

describe('a reply’s event id is scoped to its provider and the number it came from', () => {
  it('the id names provider, number and message id', () => {
    expect(replyEventId('twilio', PHONE, 'SM1')).toBe(`sms:twilio:${PHONE}:SM1`);
    expect(decide('STOP').events[0]?.eventId).toBe(`sms:twilio:${PHONE}:m-1`);
  });

  it('a message id of any text gives an id of safe characters, one per message id', () => {
    const odd = ['a:b', 'a%3ab', 'a/b?c#d', 'nul\u0000', 'lone\uD800', 'emoji😀', 'space d'];
    const ids = odd.map((id) => replyEventId('inbound-sms', PHONE, id));
    expect(new Set(ids).size).toBe(odd.length);
    for (const id of ids) expect(id).toMatch(/^sms:inbound-sms:\+12015550123:[A-Za-z0-9._~%-]+$/);
    expect(replyEventId('twilio', PHONE, 'SM0123456789abcdef0123456789abcdef')).toBe(
      `sms:twilio:${PHONE}:SM0123456789abcdef0123456789abcdef`,
    );
  });

  it('the same message id from another number is another reply: recorded, not taken for a repeat', () => {
    const first = decide('STOP');
    const fromOther = decide('STOP', given().history, { from: OTHER });
    expect(fromOther.events[0]).toMatchObject({ type: 'OptOutRecorded', phone: OTHER });
    expect(fromOther.events[0]?.eventId).not.toBe(first.events[0]?.eventId);
  });

  it('the same message id from another provider is another reply', () => {
    expect(decide('STOP', given().history, { sourceSystem: 'inbound-sms' }).events[0]?.eventId).toBe(
      `sms:inbound-sms:${PHONE}:m-1`,
    );
  });
});

describe('a repeated message id: a retry is answered with the original, a different reply is never lost', () => {
  it('a retry of a recorded STOP (same fact, still in force) records nothing and names the original', () => {
    const first = decide('STOP');
    const history = after(given().history, first.events);
    const retry = decide('STOP', history);
    expect(retry.events).toEqual([]);
    expect(retry.reply).toBeNull();
    expect(retry.repeat).toMatchObject({ eventId: first.events[0]?.eventId, kind: 'out' });
  });

  it('a retry of a recorded START records nothing', () => {
    const first = decide('START');
    const retry = decide('START', after(given().history, first.events));
    expect(retry.events).toEqual([]);
    expect(retry.repeat).toMatchObject({ eventId: first.events[0]?.eventId, kind: 'in' });
  });

  it('START then STOP under one message id: the STOP is recorded under an id of its own and confirmed', () => {
    const start = decide('START');
    const stop = decide('STOP', after(given().history, start.events));
    expect(stop.repeat).toBeUndefined();
    const [out, confirmation] = stop.events;
    expect(out).toMatchObject({ type: 'OptOutRecorded', phone: PHONE, scope: 'brand:acme' });
    expect(out?.eventId).toMatch(new RegExp(`^sms:twilio:\\${PHONE}:m-1:fresh-\\d+$`));
    expect(out?.evidence.note).toMatch(/message id m-1 .*OptInRecorded/);
    expect(confirmation).toMatchObject({ type: 'ConfirmationSent', confirms: out?.eventId });
    expect(stop.reply).toMatch(/unsubscribed/);
  });

  it('a retry of that STOP is then a repeat of the STOP, not of the START', () => {
    const start = decide('START');
    const stop = decide('STOP', after(given().history, start.events));
    const history = after(after(given().history, start.events), stop.events);
    const retry = decide('STOP', history);
    expect(retry.events).toEqual([]);
    expect(retry.repeat).toMatchObject({ eventId: stop.events[0]?.eventId, kind: 'out' });
  });

  it('STOP then START under one message id: the START is refused with event_id_conflict (the opt-out stands)', () => {
    const stop = decide('STOP');
    const error = caught(() => decide('START', after(given().history, stop.events)));
    expect(error.code).toBe('event_id_conflict');
    expect(error.message).toMatch(/m-1/);
  });

  it('a reused id whose STOP an opt-in has since lifted: the new STOP is recorded again, not swallowed', () => {
    const stop = decide('STOP');
    const history = after(after(given().history, stop.events), [
      optIn({ eventId: 'sms:twilio:+12015550123:m-2', occurredAt: NOW - 500, recordedAt: NOW - 500 }),
    ]);
    const again = decide('STOP', history);
    expect(again.repeat).toBeUndefined();
    expect(again.events[0]).toMatchObject({ type: 'OptOutRecorded', scope: 'brand:acme' });
    expect(again.events[0]?.eventId).not.toBe(stop.events[0]?.eventId);
  });

  it('a suspected opt-out under an id a START used is recorded too (it suppresses until reviewed)', () => {
    const start = decide('START');
    const unsure = decideInbound(
      message('enough'),
      { ...classifyReply('enough'), intent: 'review' },
      after(given().history, start.events),
      POLICY,
      { now: NOW, newId },
    );
    expect(unsure.events[0]).toMatchObject({ type: 'OptOutSuspected' });
    expect(unsure.events[0]?.eventId).toMatch(/^sms:twilio:.*:m-1:fresh-\d+$/);
  });

  it('the id has no bearing across numbers: a STOP from another number is not a repeat of this one', () => {
    const history = given(optOut({ eventId: replyEventId('twilio', OTHER, 'm-1'), phone: OTHER })).history;
    expect(decide('STOP', history).repeat).toBeUndefined();
  });
});

describe('old records (id sms:<messageId>) still read and still dedupe', () => {
  it('legacyReplyEventId is the old shape', () => {
    expect(legacyReplyEventId('SM1')).toBe('sms:SM1');
  });

  it('a retry of a STOP recorded under the old id, for this number, is a repeat', () => {
    const history = given(optOut({ eventId: 'sms:m-1', occurredAt: NOW - 2_000 })).history;
    const retry = decide('STOP', history);
    expect(retry.events).toEqual([]);
    expect(retry.repeat).toMatchObject({ eventId: 'sms:m-1' });
  });

  it('a STOP whose id an old record holds for a different fact is recorded under its own id', () => {
    const history = given(optIn({ eventId: 'sms:m-1', occurredAt: NOW - 2_000 })).history;
    const stop = decide('STOP', history);
    expect(stop.events[0]).toMatchObject({ type: 'OptOutRecorded' });
    expect(stop.events[0]?.eventId).toMatch(/:m-1:fresh-\d+$/);
  });

  it('a suspected opt-out already recorded (and reviewed) under the old id is a repeat when retried', () => {
    const history = given(suspected({ eventId: 'sms:m-1', occurredAt: NOW - 2_000 })).history;
    const retry = decideInbound(
      message('enough'),
      { ...classifyReply('enough'), intent: 'review' },
      history,
      POLICY,
      { now: NOW, newId },
    );
    expect(retry.events).toEqual([]);
    expect(retry.repeat).toMatchObject({ eventId: 'sms:m-1' });
  });
});

describe('ids of the reply namespace are intake’s own', () => {
  const record = (eventId: string) =>
    decideRecord(
      { type: 'opt_out', phone: PHONE, brand: BRAND, source: 'api', eventId, actor: 'local' },
      { now: NOW, newId },
    );

  it.each(['sms:SM1', 'SMS:SM1', 'review:sms:SM1'])('POST /v1/events may not use %s', (eventId) => {
    const error = caught(() => record(eventId));
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(/reserved/);
  });

  it('other ids are the caller’s', () => {
    expect(record('crm-42:sms:1').eventId).toBe('crm-42:sms:1');
  });
});

describe('a long reply is recorded, its text kept up to a limit', () => {
  it('a STOP at the end of a 3,000-character reply is an opt-out with the text kept whole', () => {
    const body = `${'I have thought about it and '.repeat(107)}please STOP`;
    expect(body.length).toBeGreaterThan(2000);
    const { events } = decide(body);
    expect(events[0]).toMatchObject({ type: 'OptOutRecorded', evidence: { rawText: body } });
    expect(events[0]?.evidence.note).toBeUndefined();
  });

  it(`beyond ${MAX_RAW_TEXT_BYTES} bytes the text is cut with a marker and the evidence says so`, () => {
    const body = `STOP ${'x'.repeat(100_000)}`;
    const { events } = decide(body);
    const evidence = events[0]?.evidence;
    expect(events[0]?.type).toBe('OptOutRecorded');
    expect(Buffer.byteLength(evidence?.rawText ?? '')).toBeLessThanOrEqual(MAX_RAW_TEXT_BYTES);
    expect(evidence?.rawText).toMatch(/^STOP x+…\[truncated\]$/);
    expect(evidence?.note).toBe(
      `rawText truncated to ${MAX_RAW_TEXT_BYTES} bytes: the reply was 100005 characters (100005 bytes of UTF-8)`,
    );
  });

  it('the cut never splits a character: no lone surrogate from an emoji at the limit', () => {
    const body = `STOP ${'😀'.repeat(MAX_RAW_TEXT_BYTES)}`;
    const rawText = decide(body).events[0]?.evidence.rawText ?? '';
    expect(rawText).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    expect(Buffer.byteLength(rawText)).toBeLessThanOrEqual(MAX_RAW_TEXT_BYTES);
  });
});

describe('evidence sent to POST /v1/events is kept the same way: a long text is cut, never refused', () => {
  const record = (evidence: Record<string, string>) =>
    decideRecord(
      { type: 'opt_out', phone: PHONE, brand: BRAND, source: 'web_form', evidence, actor: 'local' },
      { now: NOW, newId },
    ).evidence;

  it('short evidence is kept as it is', () => {
    const evidence = { rawText: 'stop', note: 'asked on the form', userAgent: 'Mozilla/5.0' };
    expect(record(evidence)).toEqual({ ...evidence, actor: 'local' });
  });

  it('a long user agent and raw text are cut at 4 KiB each, the note (kept) says so', () => {
    const evidence = record({ rawText: 'r'.repeat(10_000), userAgent: 'u'.repeat(5_000), note: 'form' });
    expect(evidence.rawText).toMatch(/^r+…\[truncated\]$/);
    expect(Buffer.byteLength(evidence.rawText ?? '')).toBeLessThanOrEqual(MAX_RAW_TEXT_BYTES);
    expect(evidence.userAgent).toMatch(/^u+…\[truncated\]$/);
    expect(evidence.note).toBe(
      `form; rawText truncated to ${MAX_RAW_TEXT_BYTES} bytes: it was 10000 characters (10000 bytes of UTF-8); userAgent truncated to ${MAX_RAW_TEXT_BYTES} bytes: it was 5000 characters (5000 bytes of UTF-8)`,
    );
  });
});
