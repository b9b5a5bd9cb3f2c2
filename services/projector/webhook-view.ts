import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  EMPTY_HISTORY,
  LedgerError,
  scopeStates,
  START,
  type E164,
  type EffectiveState,
  type EventType,
  type PhoneHistory,
  type Position,
  type ScopeKey,
  type Status,
} from '../ledger/index.js';
import { pointToken, type LogRecord, type Undecodable } from '../log/index.js';
import { HttpFailure, isRetriable, postOnce, retry } from '../retry/index.js';
import { DeadLetterFile, type Settled } from './dead-letter-file.js';
import { assertFollows, VIEW_NAME } from './names.js';
import { syncDirectory, writeDurably } from './durable-file.js';
import { answerChanged, foldRecords, scopeRows } from './fold-batch.js';
import type { ProjectionCondition } from './runner.js';
import { rowFor, type ScopeRow, type SystemView, type ViewAnswer } from './system-view.js';

/** What the CRM receives: one POST per scope whose (status, allowed) changed, JSON. */
export interface WebhookChange {
  /** The view's name: which ledger feed this is. */
  readonly view: string;
  readonly phone: string;
  readonly scope: ScopeKey;
  /** `unknown` (allowed false) while the log holds an unreadable record for the phone: fail closed. */
  readonly status: Status | 'unknown';
  readonly allowed: boolean;
  /** occurredAt (ISO) of the fact that caused the status; null for no_record and unknown. */
  readonly since: string | null;
  /** The event id of that fact; null for no_record and unknown. */
  readonly eventId: string | null;
  /** The type of the record that made the change; null for a repair or an unreadable record. */
  readonly eventType: EventType | null;
  /** That record's position token (`P:N`); null for a repair (not caused by one record). */
  readonly position: string | null;
  /** That record's occurredAt and recordedAt (ISO); for a repair the cause's; null when unknown. */
  readonly occurredAt: string | null;
  readonly recordedAt: string | null;
  /** Why the status is unknown: the log holds a record for this phone that no schema can read. */
  readonly quarantined?: string;
}

/** One line of `<dataDir>/views/<name>.dead-letter.jsonl`: a change the CRM never accepted. */
export interface DeadLetter {
  /** When it was given up (ISO). */
  readonly at: string;
  readonly idempotencyKey: string;
  readonly url: string;
  /** The body that was (or would have been) POSTed; null for an unreadable record without a key. */
  readonly body: WebhookChange | null;
  readonly attempts: number;
  /** The last HTTP status, when the receiver answered. */
  readonly status?: number;
  readonly lastError: string;
}

/** An owed dead letter as listed for an operator. */
export type OwedLetter = DeadLetter & {
  /**
   * The log has since moved this row on and a later push carries its state: a replay retires the
   * letter without sending it (sending it would put an old state back).
   */
  readonly superseded: boolean;
};

/** What one replay of a view's dead letters did. */
export interface ReplayReport {
  readonly view: string;
  /** Accepted by the receiver this time, with their original idempotency keys and bodies. */
  readonly sent: number;
  /** Not resent: a later push for the same phone and scope carries the state the log gives now. */
  readonly superseded: number;
  /** Records without a phone (unreadable, keyless): nothing to send; retired as acknowledged. */
  readonly unsendable: number;
  /** Tried and refused again: still owed. */
  readonly failed: number;
  /** Still owed after the replay (failed, untried after the receiver proved down, or written meanwhile). */
  readonly remaining: number;
  /** The first refusals, for the operator. */
  readonly errors: readonly { readonly idempotencyKey: string; readonly lastError: string }[];
  /** Set when the replay stopped early: the receiver is down or overloaded, so the rest were not tried. */
  readonly stoppedEarly?: string;
}

/** One failed POST attempt; `retryInMs` is null when it was the last (the change is dead-lettered). */
export class WebhookAttemptError extends LedgerError {
  constructor(
    message: string,
    readonly idempotencyKey: string,
    readonly attempt: number,
    readonly retryInMs: number | null,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super('unavailable', message, options);
  }
}

export interface WebhookViewOptions {
  /** The view's name: in idempotency keys, bodies and file names (letters, digits, '.', '_', '-'). */
  readonly name: string;
  /** The CRM endpoint (http or https); credentials go in `headers`, not in the URL. */
  readonly url: string;
  /** Sent with every POST (authorization …); content-type and idempotency-key are always the view's. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The checkpoint and dead-letter files live in `<dataDir>/views`. */
  readonly dataDir: string;
  /** Attempts per change before it is dead-lettered (default 8). */
  readonly maxAttempts?: number;
  /** First retry delay (default 200 ms); doubles per attempt, with jitter, up to maxBackoffMs. */
  readonly initialBackoffMs?: number;
  /** Longest wait between attempts, Retry-After included (default 30 s). */
  readonly maxBackoffMs?: number;
  /** Per attempt (default 5 s); a timeout is retried. */
  readonly timeoutMs?: number;
  /** Observers (metrics, alerts). They run inside delivery: one that throws fails the batch. */
  readonly onDeadLetter?: (entry: DeadLetter) => void;
  readonly onAttemptFailed?: (error: WebhookAttemptError) => void;
}

/** The durable "already pushed" mark of one partition; the event id detects a checkpoint of another log. */
interface SentMark {
  readonly position: Position;
  readonly eventId: string | null;
}

interface CheckpointFile {
  readonly view: string;
  readonly sent: readonly (SentMark | null)[];
  readonly writtenAt: string;
}

/** What a change is attributed to in its body. */
interface Origin {
  readonly position: string | null;
  readonly eventType: EventType | null;
  readonly occurredAt: number | null;
  readonly recordedAt: number | null;
}

/** How many refusals a replay report lists. */
const REPORT_ERRORS = 20;
const DEFAULTS = { maxAttempts: 8, initialBackoffMs: 200, maxBackoffMs: 30_000, timeoutMs: 5_000 };

/**
 * Pushes every change of a phone's suppression state to a CRM endpoint by HTTP POST, so a CRM that
 * cannot read Redis or PostgreSQL still learns each STOP in real time. The CRM holds the state, so this
 * view is not `readable`: `check` and `rows` answer what the CRM has been told.
 *
 * State and its cost: the phones' histories are kept in memory (one array of consent facts per phone
 * with any fact — the price of computing "did this record change the phone's state?") and rebuilt at
 * every start by replaying the whole log, so a start takes as long as a replay of the log. The durable
 * part is small: per partition, the last position already pushed (`<name>.checkpoint.json`, written to
 * a temporary file, fsynced, renamed, directory fsynced). Records at or below it only rebuild memory;
 * records above it are POSTed. The checkpoint is written after each batch's POSTs and before
 * `applyBatch` resolves, so a crash mid-batch re-sends at most that batch's changes (up to one read
 * batch of the log) with the same idempotency keys, which the receiver must dedupe on.
 *
 * Delivery, per partition in log order and one change at a time: 2xx is delivered; 408, 429, 5xx, a
 * network error or a timeout is retried with exponential backoff and jitter (Retry-After honoured, capped
 * at maxBackoffMs) up to maxAttempts; any other answer is permanent. A change given up is appended to
 * `<name>.dead-letter.jsonl` (fsynced) for an operator and the view moves on: the change is on disk and
 * the event is still on the log. Retries happen inside `applyBatch`, so the runner stays healthy while
 * they run and shows the wait as lag; `close()` cuts them short (the batch is then re-fed at next start).
 *
 * A phone the log holds an unreadable record for is pushed as `unknown` (allowed false) at global and
 * at each of its rows, then and for every later change, so the CRM fails closed as the gate does. The
 * checkpoint only covers one endpoint and one log: pointing the view at a new CRM needs a rebuild
 * (`staging` + `promote`), and a checkpoint that names another event than the log holds at its position
 * is refused rather than trusted.
 */
export class WebhookView implements SystemView {
  readonly kind = 'webhook';
  readonly readable = false;
  readonly name: string;
  private readonly url: string;
  private readonly headers: Headers;
  private readonly viewsDir: string;
  private checkpointFile: string;
  /** What the receiver is owed; shared with a staging copy so a rebuild's dead letters are kept too. */
  private letters: DeadLetterFile;
  private readonly maxAttempts: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly timeoutMs: number;
  /** A staging view starts from an empty checkpoint whatever a past rebuild left. */
  private fresh = false;

  private readonly histories = new Map<E164, PhoneHistory>();
  /** Per partition, the last record folded into memory. */
  private readonly applied: Position[] = [];
  /** Per partition, what the checkpoint file says was pushed. */
  private sent: (SentMark | undefined)[] = [];
  private readonly unreadable = new Map<string, Undecodable>();
  private opened = false;
  private closing = new AbortController();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Checkpoint and dead-letter writes, one at a time (partitions may be fed concurrently). */
  private files: Promise<unknown> = Promise.resolve();
  /** Set while a replay runs: feeding waits for it, so a replay and live pushes never interleave. */
  private replayBarrier: Promise<void> | undefined;
  /** Batches (and repairs) past the barrier and running: a replay starts when they are done. */
  private readonly feeding = new Set<Promise<unknown>>();
  private replaying: Promise<ReplayReport> | undefined;

  constructor(private readonly options: WebhookViewOptions) {
    // The name is part of file names and idempotency keys.
    this.name = assertFollows(VIEW_NAME, 'webhook view name', options.name);
    this.url = validUrl(options.url);
    this.headers = validHeaders(options.headers ?? {});
    this.maxAttempts = positiveInteger('maxAttempts', options.maxAttempts ?? DEFAULTS.maxAttempts);
    this.initialBackoffMs = nonNegative(
      'initialBackoffMs',
      options.initialBackoffMs ?? DEFAULTS.initialBackoffMs,
    );
    this.maxBackoffMs = nonNegative('maxBackoffMs', options.maxBackoffMs ?? DEFAULTS.maxBackoffMs);
    this.timeoutMs = positiveInteger('timeoutMs', options.timeoutMs ?? DEFAULTS.timeoutMs);
    this.viewsDir = join(options.dataDir, 'views');
    this.checkpointFile = join(this.viewsDir, `${this.name}.checkpoint.json`);
    this.letters = new DeadLetterFile(this.viewsDir, this.name);
  }

  async open(): Promise<void> {
    if (this.opened) return;
    await mkdir(this.viewsDir, { recursive: true });
    if (this.fresh) {
      await rm(this.checkpointFile, { force: true });
      this.sent = [];
    } else {
      this.sent = await this.readCheckpoint();
    }
    await this.letters.load();
    this.closing = new AbortController();
    this.opened = true;
  }

  /**
   * Stops at once: a POST in flight or a backoff is aborted, and the batch it was in rejects (it is
   * re-fed at the next start). Close the view before, or together with, stopping its runner: the
   * runner's stop waits for the batch in hand, which may be sleeping out a 30 s Retry-After.
   */
  async close(): Promise<void> {
    this.opened = false;
    this.closing.abort();
    await Promise.allSettled([...this.inFlight]);
    await this.files.catch(() => undefined);
  }

  /**
   * Memory is the state, so a partition resumes where memory is: the start of the log for a new
   * instance (every start replays), and no replay again when the same instance is reassigned it.
   */
  checkpoint(partition: number): Promise<Position> {
    return Promise.resolve(this.applied[partition] ?? START);
  }

  applyBatch(records: readonly LogRecord[]): Promise<void> {
    return this.feed(() => this.applyInOrder(records));
  }

  quarantine(record: Undecodable): Promise<void> {
    return this.feed(() => this.quarantineInOrder(record));
  }

  /**
   * Unhealthy while the receiver is owed a change: `/v1/views` and `ledger_view_healthy` show it. Checks
   * are not all failed for it: only the phones owed a change answer unknown (see `check`), because
   * every other phone's changes were accepted and the receiver holds what the log says for them.
   */
  condition(): ProjectionCondition {
    const owed = this.letters.size;
    if (owed === 0) return { healthy: true, deadLetters: 0 };
    const latest = this.letters.latest();
    return {
      healthy: false,
      deadLetters: owed,
      lastError: `${owed} change${owed === 1 ? '' : 's'} for ${this.letters.phones} phone${this.letters.phones === 1 ? '' : 's'} never accepted by ${this.url}, kept in ${this.letters.file} (dead letters); those phones answer unknown until they are replayed (ledger deadletters replay ${this.name}); last: ${latest?.lastError ?? 'unknown error'}`,
    };
  }

  check(phone: E164, brand: string, program?: string): Promise<ViewAnswer> {
    const unreadable = this.unreadable.get(phone);
    if (unreadable !== undefined) {
      return Promise.resolve({
        status: 'unknown',
        allowed: false,
        since: null,
        eventId: null,
        quarantined: unreadable.reason,
      });
    }
    // The receiver was never told this phone's change (or, for a keyless unreadable record, some
    // phone's): what it holds cannot be vouched for until the dead letter is replayed.
    const owed = this.letters.owedFor(phone) ?? (this.letters.unattributed > 0 ? undefined : null);
    if (owed !== null) {
      return Promise.resolve({
        status: 'unknown',
        allowed: false,
        since: null,
        eventId: null,
        reason:
          owed === undefined
            ? `${this.letters.unattributed} unreadable log record(s) without a phone could not be pushed to ${this.url}: any phone may be missing a change there until they are replayed`
            : `${this.url} never accepted a change for this number (${owed.idempotencyKey}: ${owed.lastError}); it is a dead letter until replayed`,
      });
    }
    const row = rowFor(scopeRows(phone, this.histories.get(phone) ?? EMPTY_HISTORY), brand, program);
    return Promise.resolve({
      status: row?.status ?? 'no_record',
      allowed: row?.allowed ?? true,
      since: row?.since ?? null,
      eventId: row?.eventId ?? null,
    });
  }

  rows(): AsyncIterable<ScopeRow> {
    const rows = this.rowsInMemory();
    return { [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve(rows.next()) }) };
  }

  /**
   * POSTs every row the history gives (and no_record for a scope memory had that it does not give),
   * then makes it memory. Keys name the cause, so repeating a repair is deduped by the receiver.
   * Rejects, after trying every row, when any was dead-lettered.
   */
  async repair(phone: E164, history: PhoneHistory): Promise<void> {
    await this.feed(() => this.repairInOrder(phone, history));
  }

  /** The dead letters owed to the receiver, oldest first, each saying whether a replay would resend it. */
  deadLetters(): OwedLetter[] {
    return this.letters.list().map((letter) => ({ ...letter, superseded: !this.stillOwed(letter) }));
  }

  /**
   * Resends the owed dead letters, oldest first, each with its original idempotency key and body, one
   * attempt each: accepted ones are settled; refused ones stay owed with the new attempt and error; a
   * receiver that is down or overloaded (network error, timeout, 408, 429, 5xx) ends the replay, the
   * rest untried. A letter whose row the log has moved on since is retired unsent (see `stillOwed`).
   * Live pushes wait while it runs (and it waits for the batch in hand), so a replayed change and a
   * newer one for the same phone never cross on the wire. A second call while one runs gets the same.
   */
  replayDeadLetters(): Promise<ReplayReport> {
    this.assertOpen();
    this.replaying ??= this.track(this.replay()).finally(() => {
      this.replaying = undefined;
    });
    return this.replaying;
  }

  /**
   * The same view with a checkpoint of its own (`<name>.staging.checkpoint.json`, emptied), opened: fed
   * from the start of the log it re-sends every change with its original idempotency key, and `promote`
   * renames its checkpoint over the live one. A live instance still running afterwards keeps its own
   * position in memory and writes it at its next batch; stop it before promoting.
   */
  async staging(): Promise<WebhookView & { promote(): Promise<void> }> {
    const staged = new WebhookView(this.options);
    staged.checkpointFile = join(this.viewsDir, `${this.name}.staging.checkpoint.json`);
    staged.letters = this.letters;
    staged.fresh = true;
    await staged.open();
    const live = this.checkpointFile;
    const promote = async (): Promise<void> => {
      await staged.serially(async () => {
        // Written even when nothing was sent, so the rename always has a file to move.
        await writeDurably(staged.viewsDir, staged.checkpointFile, staged.checkpointJson(staged.sent));
        await rename(staged.checkpointFile, live);
        await syncDirectory(staged.viewsDir);
      });
    };
    return Object.assign(staged, { promote });
  }

  private async applyInOrder(records: readonly LogRecord[]): Promise<void> {
    this.assertOpen();
    const last = records[records.length - 1];
    if (last === undefined) return;
    const { partition } = last;
    const sent = this.sent[partition];
    const { steps } = foldRecords(this.histories, records, (p) => this.applied[p] ?? START);
    for (const { record, before, after } of steps) {
      if (sent !== undefined && record.position === sent.position) this.assertSameLog(record, sent);
      const phone = record.event.phone;
      if (after !== before && record.position > (sent?.position ?? START)) {
        const origin: Origin = {
          position: pointToken(record),
          eventType: record.event.type,
          occurredAt: record.event.occurredAt,
          recordedAt: record.event.recordedAt,
        };
        for (const row of changedRows(phone, before, after)) {
          const key = `${this.name}:${partition}:${record.position}:${row.scope}`;
          await this.deliver(key, this.body(phone, row.scope, row, origin));
        }
      }
      // Only once its changes are out: a batch cut short is re-fed and sends what it had not sent.
      if (after !== before) this.histories.set(phone, after);
      this.applied[partition] = record.position;
    }
    if (last.position > (sent?.position ?? START)) {
      await this.saveSent(partition, { position: last.position, eventId: last.event.eventId });
    }
  }

  private async quarantineInOrder(record: Undecodable): Promise<void> {
    this.assertOpen();
    const { partition, position, key } = record;
    if (position <= (this.applied[partition] ?? START)) return;
    const sent = this.sent[partition]?.position ?? START;
    if (key !== null) this.unreadable.set(key, record);
    if (position > sent) {
      const scopes = new Set<ScopeKey>(['global']);
      for (const scope of scopeStates(this.histories.get(key as E164) ?? EMPTY_HISTORY).keys()) {
        scopes.add(scope);
      }
      const origin: Origin = {
        position: pointToken(record),
        eventType: null,
        occurredAt: null,
        recordedAt: null,
      };
      for (const scope of scopes) {
        const idempotencyKey = `${this.name}:${partition}:${position}:${scope}`;
        if (key === null) {
          await this.deadLetter({
            at: new Date().toISOString(),
            idempotencyKey,
            url: this.url,
            body: null,
            attempts: 0,
            lastError: `the record at ${pointToken(record)} cannot be read (${record.reason}) and has no key: no phone to fail closed for`,
          });
        } else {
          await this.deliver(idempotencyKey, this.body(key, scope, undefined, origin));
        }
      }
    }
    this.applied[partition] = position;
    if (position > sent) await this.saveSent(partition, { position, eventId: null });
  }

  private async repairInOrder(phone: E164, history: PhoneHistory): Promise<void> {
    this.assertOpen();
    const states = scopeStates(history);
    const removed = [...scopeStates(this.histories.get(phone) ?? EMPTY_HISTORY).keys()].filter(
      (scope) => !states.has(scope),
    );
    let undelivered = 0;
    const push = async (scope: ScopeKey, state: EffectiveState): Promise<void> => {
      const cause = state.cause;
      const key = `${this.name}:repair:${phone}:${scope}:${cause?.eventId ?? 'none'}`;
      const origin: Origin = {
        position: null,
        eventType: null,
        occurredAt: cause?.occurredAt ?? null,
        recordedAt: cause?.recordedAt ?? null,
      };
      const answer = {
        status: state.status,
        allowed: state.allowed,
        since: cause?.occurredAt ?? null,
        eventId: cause?.eventId ?? null,
      };
      if (!(await this.deliver(key, this.body(phone, scope, answer, origin)))) undelivered += 1;
    };
    for (const [scope, state] of states) await push(scope, state);
    for (const scope of removed) await push(scope, { status: 'no_record', allowed: true });
    if (history.length === 0) this.histories.delete(phone);
    else this.histories.set(phone, history);
    if (undelivered > 0) {
      throw new LedgerError(
        'unavailable',
        `${undelivered} of ${states.size + removed.length} rows of ${phone} could not be pushed to ${this.url}; they are in ${this.letters.file}`,
      );
    }
  }

  /** A change as the CRM gets it; a phone the log holds an unreadable record for is unknown at every scope. */
  private body(phone: string, scope: ScopeKey, row: RowAnswer | undefined, origin: Origin): WebhookChange {
    const unreadable = this.unreadable.get(phone);
    const known = unreadable === undefined ? row : undefined;
    return {
      view: this.name,
      phone,
      scope,
      status: known?.status ?? 'unknown',
      allowed: known?.allowed ?? false,
      since: iso(known?.since ?? null),
      eventId: known?.eventId ?? null,
      eventType: origin.eventType,
      position: origin.position,
      occurredAt: iso(origin.occurredAt),
      recordedAt: iso(origin.recordedAt),
      ...(unreadable !== undefined && { quarantined: unreadable.reason }),
    };
  }

  /** POSTs until delivered or given up (then dead-lettered): true when delivered. Rejects only on close. */
  private async deliver(idempotencyKey: string, body: WebhookChange): Promise<boolean> {
    const payload = JSON.stringify(body);
    let attempts = 0;
    try {
      await retry(() => this.post(idempotencyKey, payload), {
        initialMs: this.initialBackoffMs,
        maxMs: this.maxBackoffMs,
        maxAttempts: this.maxAttempts,
        signal: this.closing.signal,
        onError: (error, { attempt, retryInMs }) => {
          attempts = attempt;
          const failure = asHttpFailure(error);
          this.options.onAttemptFailed?.(
            new WebhookAttemptError(
              `POST ${this.url} (${idempotencyKey}) attempt ${attempt}: ${failure.message}`,
              idempotencyKey,
              attempt,
              retryInMs,
              failure.status,
              { cause: failure.cause },
            ),
          );
        },
      });
      return true;
    } catch (error) {
      // Closed while waiting or posting: the batch rejects, and is re-fed at the next start.
      this.assertNotClosing();
      // Only the receiver's failures are given up: an observer that threw, or a bug, fails the batch
      // (the runner retries it, and reports it).
      if (attempts === 0 || !(error instanceof HttpFailure)) throw error;
      await this.deadLetter({
        at: new Date().toISOString(),
        idempotencyKey,
        url: this.url,
        body,
        attempts,
        ...(error.status !== undefined && { status: error.status }),
        lastError: error.message,
      });
      return false;
    }
  }

  /** One POST: resolves when the receiver accepted it (2xx), rejects with HttpFailure otherwise. */
  private async post(idempotencyKey: string, payload: string): Promise<void> {
    this.assertNotClosing();
    const headers = new Headers(this.headers);
    headers.set('content-type', 'application/json');
    headers.set('idempotency-key', idempotencyKey);
    try {
      await postOnce(this.url, {
        headers,
        body: payload,
        timeoutMs: this.timeoutMs,
        // A redirect is a misconfigured URL (and would turn the POST into a GET): not followed.
        redirect: 'manual',
        signal: this.closing.signal,
      });
    } catch (error) {
      this.assertNotClosing();
      throw error;
    }
  }

  private async deadLetter(entry: DeadLetter): Promise<void> {
    await this.letters.add(entry);
    this.options.onDeadLetter?.(entry);
  }

  private async replay(): Promise<ReplayReport> {
    let release = (): void => undefined;
    this.replayBarrier = new Promise<void>((resolve) => (release = resolve));
    const results = new Map<string, Settled>();
    const errors: { idempotencyKey: string; lastError: string }[] = [];
    let stoppedEarly: string | undefined;
    try {
      // The batch in hand finishes first (it may be retrying): memory then holds every change pushed.
      await Promise.allSettled([...this.feeding]);
      // Letters are judged against memory: one that has not re-applied what was pushed (a start still
      // replaying the log) would take every letter for superseded and retire it unsent.
      const behind = this.sent.flatMap((mark, partition) =>
        mark !== undefined && (this.applied[partition] ?? START) < mark.position
          ? [pointToken({ partition, position: mark.position })]
          : [],
      );
      if (behind.length > 0) {
        throw new LedgerError(
          'unavailable',
          `webhook view ${this.name} has not re-applied the log up to what it pushed (${behind.join(', ')}); replay its dead letters once GET /v1/views shows it ready`,
        );
      }
      for (const letter of this.letters.list()) {
        this.assertNotClosing();
        const { idempotencyKey, body } = letter;
        const point = body?.position === undefined ? undefined : parsePoint(body.position);
        if (point !== undefined && (this.applied[point.partition] ?? START) < point.position) {
          // On Kafka another process may own the partition now: its memory, not this one, can judge.
          if (errors.length < REPORT_ERRORS) {
            errors.push({
              idempotencyKey,
              lastError: `not tried: this process has not applied ${body?.position ?? ''} (its partition is not assigned here)`,
            });
          }
          continue;
        }
        if (body === null) {
          results.set(idempotencyKey, { outcome: 'unsendable' });
        } else if (!this.stillOwed(letter)) {
          results.set(idempotencyKey, { outcome: 'superseded' });
        } else {
          const outcome = await this.post(idempotencyKey, JSON.stringify(body)).then(
            () => undefined,
            (error: unknown) => {
              this.assertNotClosing();
              return asHttpFailure(error);
            },
          );
          if (outcome === undefined) {
            results.set(idempotencyKey, { outcome: 'sent' });
            continue;
          }
          // This attempt's status, or none (a network error): never the last attempt's.
          const failed: DeadLetter = {
            at: new Date().toISOString(),
            idempotencyKey,
            url: letter.url,
            body,
            attempts: letter.attempts + 1,
            ...(outcome.status !== undefined && { status: outcome.status }),
            lastError: outcome.message,
          };
          results.set(idempotencyKey, { outcome: 'failed', letter: failed });
          if (errors.length < REPORT_ERRORS) errors.push({ idempotencyKey, lastError: outcome.message });
          if (outcome.retriable) {
            stoppedEarly = `${this.url} is unavailable (${outcome.message}): the rest were not tried`;
            break;
          }
        }
      }
    } finally {
      // What was settled before a close stays settled; the rest is still owed.
      await this.letters.settle(results, new Date());
      this.replayBarrier = undefined;
      release();
    }
    const count = (outcome: Settled['outcome']): number =>
      [...results.values()].filter((r) => r.outcome === outcome).length;
    return {
      view: this.name,
      sent: count('sent'),
      superseded: count('superseded'),
      unsendable: count('unsendable'),
      failed: count('failed'),
      remaining: this.letters.size,
      errors,
      ...(stoppedEarly !== undefined && { stoppedEarly }),
    };
  }

  /**
   * Whether the receiver still needs this letter: its row's (status, allowed) is what memory — the fold
   * of every record pushed or dead-lettered — says now. Pushes are made exactly when a row's (status,
   * allowed) changes, so if it differs now, a later push for the same phone and scope carries the
   * current state (delivered, or itself owed and resent); resending this one would put back an old
   * state — a stale opt-in lifting a later opt-out at the CRM. The cause's event id is not compared: a
   * wider-scope event can become a row's cause without changing its answer, and no push follows.
   */
  private stillOwed(letter: DeadLetter): boolean {
    const { body } = letter;
    if (body === null) return false;
    if (this.unreadable.has(body.phone)) return body.status === 'unknown';
    const state = scopeStates(this.histories.get(body.phone as E164) ?? EMPTY_HISTORY).get(body.scope);
    return (state?.status ?? 'no_record') === body.status && (state?.allowed ?? true) === body.allowed;
  }

  /** Feeding waits while a replay runs, and a replay waits for the feeding already under way. */
  private feed<T>(work: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      while (this.replayBarrier !== undefined) await this.replayBarrier;
      // Registered in the same tick as the barrier was found open, so a replay starting now waits for it.
      const running = work();
      this.feeding.add(running);
      try {
        return await running;
      } finally {
        this.feeding.delete(running);
      }
    };
    return this.track(run());
  }

  private async saveSent(partition: number, mark: SentMark): Promise<void> {
    await this.serially(async () => {
      const next = [...this.sent];
      next[partition] = mark;
      await writeDurably(this.viewsDir, this.checkpointFile, this.checkpointJson(next));
      this.sent = next;
    });
  }

  private checkpointJson(sent: readonly (SentMark | undefined)[]): string {
    const file: CheckpointFile = {
      view: this.name,
      sent: Array.from(sent, (mark) => mark ?? null),
      writtenAt: new Date().toISOString(),
    };
    return `${JSON.stringify(file)}\n`;
  }

  private async readCheckpoint(): Promise<(SentMark | undefined)[]> {
    let text: string;
    try {
      text = await readFile(this.checkpointFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const invalid = (why: string): LedgerError =>
      new LedgerError(
        'invalid_config',
        `${this.checkpointFile} is not a checkpoint of webhook view ${this.name} (${why}); remove it to push every change again (receivers dedupe on the idempotency key)`,
      );
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw invalid('not JSON');
    }
    if (!isCheckpointFile(parsed)) throw invalid('unexpected shape');
    if (parsed.view !== this.name) throw invalid(`it belongs to view ${parsed.view}`);
    return parsed.sent.map((mark) => mark ?? undefined);
  }

  /**
   * The checkpoint names the event at its position: another event there means the log was replaced
   * (a new topic, another data directory), and trusting the checkpoint would silently skip pushes.
   */
  private assertSameLog(record: LogRecord, sent: SentMark): void {
    if (sent.eventId === null || sent.eventId === record.event.eventId) return;
    throw new LedgerError(
      'invalid_config',
      `webhook view ${this.name}: ${this.checkpointFile} says event ${sent.eventId} was pushed at ${pointToken({ partition: record.partition, position: sent.position })}, but the log holds ${record.event.eventId} there — it was written for another log; remove it to push every change to ${this.url} again`,
    );
  }

  private *rowsInMemory(): Generator<ScopeRow, undefined> {
    for (const [phone, history] of this.histories) yield* scopeRows(phone, history).values();
    return undefined;
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.files.then(work);
    this.files = run.catch(() => undefined);
    return run;
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    const forget = (): void => {
      this.inFlight.delete(work);
    };
    work.then(forget, forget);
    return work;
  }

  private assertOpen(): void {
    if (!this.opened) {
      throw new LedgerError(
        'unavailable',
        `webhook view ${this.name} is not open: open() it before feeding it`,
      );
    }
  }

  private assertNotClosing(): void {
    if (this.closing.signal.aborted) {
      throw new LedgerError('unavailable', `webhook view ${this.name} was closed`);
    }
  }
}

/** The rows whose answer (status, allowed) differs between two histories of a phone, as they are now. */
function changedRows(phone: E164, before: PhoneHistory, after: PhoneHistory): ScopeRow[] {
  const was = scopeRows(phone, before);
  return [...scopeRows(phone, after).values()].filter((row) => answerChanged(was.get(row.scope), row));
}

/** What a change says of its row. */
type RowAnswer = Pick<ScopeRow, 'status' | 'allowed' | 'since' | 'eventId'>;

/** A `P:N` position token, as bodies carry it; undefined for null (a repair) or anything else. */
function parsePoint(token: string | null): { partition: number; position: Position } | undefined {
  const match = token === null ? null : /^(\d+):(\d+)$/.exec(token);
  if (match === null) return undefined;
  return { partition: Number(match[1]), position: Number(match[2]) as Position };
}

/**
 * What a POST's failure is as an HttpFailure: post() throws nothing else short of a close (which the
 * caller handles first) or a bug, which is reported with what it says.
 */
function asHttpFailure(error: unknown): HttpFailure {
  if (error instanceof HttpFailure) return error;
  return new HttpFailure(error instanceof Error ? error.message : String(error), {
    retriable: isRetriable(error),
    cause: error,
  });
}

function iso(epochMs: number | null): string | null {
  return epochMs === null ? null : new Date(epochMs).toISOString();
}

function isCheckpointFile(value: unknown): value is CheckpointFile {
  if (typeof value !== 'object' || value === null) return false;
  const { view, sent } = value as Partial<Record<keyof CheckpointFile, unknown>>;
  return (
    typeof view === 'string' &&
    Array.isArray(sent) &&
    sent.every(
      (mark: unknown) =>
        mark === null ||
        (typeof mark === 'object' &&
          Number.isSafeInteger((mark as { position?: unknown }).position) &&
          ((mark as { eventId?: unknown }).eventId === null ||
            typeof (mark as { eventId?: unknown }).eventId === 'string')),
    )
  );
}

function validUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new LedgerError(
      'invalid_config',
      `webhook url "${url}" is not a URL: give one such as https://crm.example.com/hooks/stop`,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new LedgerError('invalid_config', `webhook url "${url}" must be http or https`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new LedgerError(
      'invalid_config',
      'the webhook url must not carry credentials (they would be written to the dead-letter file): put them in an authorization header',
    );
  }
  return parsed.href;
}

function validHeaders(headers: Readonly<Record<string, string>>): Headers {
  try {
    return new Headers(headers);
  } catch (error) {
    throw new LedgerError(
      'invalid_config',
      `webhook headers are not valid HTTP headers: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new LedgerError(
      'invalid_config',
      `webhook ${name} must be a whole number of at least 1, not ${value}`,
    );
  }
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new LedgerError(
      'invalid_config',
      `webhook ${name} must be a number of milliseconds, 0 or more, not ${value}`,
    );
  }
  return value;
}
