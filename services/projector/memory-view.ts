import {
  effectiveState,
  evolve,
  EMPTY_HISTORY,
  START,
  type E164,
  type EffectiveState,
  type PhoneHistory,
  type Position,
  type Recorded,
} from '../ledger/index.js';
import type { Projection } from './runner.js';

/**
 * The central view the gate serves: each phone's consent facts in memory, folded on every check. It is
 * disposable: it starts empty and is rebuilt from the log at each start.
 */
export class MemoryView implements Projection {
  readonly kind = 'memory';
  private readonly histories = new Map<E164, PhoneHistory>();
  private position: Position = START;

  constructor(readonly name = 'memory') {}

  checkpoint(): Promise<Position> {
    return Promise.resolve(this.position);
  }

  applyBatch(records: readonly Recorded[]): Promise<void> {
    for (const record of records) {
      if (record.position <= this.position) continue;
      const phone = record.event.phone;
      const before = this.histories.get(phone) ?? EMPTY_HISTORY;
      const after = evolve(before, record);
      if (after !== before) this.histories.set(phone, after);
      this.position = record.position;
    }
    return Promise.resolve();
  }

  check(phone: E164, brand: string, program?: string): EffectiveState {
    return effectiveState(this.histories.get(phone) ?? EMPTY_HISTORY, brand, program);
  }

  history(phone: E164): PhoneHistory {
    return this.histories.get(phone) ?? EMPTY_HISTORY;
  }

  get appliedPosition(): Position {
    return this.position;
  }

  /** Phones with at least one consent fact. */
  get size(): number {
    return this.histories.size;
  }
}
