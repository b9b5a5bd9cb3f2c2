import { connect } from 'node:net';

/** Metadata (API key 3) version 12: the first to answer with topic ids without naming them (KIP-516). */
const METADATA = 3;
const METADATA_VERSION = 12;
const UNKNOWN_TOPIC_OR_PARTITION = 3;

/**
 * The topic's id as Kafka assigned it when the topic was created (a UUID in URL-safe base64, as Kafka's
 * tools print it), or undefined when no such topic exists. A topic deleted and recreated under the same
 * name gets a new id, while its offsets start again at 0: a view that kept its cursor would take the new
 * records for re-deliveries and skip them. kafkajs (Metadata up to v6) does not read topic ids, so this
 * asks one broker directly, on a short-lived connection.
 */
export async function fetchTopicId(
  brokers: readonly string[],
  topic: string,
  timeoutMs: number,
): Promise<string | undefined> {
  let lastError: unknown = new Error('no broker to ask');
  for (const broker of brokers) {
    try {
      return await askBroker(broker, topic, timeoutMs);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

function askBroker(broker: string, topic: string, timeoutMs: number): Promise<string | undefined> {
  const colon = broker.lastIndexOf(':');
  const host = broker.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(broker.slice(colon + 1));
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    let received = 0;
    const fail = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () =>
      fail(new Error(`broker ${broker} did not answer within ${timeoutMs} ms`)),
    );
    socket.on('error', fail);
    socket.on('connect', () => socket.write(metadataRequest(topic)));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received < 4) return;
      const data = Buffer.concat(chunks);
      const size = data.readInt32BE(0);
      if (data.length < 4 + size) return;
      socket.destroy();
      try {
        resolve(readTopicId(data.subarray(4, 4 + size), topic));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

function metadataRequest(topic: string): Buffer {
  const clientId = Buffer.from('suppression-ledger');
  const name = Buffer.from(topic);
  const body = Buffer.concat([
    // Request header v2: api key, version, correlation id, client id (int16-length string), no tags.
    int16(METADATA),
    int16(METADATA_VERSION),
    int32(1),
    int16(clientId.length),
    clientId,
    uvarint(0),
    // topics: one, by name (topic_id all zero), no tags; allow_auto_topic_creation false;
    // include_topic_authorized_operations false; no tags.
    uvarint(2),
    Buffer.alloc(16),
    uvarint(name.length + 1),
    name,
    uvarint(0),
    Buffer.from([0, 0]),
    uvarint(0),
  ]);
  return Buffer.concat([int32(body.length), body]);
}

/** Reads the Metadata v12 response (header v1) down to the first topic's error code and id. */
function readTopicId(data: Buffer, topic: string): string | undefined {
  const reader = new Reader(data);
  reader.int32(); // correlation id
  reader.tags();
  reader.int32(); // throttle time
  const brokers = reader.uvarint() - 1;
  for (let i = 0; i < brokers; i++) {
    reader.int32();
    reader.compactString();
    reader.int32();
    reader.compactString();
    reader.tags();
  }
  reader.compactString(); // cluster id
  reader.int32(); // controller id
  const topics = reader.uvarint() - 1;
  if (topics < 1) throw new Error(`the broker's metadata names no topic (asked for ${topic})`);
  const errorCode = reader.int16();
  reader.compactString();
  const id = reader.bytes(16);
  if (errorCode === UNKNOWN_TOPIC_OR_PARTITION) return undefined;
  if (id.every((byte) => byte === 0)) {
    throw new Error(`the broker gave no id for topic ${topic} (error code ${errorCode})`);
  }
  return id.toString('base64url');
}

class Reader {
  private offset = 0;
  constructor(private readonly data: Buffer) {}
  int16(): number {
    const value = this.data.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }
  int32(): number {
    const value = this.data.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  bytes(length: number): Buffer {
    if (this.offset + length > this.data.length) throw new Error('truncated metadata response');
    const value = this.data.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
  uvarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.bytes(1)[0] ?? 0;
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value >>> 0;
    }
    throw new Error('malformed varint in metadata response');
  }
  compactString(): void {
    const length = this.uvarint();
    if (length > 0) this.bytes(length - 1);
  }
  tags(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      this.bytes(this.uvarint());
    }
  }
}

function int16(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeInt16BE(value);
  return buffer;
}

function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
}

function uvarint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}
