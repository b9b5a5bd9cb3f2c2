import { importRecord, type ImportDefaults } from './import.js';

const defaults: ImportDefaults = { type: 'opt_out', source: 'import' };
const idOf = (row: Record<string, string>, given = defaults): string => {
  const record = importRecord(row, given);
  if (typeof record === 'string') throw new Error(record);
  return record.eventId;
};

describe('a row of an import file', () => {
  it('needs only a phone; the rest defaults, and the event id is derived from what the row says', () => {
    expect(importRecord({ phone: ' (201) 555-0123 ' }, defaults)).toEqual({
      type: 'opt_out',
      phone: '(201) 555-0123',
      source: 'import',
      eventId: expect.stringMatching(/^import:[0-9a-f]{32}$/) as string,
    });
  });

  it('gets the same event id wherever the same row stands, so re-running an import records nothing twice', () => {
    const row = { phone: '+12015550123', brand: 'acme', note: 'called in' };
    expect(idOf(row)).toBe(idOf({ note: 'called in', brand: 'acme', phone: '+12015550123' }));
    expect(idOf({ ...row, phone: ' +12015550123 ' })).toBe(idOf(row));
  });

  // A file with another file's name once reused its ids line by line: the ledger refused the rows as
  // conflicts (409) and the numbers in them stayed allowed.
  it('gets another event id for a different row at the same line', () => {
    const row = { phone: '+12015550123', brand: 'acme' };
    for (const changed of [
      { ...row, phone: '+12015550124' },
      { ...row, brand: 'globex' },
      { ...row, type: 'opt_in' },
      { ...row, program: 'alerts' },
      { ...row, scope: 'global' },
      { ...row, source: 'crm' },
      { ...row, sourceSystem: 'salesforce' },
      { ...row, occurredAt: '2026-01-31T12:00:00Z' },
      { ...row, note: 'x' },
    ]) {
      expect(idOf(changed)).not.toBe(idOf(row));
    }
    expect(idOf({ phone: '+12015550123' }, { ...defaults, brand: 'acme' })).not.toBe(
      idOf({ phone: '+12015550123' }),
    );
  });

  it('does not confuse values that run into each other', () => {
    expect(idOf({ phone: '+12015550123', brand: 'ab', program: 'c' })).not.toBe(
      idOf({ phone: '+12015550123', brand: 'a', program: 'bc' }),
    );
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
    expect(importRecord(row, defaults)).toMatch(message);
  });
});
