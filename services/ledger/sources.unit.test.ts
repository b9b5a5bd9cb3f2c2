import { parseSource, SOURCES } from './events.js';
import { caught } from '../../test/support/caught.js';

describe('parseSource: the source a caller names → the canonical one on the log', () => {
  it('every canonical name is itself', () => {
    for (const source of SOURCES) expect(parseSource(source)).toBe(source);
  });

  it('call_center (US spelling) is call_centre', () => {
    expect(parseSource('call_center')).toBe('call_centre');
  });

  it.each([
    ['SMS', 'sms_reply'],
    ['sms', 'sms_reply'],
    ['SMS_Reply', 'sms_reply'],
    ['Web_Form', 'web_form'],
    ['WEB-FORM', 'web_form'],
    ['Call Center', 'call_centre'],
    ['CALL_CENTRE', 'call_centre'],
    [' crm ', 'crm'],
  ])('case, dashes and spaces do not matter: %s is %s', (given, canonical) => {
    expect(parseSource(given)).toBe(canonical);
  });

  it('anything else is invalid_request, listing the accepted names', () => {
    const error = caught(() => parseSource('carrier pigeon'));
    expect(error.code).toBe('invalid_request');
    expect(error.message).toContain('"carrier pigeon"');
    for (const source of SOURCES) expect(error.message).toContain(source);
    expect(error.message).toContain('call_center');
  });
});
