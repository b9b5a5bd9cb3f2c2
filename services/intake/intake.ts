import { classifyReply, createClassifier, type Classification } from '../classifier/index.js';
import {
  assertName,
  LedgerError,
  parsePhone,
  type E164,
  type ConfirmationSent,
  type LedgerEvent,
  type Position,
  type ScopeKey,
  type Region,
} from '../ledger/index.js';
import type { Appended, EventLog } from '../log/index.js';
import { policyFor, routeInbound, type BrandDirectory } from './brands.js';
import {
  decideInbound,
  decideRecord,
  decideReview,
  sameFact,
  type RecordConsent,
  type ReviewCommand,
} from './decide.js';
import type { OutboundGateway, Sent } from './outbound.js';
import type { IntakeReads } from './reads.js';

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
  /** A phone's facts, recorded event ids, the review queue: what intake decides against. */
  readonly reads: IntakeReads;
  /** The partition a phone's records are in (a repeated reply is answered with where it stands). */
  readonly partitionOf: (phone: E164) => number;
  readonly directory: BrandDirectory;
  readonly defaultRegion: Region;
  readonly now: () => number;
  readonly newId: () => string;
  readonly onRecorded?: (event: LedgerEvent) => void;
  /**
   * Where confirmations go when the provider does not take them in its webhook's reply: sent through
   * it, retried, and recorded on the log once accepted. Without one, they go in the reply.
   */
  readonly gateway?: OutboundGateway;
  /** The outcome of each confirmation sent through the gateway (metrics, logs). */
  readonly onConfirmation?: (
    outcome: 'sent' | 'failed',
    detail: Sent | Error,
    event: ConfirmationSent,
  ) => void;
}

export interface ReviewAnswer {
  readonly id: string;
  readonly outcome: 'confirmed' | 'dismissed';
  readonly eventId: string;
  readonly partition: number;
  readonly position: Position;
  readonly recordedAt: number;
  /** True when this decision was already recorded: the answer is the original's. */
  readonly duplicate: boolean;
  /** How the confirmed opt-out's confirmation goes out: through the gateway, or not at all. */
  readonly confirmation: 'gateway' | null;
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
  /** Who passed the message on (`actorOf`, or the provider whose signature was checked). */
  readonly actor: string;
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
  /** How the confirmation goes out: in this reply, through the outbound gateway, or none. */
  readonly confirmation: 'reply' | 'gateway' | null;
  /** A provider's retry of a message already recorded: the original record, nothing new appended. */
  readonly original?: { readonly eventId: string; readonly partition: number; readonly position: Position };
}

/**
 * Turns requests into events on the log. Replies for one phone are decided one at a time, so two
 * STOPs racing each other still yield exactly one confirmation.
 */
export class Intake {
  private readonly phoneLocks = new Map<E164, Promise<unknown>>();
  private readonly classifiers = new Map<string, (text: string) => Classification>();
  private readonly deliveries = new Set<Promise<void>>();

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
      command.eventId === undefined
        ? undefined
        : await this.deps.reads.findRecorded?.(event.phone, event.eventId);
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
    const history = await this.deps.reads.historyOf(from);
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
        actor: request.actor,
      },
      classification,
      history,
      policyFor(this.deps.directory, route.brand),
      { now: this.deps.now(), newId: this.deps.newId },
    );
    // A provider's retry of a message already recorded gets the original: the phone's facts, which
    // hold every id of its replies, told (on either log, with no second look-up).
    if (decision.repeat !== undefined) {
      return {
        classification,
        appended: [],
        reply: null,
        confirmation: null,
        original: {
          eventId: decision.repeat.eventId,
          partition: this.deps.partitionOf(from),
          position: decision.repeat.position,
        },
      };
    }
    // A provider that answered the person itself sent the confirmation: there is none of ours to record.
    // Through a gateway, the confirmation is recorded once the gateway has accepted it.
    const handled = request.providerHandled === true;
    const confirmation = decision.events.find((e): e is ConfirmationSent => e.type === 'ConfirmationSent');
    const viaGateway = !handled && confirmation !== undefined && this.deps.gateway !== undefined;
    const events =
      handled || viaGateway ? decision.events.filter((e) => e.type !== 'ConfirmationSent') : decision.events;
    const appended = await log.append(events);
    // The phone's facts knew every id of its replies; one the log holds for another fact can only be an
    // event recorded under a reply's id before such ids were reserved: an error, never a silent 200.
    const clash = appended.find((a, i) => a.duplicate && !sameFact(a.event, events[i] ?? a.event));
    if (clash !== undefined) {
      throw new LedgerError(
        'event_id_conflict',
        `event id ${clash.event.eventId} is held by another event (${clash.event.type} for ${clash.event.phone}); the reply was not recorded`,
      );
    }
    const fresh = appended.filter((a) => !a.duplicate);
    for (const a of fresh) this.deps.onRecorded?.(a.event);
    // A provider retrying a webhook we already applied gets no second confirmation.
    const replayed = appended.length > 0 && appended.every((a) => a.duplicate);
    if (replayed || handled) return { classification, appended, reply: null, confirmation: null };
    if (viaGateway) {
      this.sendThroughGateway(confirmation, request.to);
      return { classification, appended, reply: null, confirmation: 'gateway' };
    }
    return {
      classification,
      appended,
      reply: decision.reply,
      confirmation: confirmation === undefined ? null : 'reply',
    };
  }

  /**
   * Records a reviewer's decision on a suspected opt-out. A confirmed one that makes the phone opted out
   * gets its confirmation through the gateway when one is configured and the reply is less than five
   * minutes old; otherwise none is sent (the law's window has passed).
   */
  async review(command: ReviewCommand): Promise<ReviewAnswer> {
    const item = this.deps.reads.suspectedOptOut(command.id);
    if (item === undefined) {
      throw new LedgerError(
        'not_found',
        `no suspected opt-out with id ${command.id}; GET /v1/reviews lists the ones awaiting review`,
      );
    }
    const suspected = item.event;
    return this.serialised(suspected.phone, async () => {
      const history = await this.deps.reads.historyOf(suspected.phone);
      const now = this.deps.now();
      const decision = decideReview(
        suspected,
        history,
        command,
        policyFor(this.deps.directory, suspected.brand),
        { now },
      );
      if (decision.kind === 'repeat') {
        const { review } = decision;
        return {
          id: command.id,
          outcome: review.outcome,
          eventId: review.eventId,
          partition: item.partition,
          position: review.position,
          recordedAt: review.recordedAt,
          duplicate: true,
          confirmation: null,
        };
      }
      const [appended] = await this.deps.log.append([decision.event]);
      if (appended === undefined) throw new LedgerError('internal', 'the log acknowledged nothing');
      if (appended.duplicate) {
        const earlier = appended.event;
        if (earlier.type !== 'ReviewResolved' || earlier.outcome !== decision.event.outcome) {
          throw new LedgerError(
            'review_decided',
            `suspected opt-out ${command.id} was already decided (event ${earlier.eventId})`,
          );
        }
      } else {
        this.deps.onRecorded?.(appended.event);
      }
      // Through the gateway only: a review has no webhook reply to carry it.
      const confirmation =
        appended.duplicate || this.deps.gateway === undefined ? undefined : decision.confirmation;
      if (confirmation !== undefined) this.sendThroughGateway(confirmation, suspected.evidence.to);
      return {
        id: command.id,
        outcome: decision.event.outcome,
        eventId: appended.event.eventId,
        partition: appended.partition,
        position: appended.position,
        recordedAt: appended.event.recordedAt,
        duplicate: appended.duplicate,
        confirmation: confirmation === undefined ? null : 'gateway',
      };
    });
  }

  /** Waits for confirmations in flight (bounded by the gateway's own deadline; close the gateway first to stop). */
  async drain(): Promise<void> {
    await Promise.all([...this.deliveries]);
  }

  /**
   * Sends the confirmation through the gateway, then records it on the log. Not awaited by the request:
   * the opt-out is already durable, and the provider's webhook must be answered at once.
   */
  private sendThroughGateway(confirmation: ConfirmationSent, from: string | undefined): void {
    const gateway = this.deps.gateway;
    if (gateway === undefined) return;
    const delivery = (async () => {
      try {
        const sent = await gateway.send({
          to: confirmation.phone,
          from,
          brand: confirmation.brand,
          text: confirmation.text,
          idempotencyKey: confirmation.eventId,
        });
        const sentAt = this.deps.now();
        const event: ConfirmationSent = {
          ...confirmation,
          occurredAt: sentAt,
          recordedAt: sentAt,
          evidence: {
            ...confirmation.evidence,
            ...(sent.providerId !== undefined && { messageId: sent.providerId }),
            note: `sent through the outbound gateway: HTTP ${sent.status} after ${sent.attempts} attempt(s)`,
          },
        };
        const [appended] = await this.deps.log.append([event]);
        if (appended !== undefined && !appended.duplicate) this.deps.onRecorded?.(appended.event);
        this.deps.onConfirmation?.('sent', sent, event);
      } catch (error) {
        this.deps.onConfirmation?.(
          'failed',
          error instanceof Error ? error : new Error(String(error)),
          confirmation,
        );
      }
    })();
    this.deliveries.add(delivery);
    void delivery.finally(() => this.deliveries.delete(delivery));
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
