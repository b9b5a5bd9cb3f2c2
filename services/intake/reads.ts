import type { E164, OptOutSuspected, PhoneHistory, Position } from '../ledger/index.js';
import type { RecordedFact } from './intake.js';

/** A suspected opt-out as the review queue holds it, with its decision once a person has made one. */
export interface QueuedReview {
  readonly partition: number;
  readonly position: Position;
  readonly event: OptOutSuspected;
}

/**
 * Everything intake reads to decide: a phone's consent facts, whether an event id is already
 * recorded, and the review queue. One port, two adapters (services/runtime/intake-reads.ts): on the
 * embedded log the log answers per phone and dedupes at append; on Kafka the central view answers once
 * it has caught up with the phone's partition, and keeps an index of the event ids it applied.
 */
export interface IntakeReads<Review extends QueuedReview = QueuedReview> {
  /** A phone's consent facts as the log holds them now: replies are decided against them. */
  historyOf(phone: E164): Promise<PhoneHistory>;
  /** For logs that cannot dedupe at append: the recorded event with this id, if the phone has one. */
  readonly findRecorded?: (phone: E164, eventId: string) => Promise<RecordedFact | undefined>;
  /** The suspected opt-out with this event id (the review queue), pending or decided. */
  suspectedOptOut(eventId: string): Review | undefined;
  /** The review queue, oldest first. */
  reviews(status: 'pending' | 'decided' | 'all'): readonly Review[];
  /** Why these reads cannot answer now (a view still replaying), or undefined when they can. */
  unavailableReason(): string | undefined;
}
