import { classifyKeyword, type Classification } from '../classifier/index.js';
import {
  assertName,
  LedgerError,
  parsePhone,
  type E164,
  type LedgerEvent,
  type PhoneHistory,
  type Region,
} from '../ledger/index.js';
import type { Appended, EventLog } from '../log/index.js';
import { policyFor, routeInbound, type BrandDirectory } from './brands.js';
import { decideInbound, decideRecord, sameFact, type RecordConsent } from './decide.js';

export interface IntakeDeps {
  readonly log: EventLog;
  /** A phone's consent facts as the log holds them now: replies are decided against them. */
  readonly historyOf: (phone: E164) => Promise<PhoneHistory>;
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
}

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

  constructor(private readonly deps: IntakeDeps) {}

  async record(command: RecordConsent): Promise<Appended> {
    const event = decideRecord(command, { now: this.deps.now(), newId: this.deps.newId });
    const [appended] = await this.deps.log.append([event]);
    if (appended === undefined) throw new LedgerError('internal', 'the log acknowledged nothing');
    if (appended.duplicate && !sameFact(appended.event, event)) {
      throw new LedgerError(
        'event_id_conflict',
        `eventId ${event.eventId} was already used for a different event (${appended.event.type} at ${appended.event.scope}); use a new eventId`,
      );
    }
    if (!appended.duplicate) this.deps.onRecorded?.(appended.event);
    return appended;
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
    const classification = classifyKeyword(request.body);
    return this.serialised(from, () => this.decideAndAppend(from, request, route, classification));
  }

  private async decideAndAppend(
    from: E164,
    request: InboundRequest,
    route: { brand: string; program?: string },
    classification: Classification,
  ): Promise<InboundResult> {
    const { log } = this.deps;
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
    const appended = await log.append(decision.events);
    const fresh = appended.filter((a) => !a.duplicate);
    for (const a of fresh) this.deps.onRecorded?.(a.event);
    // A provider retrying a webhook we already applied gets no second confirmation.
    const replayed = appended.length > 0 && appended.every((a) => a.duplicate);
    return { classification, appended, reply: replayed ? null : decision.reply };
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

function tryParse(value: string, region: Region): E164 | undefined {
  try {
    return parsePhone(value, region);
  } catch {
    return undefined;
  }
}
