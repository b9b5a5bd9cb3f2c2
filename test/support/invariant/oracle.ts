import {
  effectiveState,
  foldHistory,
  asPosition,
  type LedgerEvent,
  type PhoneHistory,
  type Recorded,
  type Status,
} from '../../../services/ledger/index.js';

/** What a check may answer: the fold's statuses, or `unknown` when the path cannot vouch for its data. */
export interface Answer {
  readonly allowed: boolean;
  readonly status: Status | 'unknown';
}

type ExportLine =
  | { readonly position: string; readonly event: LedgerEvent }
  | { readonly position: string; readonly key: string | null; readonly undecodable: string };

/**
 * The oracle: the ledger's own pure fold (`foldHistory`, `effectiveState`) over what the log holds, read
 * back through `GET /v1/export`. Never a re-implementation: if the fold is wrong, the unit tests of the
 * fold say so; this suite asks whether every view and check agrees with it.
 */
export class LogFold {
  private readonly histories = new Map<string, PhoneHistory>();
  private readonly byId = new Map<string, LedgerEvent[]>();
  /** Phones with a record no schema can read: every answer for them must fail closed. */
  private readonly unreadable = new Set<string>();
  readonly records: number;

  private constructor(lines: readonly ExportLine[]) {
    const perPhone = new Map<string, Recorded[]>();
    for (const line of lines) {
      if (!('event' in line)) {
        if (line.key !== null) this.unreadable.add(line.key);
        continue;
      }
      const { event } = line;
      const position = asPosition(Number(line.position.split(':')[1]));
      const list = perPhone.get(event.phone) ?? [];
      list.push({ position, event });
      perPhone.set(event.phone, list);
      const same = this.byId.get(event.eventId) ?? [];
      same.push(event);
      this.byId.set(event.eventId, same);
    }
    for (const [phone, records] of perPhone) this.histories.set(phone, foldHistory(records));
    this.records = lines.length;
  }

  static parse(jsonl: string): LogFold {
    const lines = jsonl
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as ExportLine);
    return new LogFold(lines);
  }

  /** The effective state the fold gives (phone, brand, program?). */
  expected(phone: string, brand: string, program?: string): Answer {
    if (this.unreadable.has(phone)) return { allowed: false, status: 'unknown' };
    const state = effectiveState(this.histories.get(phone) ?? [], brand, program);
    return { allowed: state.allowed, status: state.status };
  }

  /** The events the log holds under an event id (more than one only on a log that cannot dedupe). */
  eventsWithId(eventId: string): readonly LedgerEvent[] {
    return this.byId.get(eventId) ?? [];
  }

  phones(): readonly string[] {
    return [...this.histories.keys()];
  }
}
