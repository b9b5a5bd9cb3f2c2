import {
  asPosition,
  describe as describeState,
  effectiveState,
  foldHistory,
  scopeTarget,
  type ConfirmationSent,
  type ConsentFact,
  type E164,
  type EffectiveState,
  type LedgerEvent,
  type OptInRecorded,
  type OptOutRecorded,
  type OptOutSuspected,
  type PhoneHistory,
  type Recorded,
  type ReviewResolved,
  type ScopeKey,
  type Status,
} from '../../services/ledger/index.js';

/** The US example number libphonenumber holds valid: the subject of every scenario unless told. */
export const PHONE = '+12015550123' as E164;
export const BRAND = 'acme';
/** A fixed "when the person said it" (epoch ms) so no test depends on the clock. */
export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

type Fields<E extends LedgerEvent> = Partial<Omit<E, 'type'>>;

const TAG: Readonly<Record<LedgerEvent['type'], string>> = {
  OptOutRecorded: 'out',
  OptInRecorded: 'in',
  OptOutSuspected: 'suspected',
  ConfirmationSent: 'confirmation',
  ReviewResolved: 'review',
};

/**
 * The fields every event shares. Brand and program follow the scope unless given, so
 * `optOut({ scope: 'program:acme/promo' })` is a complete event; the default event id names kind, scope
 * and time (`out@brand:acme@1000`) so reasons stay readable without inventing ids.
 */
function common(type: LedgerEvent['type'], fields: Fields<LedgerEvent>) {
  const scope: ScopeKey = fields.scope ?? `brand:${fields.brand ?? BRAND}`;
  const target = scopeTarget(scope);
  const brand = fields.brand ?? target.brand ?? BRAND;
  const program = fields.program ?? target.program;
  const occurredAt = fields.occurredAt ?? T0;
  return {
    // Another phone's event gets its phone in the id, so it is not taken for a duplicate of PHONE's.
    eventId:
      fields.eventId ??
      `${TAG[type]}@${scope}@${occurredAt}${fields.phone === undefined || fields.phone === PHONE ? '' : `@${fields.phone}`}`,
    phone: fields.phone ?? PHONE,
    brand,
    ...(program !== undefined && { program }),
    scope,
    occurredAt,
    recordedAt: fields.recordedAt ?? occurredAt,
    source: fields.source ?? 'sms_reply',
    sourceSystem: fields.sourceSystem ?? 'test',
    channel: fields.channel ?? 'sms',
    evidence: fields.evidence ?? {},
  };
}

export function optOut(fields: Fields<OptOutRecorded> = {}): OptOutRecorded {
  return { ...common('OptOutRecorded', fields), type: 'OptOutRecorded' };
}

export function optIn(fields: Fields<OptInRecorded> = {}): OptInRecorded {
  return { ...common('OptInRecorded', fields), type: 'OptInRecorded' };
}

export function suspected(fields: Fields<OptOutSuspected> = {}): OptOutSuspected {
  return { ...common('OptOutSuspected', fields), type: 'OptOutSuspected' };
}

export function confirmation(fields: Fields<ConfirmationSent> = {}): ConfirmationSent {
  const base = common('ConfirmationSent', fields);
  return {
    ...base,
    type: 'ConfirmationSent',
    confirms: fields.confirms ?? `out@${base.scope}@${base.occurredAt}`,
    text: fields.text ?? 'Acme: You are unsubscribed and will receive no more messages.',
  };
}

/** A reviewer's decision on a suspected opt-out (by default the one `suspected()` makes at this scope). */
export function reviewed(fields: Fields<ReviewResolved> = {}): ReviewResolved {
  const base = common('ReviewResolved', fields);
  return {
    ...base,
    type: 'ReviewResolved',
    resolves:
      fields.resolves ??
      `suspected@${base.scope}@${fields.occurredAt ?? T0}${base.phone === PHONE ? '' : `@${base.phone}`}`,
    outcome: fields.outcome ?? 'confirmed',
  };
}

/** An event as the log hands it back. */
export function recorded<E extends LedgerEvent>(event: E, position: number): Recorded<E> {
  return { position: asPosition(position), event };
}

/** The outcome of one check, with assertions that read like the rules. */
export class Check {
  constructor(
    readonly state: EffectiveState,
    private readonly brand: string | undefined,
    private readonly program: string | undefined,
  ) {}

  /** The status, and the `allowed` that must go with it: only opted_in and no_record may send. */
  is(status: Status): this {
    expect({ status: this.state.status, allowed: this.state.allowed }).toEqual({
      status,
      allowed: status === 'opted_in' || status === 'no_record',
    });
    return this;
  }

  causedBy(eventId: string): this {
    expect(this.state.cause?.eventId).toBe(eventId);
    return this;
  }

  ignoring(staleOptInId: string): this {
    expect(this.state.staleOptIn?.eventId).toBe(staleOptInId);
    return this;
  }

  /** The sentence describe() gives an auditor for this check. */
  get reason(): string {
    return describeState(this.state, this.brand, this.program);
  }

  because(expected: string | RegExp): this {
    if (typeof expected === 'string') expect(this.reason).toContain(expected);
    else expect(this.reason).toMatch(expected);
    return this;
  }
}

/** A phone's log: events get positions 1, 2, 3 … in the order given. */
export class Scenario {
  readonly records: readonly Recorded[];

  constructor(records: readonly Recorded[]) {
    this.records = records;
  }

  /** More events arriving later in the log. */
  when(...events: readonly LedgerEvent[]): Scenario {
    const last = this.records[this.records.length - 1]?.position ?? 0;
    return new Scenario([...this.records, ...events.map((event, i) => recorded(event, last + i + 1))]);
  }

  get history(): PhoneHistory {
    return foldHistory(this.records);
  }

  /** A check for (brand, program); no brand means the global scope only. */
  check(brand?: string, program?: string, asOf?: (fact: ConsentFact) => boolean): Check {
    return new Check(effectiveState(this.history, brand, program, asOf), brand, program);
  }

  /** The same check as it stood when only the first `position` records had been applied. */
  checkAt(position: number, brand?: string, program?: string): Check {
    return this.check(brand, program, (fact) => fact.position <= position);
  }
}

export function given(...events: readonly LedgerEvent[]): Scenario {
  return new Scenario([]).when(...events);
}
