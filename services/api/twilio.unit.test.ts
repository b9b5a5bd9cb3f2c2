import twilio from 'twilio';
import { escapeXml, isTwilioSignatureValid, twilioSignature, twiml, type FormParams } from './twilio.js';

const TOKEN = '12345678901234567890123456789012';
const URL = 'https://ledger.example.com/v1/inbound/twilio';

describe('twilioSignature computes what Twilio signs', () => {
  it.each<[string, string, FormParams]>([
    ['no parameters', URL, {}],
    [
      'an inbound SMS',
      URL,
      {
        AccountSid: 'AC00000000000000000000000000000000',
        Body: 'STOP',
        From: '+12015550123',
        MessageSid: 'SM00000000000000000000000000000000',
        NumMedia: '0',
        OptOutType: 'STOP',
        To: '+15005550006',
      },
    ],
    ['names sorted case-sensitively', URL, { b: '1', B: '2', a: '3', _x: '4', A10: '5', A9: '6' }],
    ['form-encoding characters', URL, { Body: 'a&b=c+d %20 ? # / \\', 'Weird Name&=': 'x' }],
    ['non-ASCII text', URL, { Body: 'ARRÊT 🛑 停止 Ｓｔｏｐ', From: '+33612345678' }],
    ['empty values', URL, { Body: '', ToCity: '' }],
    ['a query string in the URL', `${URL}?brand=acme&x=1`, { Body: 'STOP' }],
    ['a port in the URL', 'https://ledger.example.com:8443/v1/inbound/twilio', { Body: 'STOP' }],
    ['a repeated name', URL, { MediaUrl: ['https://b.example/2', 'https://a.example/1'], Body: 'hi' }],
    ['a repeated name with a repeated value', URL, { Tag: ['x', 'y', 'x'] }],
  ])('for %s', (_name, url, params) => {
    expect(twilioSignature(TOKEN, url, params)).toBe(twilio.getExpectedTwilioSignature(TOKEN, url, params));
  });

  it('depends on the token, the URL and every parameter', () => {
    const params = { Body: 'STOP', From: '+12015550123' };
    const base = twilioSignature(TOKEN, URL, params);
    expect(twilioSignature(`${TOKEN}x`, URL, params)).not.toBe(base);
    expect(twilioSignature(TOKEN, `${URL}/`, params)).not.toBe(base);
    expect(twilioSignature(TOKEN, URL, { ...params, Body: 'STOP ' })).not.toBe(base);
    expect(twilioSignature(TOKEN, URL, { ...params, Extra: '' })).not.toBe(base);
  });
});

describe('isTwilioSignatureValid', () => {
  const params = { Body: 'STOP', From: '+12015550123', To: '+15005550006' };

  it.each([
    ['as signed', URL, URL],
    [
      'signed without the default port, received with it',
      URL,
      'https://ledger.example.com:443/v1/inbound/twilio',
    ],
    [
      'signed with the default port, received without it',
      'https://ledger.example.com:443/v1/inbound/twilio',
      URL,
    ],
    [
      'signed without a port, received with another',
      'http://ledger.test/hook',
      'http://ledger.test:8080/hook',
    ],
    ['signed with a query string', `${URL}?a=1`, `${URL}?a=1`],
  ])('accepts a signature %s, as twilio.validateRequest does', (_name, signedUrl, receivedUrl) => {
    const signature = twilio.getExpectedTwilioSignature(TOKEN, signedUrl, params);
    expect(twilio.validateRequest(TOKEN, signature, receivedUrl, params)).toBe(true);
    expect(isTwilioSignatureValid(TOKEN, signature, receivedUrl, params)).toBe(true);
  });

  it.each([
    ['for another host', 'https://other.example.com/v1/inbound/twilio', URL],
    ['for another path', 'https://ledger.example.com/v1/inbound/sms', URL],
    ['for another scheme', 'http://ledger.example.com/v1/inbound/twilio', URL],
    ['without the query string', URL, `${URL}?a=1`],
  ])('refuses a signature made %s', (_name, signedUrl, receivedUrl) => {
    const signature = twilio.getExpectedTwilioSignature(TOKEN, signedUrl, params);
    expect(isTwilioSignatureValid(TOKEN, signature, receivedUrl, params)).toBe(false);
  });

  it('refuses a signature over other parameters, or with another token, or that is not one', () => {
    const signature = twilio.getExpectedTwilioSignature(TOKEN, URL, params);
    expect(isTwilioSignatureValid(TOKEN, signature, URL, { ...params, Body: 'START' })).toBe(false);
    expect(isTwilioSignatureValid(`${TOKEN}0`, signature, URL, params)).toBe(false);
    expect(isTwilioSignatureValid(TOKEN, signature.slice(0, -1), URL, params)).toBe(false);
    expect(isTwilioSignatureValid(TOKEN, `${signature}=`, URL, params)).toBe(false);
    expect(isTwilioSignatureValid(TOKEN, '', URL, params)).toBe(false);
  });
});

describe('TwiML', () => {
  it('answers a reply as one message, and nothing as an empty response', () => {
    expect(twiml('Acme: bye')).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Acme: bye</Message></Response>',
    );
    expect(twiml(null)).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
  });

  it('escapes markup and drops what XML cannot carry', () => {
    expect(escapeXml(`a & b < c > d "e" 'f'`)).toBe('a &amp; b &lt; c &gt; d &quot;e&quot; &apos;f&apos;');
    expect(escapeXml('&amp;')).toBe('&amp;amp;');
    expect(escapeXml('bell\u0007 nul\u0000 tab\t line\n 🛑 \uFFFE')).toBe('bell nul tab\t line\n 🛑 ');
  });
});
