import type avro from 'avsc';
import { LedgerError, type LedgerEvent } from '../ledger/index.js';
import type { Catalogue } from './catalogue.js';
import { fromAvro, toAvro, type AvroEvent } from './mapping.js';
import { frame, unframe } from './wire.js';

export interface EventCodec {
  readonly writerId: number;
  encode(event: LedgerEvent): Buffer;
  /** Any catalogued schema version in, the current domain event out. */
  decode(bytes: Buffer): LedgerEvent;
}

/**
 * Writes with the catalogue's writer schema; reads a record of any catalogued id through a resolver
 * onto the writer schema, so a newer ledger reads what an older one wrote.
 */
export function createEventCodec(catalogue: Catalogue): EventCodec {
  const reader = catalogue.types.get(catalogue.writerId);
  if (reader === undefined)
    throw new LedgerError('invalid_config', `no schema for writer id ${catalogue.writerId}`);
  const resolvers = new Map<number, avro.Resolver | null>();
  const resolverFor = (schemaId: number): avro.Resolver | null => {
    let resolver = resolvers.get(schemaId);
    if (resolver === undefined) {
      const writer = catalogue.types.get(schemaId);
      if (writer === undefined) {
        throw new LedgerError(
          'undecodable_record',
          `record was written with schema id ${schemaId}, which the catalogue (${[...catalogue.types.keys()].join(', ')}) does not know; upgrade this reader`,
        );
      }
      resolver = schemaId === catalogue.writerId ? null : reader.createResolver(writer);
      resolvers.set(schemaId, resolver);
    }
    return resolver;
  };
  return {
    writerId: catalogue.writerId,
    encode: (event) => frame(catalogue.writerId, reader.toBuffer(toAvro(event))),
    decode: (bytes) => {
      const { schemaId, payload } = unframe(bytes);
      const resolver = resolverFor(schemaId);
      let record: AvroEvent;
      try {
        record = (
          resolver === null ? reader.fromBuffer(payload) : reader.fromBuffer(payload, resolver)
        ) as AvroEvent;
      } catch (error) {
        throw new LedgerError(
          'undecodable_record',
          `record with schema id ${schemaId} is not valid Avro for it: ${(error as Error).message}`,
          { cause: error },
        );
      }
      return fromAvro(record);
    },
  };
}
