import fc from 'fast-check';

/**
 * The inputs of the invariant suite: random sequences of what the outside world does to the ledger
 * (opt-outs and opt-ins from any source, STOP replies with hostile text, repeats, reviews), and the
 * driver that sends them and remembers every write the ledger acknowledged.
 */

export const BRANDS = ['acme', 'beta'] as const;
export const PROGRAMS = ['alerts', 'promo'] as const;
/** A handful of numbers, so sequences keep returning to the same phone (where the rules bite). */
export const PHONES = ['+12015550101', '+12015550102', '+12015550103', '+12015550104'] as const;

/** The same number as senders and providers write it: the ledger must file them all under one E.164. */
function spell(phone: string, spelling: number): string {
  const national = phone.slice(2);
  const [a, b, c] = [national.slice(0, 3), national.slice(3, 6), national.slice(6)];
  switch (spelling % 4) {
    case 1:
      return `(${a}) ${b}-${c}`;
    case 2:
      return `tel:+1-${a}-${b}-${c}`;
    case 3:
      return `+1 ${a}.${b}.${c}`;
    default:
      return phone;
  }
}

export interface RecordStep {
  readonly kind: 'record';
  readonly type: 'opt_out' | 'opt_in';
  readonly phone: number;
  readonly spelling: number;
  readonly brand: number;
  readonly program?: number;
  readonly scope: 'global' | 'brand' | 'program';
  readonly source: 'crm' | 'web_form' | 'call_centre' | 'api' | 'import';
  /** From a small pool, so ids repeat: the same fact again, or (refused) another fact under one id. */
  readonly eventId?: string;
  /** How long before now the person asked: late-arriving, stale opt-ins. */
  readonly ageMs: number;
  readonly note?: string;
}

export interface ReplyStep {
  readonly kind: 'reply';
  readonly phone: number;
  readonly spelling: number;
  readonly brand: number;
  readonly program?: number;
  readonly body: string;
  readonly messageId?: string;
  readonly ageMs: number;
}

export interface ReviewStep {
  readonly kind: 'review';
  /** Which pending review (modulo how many there are). */
  readonly pick: number;
  readonly decision: 'confirm' | 'dismiss';
}

/** The `back`-th request sent before, sent again unchanged: a provider's or a client's retry. */
export interface RepeatStep {
  readonly kind: 'repeat';
  readonly back: number;
}

export type Step = RecordStep | ReplyStep | ReviewStep | RepeatStep;

export interface TextOptions {
  /** NUL bytes and lone surrogates in text that reaches the log. */
  readonly nulAndLoneSurrogates: boolean;
  /** Message ids reused by other phones or other messages (providers do: ids are per account, short). */
  readonly reusedMessageIds: boolean;
}

const HOSTILE = [
  '\u0000',
  '\uD800',
  '\uDFFF',
  '\u0007',
  '\u001B[2J',
  '\u202E',
  '\uFEFF',
  '\u200B',
  '\r\n',
  '🛑',
  'é',
  '\\',
  '"',
  "'); DROP TABLE x; --",
];
const KEYWORDS = [
  'STOP',
  'stop',
  'Stop.',
  'STOPALL',
  'ＳＴＯＰ',
  'S T O P',
  'unsubscribe',
  'cancel',
  'END',
  'quit',
  'take me off your list',
  'wrong number',
  'Stop. Thank you',
  'enough',
  'too many texts',
  'not interested',
  'START',
  'unstop',
  'yes',
  'HELP',
  'stop by the store',
  'hello',
];

function textArb({ nulAndLoneSurrogates }: TextOptions): fc.Arbitrary<string> {
  // With the u flag a surrogate pair is one code point, so only a lone half matches.
  const safe = (s: string): boolean =>
    nulAndLoneSurrogates || (!s.includes('\u0000') && !/[\uD800-\uDFFF]/u.test(s));
  const hostile = fc.constantFrom(...HOSTILE.filter(safe));
  // 'binary' draws any code point, lone surrogate halves included.
  const noise = fc.string({ unit: nulAndLoneSurrogates ? 'binary' : 'grapheme', maxLength: 6 }).filter(safe);
  const piece = fc.oneof(hostile, noise);
  const longTail = fc
    .tuple(piece, fc.integer({ min: 50, max: 600 }))
    .map(([unit, times]) => (unit.length === 0 ? '' : unit.repeat(times)));
  return fc
    .tuple(
      fc.oneof({ weight: 3, arbitrary: fc.constant('') }, { weight: 1, arbitrary: piece }),
      fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KEYWORDS) }, { weight: 1, arbitrary: noise }),
      fc.oneof(
        { weight: 3, arbitrary: fc.constant('') },
        { weight: 2, arbitrary: piece },
        { weight: 1, arbitrary: longTail },
        { weight: 1, arbitrary: fc.constantFrom('\n\nSent from my iPhone', '\n-- \nJohn', ' 😀') },
      ),
    )
    .map(([head, word, tail]) => `${head}${word}${tail}`.slice(0, 1900));
}

export function stepArb(options: TextOptions): fc.Arbitrary<Step> {
  const phone = fc.integer({ min: 0, max: PHONES.length - 1 });
  const spelling = fc.integer({ min: 0, max: 3 });
  const brand = fc.integer({ min: 0, max: BRANDS.length - 1 });
  const program = fc.option(fc.integer({ min: 0, max: PROGRAMS.length - 1 }), { nil: undefined });
  const ageMs = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 7 * 24 * 3600 * 1000 }));
  const record: fc.Arbitrary<RecordStep> = fc
    .record({
      kind: fc.constant('record' as const),
      type: fc.constantFrom('opt_out' as const, 'opt_in' as const),
      phone,
      spelling,
      brand,
      program,
      scope: fc.constantFrom('global' as const, 'brand' as const, 'program' as const),
      source: fc.constantFrom('crm' as const, 'web_form' as const, 'call_centre' as const, 'api' as const),
      eventId: fc.option(fc.constantFrom('e-1', 'e-2', 'e-3'), { nil: undefined }),
      ageMs,
      note: fc.option(textArb(options), { nil: undefined }),
    })
    // A program-wide decision names its program.
    .map((step) => (step.scope === 'program' && step.program === undefined ? { ...step, program: 0 } : step));
  const reply: fc.Arbitrary<ReplyStep> = fc.record({
    kind: fc.constant('reply' as const),
    phone,
    spelling,
    brand,
    program,
    body: textArb(options),
    // Unreused, ids are unique per step; the repeat step still retries a message with its own id.
    messageId: options.reusedMessageIds
      ? fc.option(fc.constantFrom('SM1', 'SM2', 'SM3'), { nil: undefined })
      : fc.option(fc.uuid(), { nil: undefined }),
    ageMs,
  });
  const review: fc.Arbitrary<ReviewStep> = fc.record({
    kind: fc.constant('review' as const),
    pick: fc.nat(20),
    decision: fc.constantFrom('confirm' as const, 'dismiss' as const),
  });
  const repeat: fc.Arbitrary<RepeatStep> = fc.record({
    kind: fc.constant('repeat' as const),
    back: fc.nat(10),
  });
  return fc.oneof(
    { weight: 4, arbitrary: reply },
    { weight: 3, arbitrary: record },
    { weight: 1, arbitrary: review },
    { weight: 1, arbitrary: repeat },
  );
}

export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
  readonly headers: Readonly<Record<string, string | number | string[] | undefined>>;
}
/** One request to the ledger: app.inject() in process, fetch() to a child. Throws on a transport error. */
export type Http = (method: 'GET' | 'POST', path: string, body?: unknown) => Promise<HttpAnswer>;

/** A write the ledger acknowledged (2xx): the log must hold it, for this phone, as this kind of fact. */
export interface Acknowledged {
  readonly eventId: string;
  readonly phone: string;
  readonly types: readonly string[];
  readonly what: string;
}

/** Something that went wrong while driving, found without the oracle (e.g. an opt-out answered without an event). */
export interface DriveProblem {
  readonly what: string;
  readonly answer: string;
}

export class Driver {
  readonly acknowledged: Acknowledged[] = [];
  readonly problems: DriveProblem[] = [];
  private readonly sent: { path: string; body: unknown; step: Step }[] = [];
  requests = 0;

  constructor(private http: Http) {}

  /** After a restart the ledger has a new address; what was acknowledged stays remembered. */
  retarget(http: Http): void {
    this.http = http;
  }

  async apply(step: Step): Promise<void> {
    switch (step.kind) {
      case 'record':
        return this.send('/v1/events', recordBody(step), step);
      case 'reply':
        return this.send('/v1/inbound/sms', replyBody(step), step);
      case 'review':
        return this.review(step);
      case 'repeat': {
        const earlier = this.sent[this.sent.length - 1 - (step.back % Math.max(1, this.sent.length))];
        if (earlier !== undefined) await this.send(earlier.path, earlier.body, earlier.step);
        return;
      }
      default: {
        const never: never = step;
        throw new Error(`unknown step ${JSON.stringify(never)}`);
      }
    }
  }

  private async send(path: string, body: unknown, step: Step): Promise<void> {
    this.sent.push({ path, body, step });
    const answer = await this.call('POST', path, body);
    if (answer === undefined || answer.status >= 300) return;
    const json = JSON.parse(answer.text) as Record<string, unknown>;
    if (step.kind === 'record') {
      this.acknowledged.push({
        eventId: String(json.eventId),
        phone: PHONES[step.phone] ?? '',
        types: [step.type === 'opt_out' ? 'OptOutRecorded' : 'OptInRecorded'],
        what: `${path} ${JSON.stringify(body)} → ${answer.status} ${answer.text}`,
      });
    } else if (step.kind === 'reply') {
      const types =
        json.intent === 'opt_out'
          ? ['OptOutRecorded']
          : json.intent === 'review'
            ? ['OptOutSuspected']
            : json.intent === 'opt_in'
              ? ['OptInRecorded']
              : [];
      if (types.length === 0) return;
      const what = `${path} ${JSON.stringify(body)} → ${answer.status} ${answer.text}`;
      if (typeof json.eventId !== 'string') {
        this.problems.push({
          what: `reply classified ${String(json.intent)} recorded no event`,
          answer: what,
        });
        return;
      }
      this.acknowledged.push({ eventId: json.eventId, phone: PHONES[step.phone] ?? '', types, what });
    }
  }

  private async review(step: ReviewStep): Promise<void> {
    const list = await this.call('GET', '/v1/reviews?status=pending&limit=50');
    if (list === undefined || list.status !== 200) return;
    const { reviews } = JSON.parse(list.text) as { reviews: { id: string; phone: string }[] };
    const item = reviews[step.pick % Math.max(1, reviews.length)];
    if (item === undefined) return;
    const answer = await this.call('POST', `/v1/reviews/${encodeURIComponent(item.id)}`, {
      decision: step.decision,
      reviewer: 'property-suite',
    });
    if (answer === undefined || answer.status >= 300) return;
    const json = JSON.parse(answer.text) as { eventId: string };
    this.acknowledged.push({
      eventId: json.eventId,
      phone: item.phone,
      types: ['ReviewResolved'],
      what: `review ${item.id} ${step.decision} → ${answer.status} ${answer.text}`,
    });
  }

  /** A transport error (a ledger being killed) is an unacknowledged request: nothing to remember. */
  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<HttpAnswer | undefined> {
    this.requests += 1;
    try {
      const answer = await this.http(method, path, body);
      // 503 is an honest refusal (the write was not acknowledged; the caller retries); 500 is a fault.
      if (answer.status === 500) {
        this.problems.push({
          what: `500 from ${method} ${path}`,
          answer: `${JSON.stringify(body)} → ${answer.status} ${answer.text}`,
        });
      }
      return answer;
    } catch {
      return undefined;
    }
  }
}

function recordBody(step: RecordStep): Record<string, unknown> {
  const program = step.program === undefined ? undefined : PROGRAMS[step.program];
  return {
    type: step.type,
    phone: spell(PHONES[step.phone] ?? '', step.spelling),
    brand: BRANDS[step.brand],
    ...(program !== undefined && { program }),
    scope: step.scope,
    source: step.source,
    ...(step.eventId !== undefined && { eventId: step.eventId }),
    occurredAt: new Date(Date.now() - step.ageMs).toISOString(),
    evidence: {
      ...(step.note !== undefined && { note: step.note }),
      // Proof of consent whatever the source (each source asks for its own fields).
      ...(step.type === 'opt_in' && {
        formUrl: 'https://acme.example/preferences',
        ip: '192.0.2.1',
        agentId: 'agent-7',
        callReference: 'call-7',
        consentReference: 'crm:consent/7',
        rawText: 'yes, text me',
      }),
    },
  };
}

function replyBody(step: ReplyStep): Record<string, unknown> {
  const program = step.program === undefined ? undefined : PROGRAMS[step.program];
  return {
    from: spell(PHONES[step.phone] ?? '', step.spelling),
    to: '12345',
    body: step.body,
    brand: BRANDS[step.brand],
    ...(program !== undefined && { program }),
    ...(step.messageId !== undefined && { messageId: step.messageId }),
    receivedAt: new Date(Date.now() - step.ageMs).toISOString(),
  };
}
