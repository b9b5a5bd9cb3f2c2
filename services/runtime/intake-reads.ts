import type { IntakeReads, RecordedFact } from '../intake/index.js';
import { foldHistory, LedgerError, START, type E164, type LedgerEvent } from '../ledger/index.js';
import type { EmbeddedEventLog, EventLog, LogRecord } from '../log/index.js';
import type { MemoryView, ProjectorRunner, ReviewItem } from '../projector/index.js';

/** Intake's reads of the central view, whichever log: the review queue it keeps. */
type CentralView = Pick<MemoryView, 'review' | 'reviews' | 'history'>;

/**
 * On the embedded log: the log answers per phone, at once and complete, and dedupes event ids at
 * append (no findRecorded); the review queue is the central view's.
 */
export function embeddedReads(
  log: Pick<EmbeddedEventLog, 'readPhone'>,
  view: CentralView,
): IntakeReads<ReviewItem> {
  return {
    historyOf: async (phone) => foldHistory(await log.readPhone(phone)),
    suspectedOptOut: (eventId) => view.review(eventId),
    reviews: (status) => view.reviews(status),
    unavailableReason: () => undefined,
  };
}

/** How long intake waits for the central view to reach a phone's partition before deciding a reply. */
const HISTORY_WAIT_MS = 5_000;

/** The events a caller's repeated event id is compared with: the consent facts `record` writes. */
const INDEXED: ReadonlySet<LedgerEvent['type']> = new Set([
  'OptOutRecorded',
  'OptInRecorded',
  'OptOutSuspected',
]);

type Indexed = Omit<RecordedFact, 'partition'>;

/**
 * On Kafka, which can neither read one phone nor dedupe at append: the central view answers, once it
 * has applied everything the phone's partition held when asked. As the view applies records, the
 * event ids of consent events are indexed (phone and id → type, scope, position), so a repeated id is
 * answered with the original as it was recorded, not reconstructed from the fold.
 */
export class KafkaReads implements IntakeReads<ReviewItem> {
  private readonly recorded = new Map<string, Indexed>();

  constructor(
    private readonly log: Pick<EventLog, 'head'>,
    private readonly view: CentralView,
    private readonly runner: Pick<ProjectorRunner, 'waitFor' | 'ready'>,
    private readonly partitionOf: (phone: E164) => number,
  ) {}

  /** Feeds the index: called with each batch the central view applied (the runner's onApplied). */
  applied(records: readonly LogRecord[]): void {
    for (const { event, position } of records) {
      if (!INDEXED.has(event.type) || !('scope' in event)) continue;
      const key = indexKey(event.phone, event.eventId);
      // Kafka may hold an id twice (a producer's retry): the first is the original, as in the fold.
      if (this.recorded.has(key)) continue;
      this.recorded.set(key, {
        type: event.type,
        scope: event.scope,
        position,
        recordedAt: event.recordedAt,
      });
    }
  }

  async historyOf(phone: E164): Promise<ReturnType<MemoryView['history']>> {
    await this.caughtUp(phone);
    return this.view.history(phone);
  }

  readonly findRecorded = async (phone: E164, eventId: string): Promise<RecordedFact | undefined> => {
    await this.caughtUp(phone);
    const found = this.recorded.get(indexKey(phone, eventId));
    return found === undefined ? undefined : { ...found, partition: this.partitionOf(phone) };
  };

  suspectedOptOut(eventId: string): ReviewItem | undefined {
    return this.view.review(eventId);
  }

  reviews(status: 'pending' | 'decided' | 'all'): readonly ReviewItem[] {
    return this.view.reviews(status);
  }

  unavailableReason(): string | undefined {
    return this.runner.ready
      ? undefined
      : 'the central view, which intake reads to decide replies, is still replaying the log';
  }

  /** Waits until the view has applied everything the phone's partition held when asked. */
  private async caughtUp(phone: E164): Promise<void> {
    const partition = this.partitionOf(phone);
    const head = await this.log.head();
    const point = { partition, position: head[partition] ?? START };
    if (!(await this.runner.waitFor([point], HISTORY_WAIT_MS))) {
      throw new LedgerError('unavailable', 'the central view is behind the log; retry shortly');
    }
  }
}

const indexKey = (phone: E164, eventId: string): string => `${phone}\u0000${eventId}`;
