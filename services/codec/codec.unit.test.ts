import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import type { LedgerEvent } from '../ledger/index.js';
import { caught } from '../../test/support/caught.js';
import { confirmation, optIn, optOut, reviewed, suspected } from '../../test/support/given.js';
import { createEventCodec, frame, loadCatalogue, SCHEMAS_DIR, unframe } from './index.js';

const V1_DIR = join(process.cwd(), 'test/fixtures/schemas-v1');
const V2_DIR = join(process.cwd(), 'test/fixtures/schemas-v2');
const V4_DIR = join(process.cwd(), 'test/fixtures/schemas-v4');
const codec = createEventCodec(loadCatalogue());

const everyKind: readonly LedgerEvent[] = [
  optOut({ scope: 'brand:acme' }),
  optIn({ scope: 'program:acme/alerts' }),
  suspected({
    scope: 'global',
    evidence: { rawText: 'pls no more', confidence: 0.62, matchedRule: 'phrase:no_more' },
  }),
  confirmation({ scope: 'brand:acme' }),
  reviewed({
    scope: 'brand:acme',
    resolves: 'sms:SM9',
    outcome: 'dismissed',
    evidence: { agentId: 'rev-1' },
  }),
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
    expect([...bytes.subarray(0, 5)]).toEqual([0, 0, 0, 0, 3]);
    expect(unframe(bytes).schemaId).toBe(3);
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
    const v1 = createEventCodec(loadCatalogue(V1_DIR));
    const v2 = createEventCodec(loadCatalogue(V2_DIR));
    const v4 = createEventCodec(loadCatalogue(V4_DIR));
    const v1Kinds = everyKind.filter((event) => event.type !== 'ReviewResolved');

    it('the current reader (v3) reads what a v1 ledger wrote', () => {
      for (const event of v1Kinds) {
        const bytes = v1.encode(event);
        expect(unframe(bytes).schemaId).toBe(1);
        expect(codec.decode(bytes)).toEqual(event);
      }
    });

    it('the current reader (v3) reads what a v2 ledger wrote: no actor, shown as unknown', () => {
      for (const event of everyKind) {
        const bytes = v2.encode(event);
        expect(unframe(bytes).schemaId).toBe(2);
        const decoded = codec.decode(bytes);
        expect(decoded).toEqual(event);
        expect(decoded.evidence.actor).toBeUndefined();
      }
    });

    it('the current writer (v3) carries who recorded the event and the proof of consent', () => {
      const event = optIn({
        source: 'call_centre',
        evidence: { actor: 'key-crm', agentId: 'agent-7', callReference: 'call-42', consentReference: 'c-9' },
      });
      const bytes = codec.encode(event);
      expect(unframe(bytes).schemaId).toBe(3);
      expect(codec.decode(bytes)).toEqual(event);
    });

    it('a v2 reader meeting a v3 record refuses it by the unknown id rather than drop the actor', () => {
      expect(caught(() => v2.decode(codec.encode(optOut()))).message).toMatch(/schema id 3.*does not know/);
    });

    it('a v4 reader reads v1, v2 and v3 records (the new field takes its default)', () => {
      for (const event of v1Kinds) expect(v4.decode(v1.encode(event))).toEqual(event);
      for (const event of everyKind) expect(v4.decode(v2.encode(event))).toEqual(event);
      for (const event of everyKind) expect(v4.decode(codec.encode(event))).toEqual(event);
    });

    it('a v4 writer frames its records with id 4, and reads them back', () => {
      const bytes = v4.encode(optOut());
      expect(unframe(bytes).schemaId).toBe(4);
      expect(v4.decode(bytes)).toEqual(optOut());
    });

    it('an older reader refuses a newer record by name of the unknown id, rather than misreading it', () => {
      const error = caught(() => codec.decode(v4.encode(optOut())));
      expect(error.code).toBe('undecodable_record');
      expect(error.message).toMatch(/schema id 4.*does not know/);
      expect(caught(() => v1.decode(codec.encode(optOut()))).message).toMatch(/schema id 3.*does not know/);
    });

    it('a v1 writer cannot write a review decision: its schema has no such type', () => {
      expect(() => v1.encode(reviewed({ resolves: 'x', outcome: 'confirmed' }))).toThrow();
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
      ['review without its target', { type: 'ReviewResolved', outcome: 'confirmed' }, /resolves is required/],
      ['review outcome', { type: 'ReviewResolved', resolves: 'e1', outcome: 'maybe' }, /outcome "maybe"/],
    ])('a record with a bad %s, produced by another system', (_field, change, message) => {
      const type = loadCatalogue().types.get(3);
      const good = type?.fromBuffer(unframe(codec.encode(optOut())).payload) as Record<string, unknown>;
      const bytes = frame(3, (type as avro.Type).toBuffer({ ...good, ...change }));
      const error = caught(() => codec.decode(bytes));
      expect(error.code).toBe('undecodable_record');
      expect(error.message).toMatch(message);
    });
  });
});
