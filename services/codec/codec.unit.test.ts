import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import type { LedgerEvent } from '../ledger/index.js';
import { caught } from '../../test/support/caught.js';
import { confirmation, optIn, optOut, suspected } from '../../test/support/given.js';
import { createEventCodec, frame, loadCatalogue, SCHEMAS_DIR, unframe } from './index.js';

const V2_DIR = join(process.cwd(), 'test/fixtures/schemas-v2');
const codec = createEventCodec(loadCatalogue());

const everyKind: readonly LedgerEvent[] = [
  optOut({ scope: 'brand:acme' }),
  optIn({ scope: 'program:acme/alerts' }),
  suspected({
    scope: 'global',
    evidence: { rawText: 'pls no more', confidence: 0.62, matchedRule: 'phrase:no_more' },
  }),
  confirmation({ scope: 'brand:acme' }),
  optOut({
    scope: 'brand:acme',
    evidence: {
      rawText: 'STOP',
      matchedRule: 'keyword:stop',
      confidence: 1,
      language: 'en',
      messageId: 'SM1',
      to: '12345',
      agentId: 'agent-7',
      formUrl: 'https://acme.example/prefs',
      ip: '203.0.113.9',
      userAgent: 'Mozilla/5.0',
      note: 'called in',
    },
  }),
];

describe('the event codec (Avro, Confluent wire format)', () => {
  it.each(everyKind.map((event) => [event.type, event] as const))(
    'round-trips %s unchanged',
    (_type, event) => {
      expect(codec.decode(codec.encode(event))).toEqual(event);
    },
  );

  it('frames each record as magic byte 0 + the 4-byte big-endian schema id', () => {
    const bytes = codec.encode(optOut());
    expect([...bytes.subarray(0, 5)]).toEqual([0, 0, 0, 0, 1]);
    expect(unframe(bytes).schemaId).toBe(1);
  });

  it('reads a record that another system encoded from schemas/ledger-event.v1.avsc with plain avsc', () => {
    const type = avro.Type.forSchema(
      JSON.parse(readFileSync(join(SCHEMAS_DIR, 'ledger-event.v1.avsc'), 'utf8')) as avro.Schema,
    );
    const record = {
      eventId: 'crm-1',
      type: 'OptOutRecorded',
      phone: '+12015550123',
      brand: 'acme',
      program: null,
      scope: 'brand:acme',
      occurredAt: 1_700_000_000_000,
      recordedAt: 1_700_000_000_500,
      source: 'crm',
      sourceSystem: 'salesforce',
      channel: 'api',
      evidence: { note: 'from the CRM' },
      confirms: null,
      text: null,
    };
    const decoded = codec.decode(frame(1, type.toBuffer(record)));
    expect(decoded).toMatchObject({
      eventId: 'crm-1',
      type: 'OptOutRecorded',
      evidence: { note: 'from the CRM' },
    });
    expect(decoded).not.toHaveProperty('program');
  });

  describe('schema evolution', () => {
    const v2 = createEventCodec(loadCatalogue(V2_DIR));

    it('a v2 reader reads v1 records (the new field takes its default)', () => {
      for (const event of everyKind) expect(v2.decode(codec.encode(event))).toEqual(event);
    });

    it('a v2 writer frames its records with id 2, and reads them back', () => {
      const bytes = v2.encode(optOut());
      expect(unframe(bytes).schemaId).toBe(2);
      expect(v2.decode(bytes)).toEqual(optOut());
    });

    it('a v1 reader refuses a v2 record by name of the unknown id, rather than misreading it', () => {
      const error = caught(() => codec.decode(v2.encode(optOut())));
      expect(error.code).toBe('undecodable_record');
      expect(error.message).toMatch(/schema id 2.*does not know/);
    });
  });

  describe('what cannot be decoded says why', () => {
    it.each([
      ['a wrong magic byte', Buffer.from([1, 0, 0, 0, 1, 2, 3]), /magic byte 0/],
      ['a record shorter than the header', Buffer.from([0, 0, 0]), /shorter than the 5-byte header/],
      ['an unknown schema id', frame(99, Buffer.from([1, 2, 3])), /schema id 99/],
      ['bytes that are not Avro', frame(1, Buffer.from('definitely not avro')), /not valid Avro/],
      ['an empty record', Buffer.alloc(0), /shorter than/],
    ])('%s', (_name, bytes, message) => {
      const error = caught(() => codec.decode(bytes));
      expect(error.code).toBe('undecodable_record');
      expect(error.message).toMatch(message);
    });

    it.each([
      ['phone', { phone: '2015550123' }, /phone "2015550123" is not E.164/],
      ['scope', { scope: 'brand:' }, /scope/],
      ['source', { source: 'pigeon' }, /source "pigeon" is unknown/],
      ['channel', { channel: 'fax' }, /channel "fax" is unknown/],
    ])('a record with a bad %s, produced by another system', (_field, change, message) => {
      const type = loadCatalogue().types.get(1);
      const good = type?.fromBuffer(unframe(codec.encode(optOut())).payload) as Record<string, unknown>;
      const bytes = frame(1, (type as avro.Type).toBuffer({ ...good, ...change }));
      const error = caught(() => codec.decode(bytes));
      expect(error.code).toBe('undecodable_record');
      expect(error.message).toMatch(message);
    });
  });
});
