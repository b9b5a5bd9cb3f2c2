import { randomUUID } from 'node:crypto';
import { createEventCodec, loadCatalogue } from '../codec/index.js';
import { decideRecord, type RecordConsent } from '../intake/index.js';
import {
  assertName,
  LedgerError,
  parsePhone,
  type E164,
  type Evidence,
  type Region,
  type ScopeWidth,
  type Source,
} from '../ledger/index.js';
import { KafkaEventLog, pointToken } from '../log/index.js';

export interface LedgerProducerOptions {
  readonly brokers: readonly string[];
  /** Default `ledger.events`. */
  readonly topic?: string;
  /** The system that records (shown in every audit): e.g. "salesforce", "call-centre-eu". */
  readonly sourceSystem: string;
  /** Country for numbers written without a + country code. Default US. */
  readonly defaultRegion?: Region;
  /** Brand of records that name none. Default "default". */
  readonly defaultBrand?: string;
  /** Partitions if this producer is the first to create the topic. Default 6. */
  readonly partitions?: number;
  readonly now?: () => number;
}

export interface ConsentRecord {
  readonly type: 'opt_out' | 'opt_in';
  /** Any common spelling: +14155550123, (415) 555-0123, tel:+1-415-555-0123. */
  readonly phone: string;
  readonly brand?: string;
  readonly program?: string;
  readonly scope?: ScopeWidth;
  readonly source: Source;
  /** When the person asked. Default: now. */
  readonly occurredAt?: Date | number;
  /** Your idempotency key; default a random UUID. The views apply an id once. */
  readonly eventId?: string;
  readonly evidence?: Evidence;
}

export interface Produced {
  readonly eventId: string;
  readonly phone: E164;
  /** Pass as minPosition to a gate check to read this write. */
  readonly position: string;
}

/**
 * A small typed producer for systems that write to the ledger's topic directly: it validates and
 * normalises like the HTTP API (same rules, same errors), encodes Avro with the Confluent header and
 * keys each record by the E.164 number, on an idempotent producer with acks=all.
 */
export class LedgerProducer {
  private constructor(
    private readonly log: KafkaEventLog,
    private readonly options: LedgerProducerOptions,
  ) {}

  static async connect(options: LedgerProducerOptions): Promise<LedgerProducer> {
    if (options.sourceSystem.trim() === '')
      throw new LedgerError('invalid_request', 'sourceSystem names your system: it is shown in every audit');
    const log = await KafkaEventLog.open({
      brokers: options.brokers,
      topic: options.topic ?? 'ledger.events',
      partitions: options.partitions ?? 6,
      replicationFactor: -1,
      clientId: `ledger-producer-${options.sourceSystem}`,
      codec: createEventCodec(loadCatalogue()),
    });
    return new LedgerProducer(log, options);
  }

  /** Records one consent decision; resolves once Kafka has it on every in-sync replica. */
  async record(record: ConsentRecord): Promise<Produced> {
    const [produced] = await this.recordMany([record]);
    if (produced === undefined) throw new LedgerError('internal', 'nothing was produced');
    return produced;
  }

  /** Validates all first: one bad record rejects the call before anything is sent. */
  async recordMany(records: readonly ConsentRecord[]): Promise<Produced[]> {
    const now = (this.options.now ?? Date.now)();
    const events = records.map((record) => decideRecord(this.command(record), { now, newId: randomUUID }));
    const appended = await this.log.append(events);
    return appended.map((a) => ({ eventId: a.event.eventId, phone: a.event.phone, position: pointToken(a) }));
  }

  close(): Promise<void> {
    return this.log.close();
  }

  private command(record: ConsentRecord): RecordConsent {
    const brand = record.brand ?? this.options.defaultBrand ?? 'default';
    assertName('brand', brand);
    const occurredAt = record.occurredAt instanceof Date ? record.occurredAt.getTime() : record.occurredAt;
    return {
      type: record.type,
      phone: parsePhone(record.phone, this.options.defaultRegion ?? 'US'),
      brand,
      ...(record.program !== undefined && { program: record.program }),
      ...(record.scope !== undefined && { scope: record.scope }),
      source: record.source,
      sourceSystem: this.options.sourceSystem,
      ...(occurredAt !== undefined && { occurredAt }),
      ...(record.eventId !== undefined && { eventId: record.eventId }),
      ...(record.evidence !== undefined && { evidence: record.evidence }),
      // A producer writes straight onto the log, past the API: its system is the one answerable.
      actor: `producer:${this.options.sourceSystem}`,
    };
  }
}
