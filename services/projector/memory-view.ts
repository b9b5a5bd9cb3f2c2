import {
  effectiveState,
  EMPTY_HISTORY,
  START,
  type E164,
  type EffectiveState,
  type OptOutSuspected,
  type PhoneHistory,
  type Position,
  type ReviewResolved,
} from '../ledger/index.js';
import type { Cursor, LogRecord, Undecodable } from '../log/index.js';
import { foldRecords } from './fold-batch.js';
import type { Projection } from './runner.js';

/** A suspected opt-out as the review queue shows it: the reply, and the decision once there is one. */
export interface ReviewItem {
  readonly partition: number;
  readonly position: Position;
  readonly event: OptOutSuspected;
  readonly decision?: {
    readonly partition: number;
    readonly position: Position;
    readonly event: ReviewResolved;
  };
}

/**
 * The central view the gate serves: each phone's consent facts in memory, folded on every check. It is
 * disposable: it starts empty and is rebuilt from the log at each start.
 */
export class MemoryView implements Projection {
  readonly kind = 'memory';
  private readonly histories = new Map<E164, PhoneHistory>();
  private readonly applied: Position[] = [];
  private readonly unreadable = new Map<string, Undecodable>();
  /** Every suspected opt-out by event id, in log order of arrival; decided ones keep their decision. */
  private readonly reviewItems = new Map<string, ReviewItem>();
  private changes = 0;

  constructor(readonly name = 'memory') {}

  checkpoint(partition: number): Promise<Position> {
    return Promise.resolve(this.applied[partition] ?? START);
  }

  applyBatch(records: readonly LogRecord[]): Promise<void> {
    const { steps, after, last } = foldRecords(this.histories, records, (p) => this.applied[p] ?? START);
    for (const [phone, history] of after) this.histories.set(phone, history);
    for (const step of steps) if (step.after !== step.before) this.indexReview(step.record);
    for (const [partition, position] of last) this.applied[partition] = position;
    this.changes += 1;
    return Promise.resolve();
  }

  /** Changes whenever the view applies something: answers derived from its cursor can be cached by it. */
  get version(): number {
    return this.changes;
  }

  quarantine(record: Undecodable): Promise<void> {
    if (record.position > (this.applied[record.partition] ?? START)) {
      if (record.key !== null) this.unreadable.set(record.key, record);
      this.applied[record.partition] = record.position;
      this.changes += 1;
    }
    return Promise.resolve();
  }

  private indexReview({ partition, position, event }: LogRecord): void {
    if (event.type === 'OptOutSuspected') {
      this.reviewItems.set(event.eventId, { partition, position, event });
    } else if (event.type === 'ReviewResolved') {
      const item = this.reviewItems.get(event.resolves);
      if (item !== undefined && item.event.phone === event.phone) {
        this.reviewItems.set(event.resolves, { ...item, decision: { partition, position, event } });
      }
    }
  }

  /** The suspected opt-outs, oldest first: all, or only those still awaiting a decision. */
  reviews(filter: 'pending' | 'decided' | 'all' = 'pending'): ReviewItem[] {
    const items = [...this.reviewItems.values()];
    return filter === 'all'
      ? items
      : items.filter((item) => (filter === 'pending') === (item.decision === undefined));
  }

  review(eventId: string): ReviewItem | undefined {
    return this.reviewItems.get(eventId);
  }

  /** The unreadable record for this phone, if the log holds one: checks must fail closed for it. */
  quarantined(phone: E164): Undecodable | undefined {
    return this.unreadable.size === 0 ? undefined : this.unreadable.get(phone);
  }

  check(phone: E164, brand: string, program?: string): EffectiveState {
    return effectiveState(this.histories.get(phone) ?? EMPTY_HISTORY, brand, program);
  }

  history(phone: E164): PhoneHistory {
    return this.histories.get(phone) ?? EMPTY_HISTORY;
  }

  /** What the view has applied, per partition. */
  get cursor(): Cursor {
    return this.applied;
  }

  /** Every phone with its consent facts. */
  phones(): IterableIterator<[E164, PhoneHistory]> {
    return this.histories.entries();
  }

  /** Phones with at least one consent fact. */
  get size(): number {
    return this.histories.size;
  }
}
