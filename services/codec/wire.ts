import { LedgerError } from '../ledger/index.js';

/** Confluent's wire format: magic byte 0, the schema id as a 4-byte big-endian integer, then Avro. */
const MAGIC = 0;
const HEADER = 5;

export function frame(schemaId: number, payload: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(HEADER + payload.length);
  framed.writeUInt8(MAGIC, 0);
  framed.writeUInt32BE(schemaId, 1);
  payload.copy(framed, HEADER);
  return framed;
}

export function unframe(bytes: Buffer): { readonly schemaId: number; readonly payload: Buffer } {
  if (bytes.length < HEADER) {
    throw new LedgerError(
      'undecodable_record',
      `record of ${bytes.length} bytes is shorter than the 5-byte header`,
    );
  }
  const magic = bytes.readUInt8(0);
  if (magic !== MAGIC) {
    throw new LedgerError(
      'undecodable_record',
      `record starts with byte ${magic}, not the magic byte 0 of the Confluent wire format`,
    );
  }
  return { schemaId: bytes.readUInt32BE(1), payload: bytes.subarray(HEADER) };
}
