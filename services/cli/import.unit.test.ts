import { importRecord } from './import.js';

const defaults = { type: 'opt_out' as const, source: 'import', fileTag: 'dnc.csv' };

describe('a row of an import file', () => {
  it('needs only a phone; the rest defaults, and the event id names the file and line', () => {
    expect(importRecord({ phone: ' (201) 555-0123 ' }, 7, defaults)).toEqual({
      type: 'opt_out',
      phone: '(201) 555-0123',
      source: 'import',
      eventId: 'import:dnc.csv:7',
    });
  });

  it('takes every column it knows', () => {
    expect(
      importRecord(
        {
          phone: '+12015550123',
          type: 'opt_in',
          brand: 'acme',
          program: 'alerts',
          scope: 'program',
          source: 'crm',
          sourceSystem: 'salesforce',
          occurredAt: '2026-01-31T12:00:00Z',
          eventId: 'sf-1',
          note: 'called in',
        },
        2,
        { ...defaults, brand: 'globex' },
      ),
    ).toEqual({
      type: 'opt_in',
      phone: '+12015550123',
      brand: 'acme',
      program: 'alerts',
      scope: 'program',
      source: 'crm',
      sourceSystem: 'salesforce',
      occurredAt: '2026-01-31T12:00:00.000Z',
      eventId: 'sf-1',
      evidence: { note: 'called in' },
    });
  });

  it('carries the proof of consent an opt-in row needs, one evidence column each', () => {
    expect(
      importRecord(
        { phone: '+12015550123', type: 'opt_in', consentReference: 'crm:consent/7', rawText: 'Yes, text me' },
        3,
        defaults,
      ),
    ).toMatchObject({ evidence: { consentReference: 'crm:consent/7', rawText: 'Yes, text me' } });
  });

  it.each([
    [{ phone: '' }, /phone is empty/],
    [{ phone: '+12015550123', type: 'stop' }, /type "stop" must be opt_out or opt_in/],
    [{ phone: '+12015550123', occurredAt: 'yesterday' }, /occurredAt "yesterday" is not an ISO 8601 time/],
    [{ phone: '+12015550123', mobile: 'x' }, /unknown column mobile/],
  ])('%j is refused, saying why', (row, message) => {
    expect(importRecord(row, 3, defaults)).toMatch(message);
  });
});
