import { classifyReply, createClassifier, type Classification } from '../classifier/index.js';
import {
  assertName,
  LedgerError,
  parsePhone,
  type E164,
  type LedgerEvent,
  type PhoneHistory,
  type Position,
  type ScopeKey,
  type Region,
} from '../ledger/index.js';
import type { Appended, EventLog } from '../log/index.js';
import { policyFor, routeInbound, type BrandDirectory } from './brands.js';
import { decideInbound, decideRecord, sameFact, type RecordConsent } from './decide.js';

/** What the log holds for an event id: enough to answer a repeated request with the original. */
export interface RecordedFact {
  readonly partition: number;
  readonly position: Position;
  readonly type: LedgerEvent['type'];
  readonly scope: ScopeKey;
  readonly recordedAt: number;
}

export interface RecordAnswer {
  readonly partition: number;
  readonly position: Position;
  readonly eventId: string;
  readonly phone: E164;
  readonly recordedAt: number;
  /** True when the event id was already recorded: the answer is the original's. */
  readonly duplicate: boolean;
}

function conflict(eventId: string, earlier: { type: string; scope: string }): LedgerError {
  return new LedgerError(
    'event_id_conflict',
    `eventId ${eventId} was already used for a different event (${earlier.type} at ${earlier.scope}); use a new eventId`,
  );
}

export interface IntakeDeps {
  readonly log: EventLog;
  /** A phone's consent facts as the log holds them now: replies are decided against them. */
  readonly historyOf: (phone: E164) => Promise<PhoneHistory>;
  /** For logs that cannot dedupe at append: the recorded fact with this id, if the phone has one. */
  readonly findRecorded?: (phone: E164, eventId: string) => Promise<RecordedFact | undefined>;
  readonly directory: BrandDirectory;
  readonly defaultRegion: Region;
  readonly now: () => number;
  readonly newId: () => string;
  readonly onRecorded?: (event: LedgerEvent) => void;
}

export interface InboundRequest {
  readonly from: string;
  readonly to: string;
  readonly body: string;
  readonly messageId?: string;
  readonly receivedAt?: number;
  readonly brand?: string;
  readonly program?: string;
  readonly sourceSystem?: string;
  /**
   * The provider already acted on the keyword and answered the person itself (Twilio Advanced
   * Opt-Out): the ledger records the consent change but sends, and records, no confirmation of its own.
   */
  readonly providerHandled?: boolean;
  /** What the provider took the message to mean; it acted on it, so it wins over our classifier. */
  readonly providerIntent?: ProviderIntent;
}

export type ProviderIntent = 'opt_out' | 'opt_in' | 'help';

export interface InboundResult {
  readonly classification: Classification;
  readonly appended: readonly Appended[];
  readonly reply: string | null;
}

/**
 * Turns requests into events on the log. Replies for one phone are decided one at a time, so two
 * STOPs racing each other still yield exactly one confirmation.
 */
export class Intake {
  private readonly phoneLocks = new Map<E164, Promise<unknown>>();
  private readonly classifiers = new Map<string, (text: string) => Classification>();

  /** What a reply means for this brand: the built-in words plus the brand's own from configuration. */
  classify(text: string, brand: string = this.deps.directory.defaultBrand): Classification {
    let classify = this.classifiers.get(brand);
    if (classify === undefined) {
      const keywords = this.deps.directory.brands[brand]?.keywords;
      classify = keywords === undefined ? classifyReply : createClassifier(keywords);
      this.classifiers.set(brand, classify);
    }
    return classify(text);
  }

  constructor(private readonly deps: IntakeDeps) {}

  async record(command: RecordConsent): Promise<RecordAnswer> {
    const event = decideRecord(command, { now: this.deps.now(), newId: this.deps.newId });
    // A log that cannot dedupe at append (Kafka) is asked first: a caller's repeated id gets the original.
    const earlier =
      command.eventId === undefined ? undefined : await this.deps.findRecorded?.(event.phone, event.eventId);
    if (earlier !== undefined) {
      if (earlier.type !== event.type || earlier.scope !== event.scope)
        throw conflict(event.eventId, earlier);
      return { ...earlier, eventId: event.eventId, phone: event.phone, duplicate: true };
    }
    const [appended] = await this.deps.log.append([event]);
    if (appended === undefined) throw new LedgerError('internal', 'the log acknowledged nothing');
    if (appended.duplicate && !sameFact(appended.event, event)) throw conflict(event.eventId, appended.event);
    if (!appended.duplicate) this.deps.onRecorded?.(appended.event);
    return {
      partition: appended.partition,
      position: appended.position,
      eventId: appended.event.eventId,
      phone: appended.event.phone,
      recordedAt: appended.event.recordedAt,
      duplicate: appended.duplicate,
    };
  }

  async inbound(request: InboundRequest): Promise<InboundResult> {
    const { defaultRegion, directory } = this.deps;
    const from = parsePhone(request.from, defaultRegion);
    if (request.brand !== undefined) assertName('brand', request.brand);
    if (request.program !== undefined) assertName('program', request.program);
    const route = routeInbound(directory, request.to, tryParse(request.to, defaultRegion), {
      ...(request.brand !== undefined && { brand: request.brand }),
      ...(request.program !== undefined && { program: request.program }),
    });
    const classification = this.classify(request.body, route.brand);
    return this.serialised(from, () => this.decideAndAppend(from, request, route, classification));
  }

  private async decideAndAppend(
    from: E164,
    request: InboundRequest,
    route: { brand: string; program?: string },
    classified: Classification,
  ): Promise<InboundResult> {
    const { log } = this.deps;
    const classification = actedOn(classified, request.providerIntent);
    const history = await this.deps.historyOf(from);
    const decision = decideInbound(
      {
        from,
        to: request.to,
        body: request.body,
        brand: route.brand,
        ...(route.program !== undefined && { program: route.program }),
        ...(request.messageId !== undefined && { messageId: request.messageId }),
        ...(request.receivedAt !== undefined && { receivedAt: request.receivedAt }),
        sourceSystem: request.sourceSystem ?? 'inbound-sms',
      },
      classification,
      history,
      policyFor(this.deps.directory, route.brand),
      { now: this.deps.now(), newId: this.deps.newId },
    );
    // A provider that answered the person itself sent the confirmation: there is none of ours to record.
    const handled = request.providerHandled === true;
    const events = handled ? decision.events.filter((e) => e.type !== 'ConfirmationSent') : decision.events;
    const appended = await log.append(events);
    const fresh = appended.filter((a) => !a.duplicate);
    for (const a of fresh) this.deps.onRecorded?.(a.event);
    // A provider retrying a webhook we already applied gets no second confirmation.
    const replayed = appended.length > 0 && appended.every((a) => a.duplicate);
    return { classification, appended, reply: replayed || handled ? null : decision.reply };
  }

  private serialised<T>(phone: E164, work: () => Promise<T>): Promise<T> {
    const previous = this.phoneLocks.get(phone) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.phoneLocks.set(phone, tail);
    void tail.then(() => {
      if (this.phoneLocks.get(phone) === tail) this.phoneLocks.delete(phone);
    });
    return next;
  }
}

/** The provider's reading of a message it acted on replaces ours when the two differ. */
function actedOn(classification: Classification, intent: ProviderIntent | undefined): Classification {
  if (intent === undefined || intent === classification.intent) return classification;
  return { ...classification, intent, confidence: 1, matched: `provider:${intent}`, global: false };
}

function tryParse(value: string, region: Region): E164 | undefined {
  try {
    return parsePhone(value, region);
  } catch {
    return undefined;
  }
}
