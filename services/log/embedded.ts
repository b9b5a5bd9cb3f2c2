import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { asPosition, LedgerError, type E164, type LedgerEvent, type Position } from '../ledger/index.js';
import type {
  Appended,
  CheckpointStore,
  Consumption,
  ConsumerSpec,
  Cursor,
  EventLog,
  LogRecord,
  PhoneHistorySource,
} from './port.js';

const SCHEMA_VERSION = 1;

interface Pending {
  readonly events: readonly LedgerEvent[];
  readonly bodies: readonly string[];
  readonly resolve: (appended: readonly Appended[]) => void;
  readonly reject: (error: unknown) => void;
}

interface Row {
  position: number;
  body: string;
}

const CONSUME_BATCH = 2000;
const READ_RETRY_MS = 100;
/** While appends fail, how often `writable()` may spend a write on finding out whether they work again. */
const PROBE_INTERVAL_MS = 1000;
/** A probe writes about one page: a row that fits in a page's free space would pass on a full disk. */
const PROBE_BYTES = 4096;

export interface EmbeddedLogOptions {
  /**
   * Caps the log file (SQLite's max_page_count), so the ledger stops taking appends before the disk
   * itself is full; appends beyond it fail as a full disk does (`unavailable`, retriable).
   */
  readonly maxBytes?: number;
}

/**
 * The embedded log: one partition in one SQLite file in WAL mode with synchronous=FULL, so an append is on disk before
 * it is acknowledged. Appends that arrive in the same tick share one transaction (group commit), which
 * keeps fsyncs per second, not per event, the limit.
 */
export class EmbeddedEventLog implements EventLog, PhoneHistorySource {
  readonly kind = 'embedded';
  private readonly db: Database.Database;
  private readonly statements;
  private queue: Pending[] = [];
  private flushScheduled = false;
  private lastPosition: Position;
  private waiters = new Set<() => void>();
  private closed = false;
  /** Why the last append could not be written (disk full, I/O error); cleared by the next that is. */
  private writeFailure: LedgerError | undefined;
  private lastProbeAt = 0;
  readonly checkpoints: CheckpointStore;

  private constructor(file: string, options: EmbeddedLogOptions) {
    this.db = openExclusive(file);
    migrate(this.db);
    if (options.maxBytes !== undefined) this.limitSize(options.maxBytes);
    this.statements = {
      insert: this.db.prepare<[string, string, string, number, string]>(
        'INSERT INTO events (event_id, phone, type, recorded_at, body) VALUES (?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING',
      ),
      byId: this.db.prepare<[string], Row>('SELECT position, body FROM events WHERE event_id = ?'),
      after: this.db.prepare<[number, number], Row>(
        'SELECT position, body FROM events WHERE position > ? ORDER BY position LIMIT ?',
      ),
      byPhone: this.db.prepare<[string], Row>(
        'SELECT position, body FROM events WHERE phone = ? ORDER BY position',
      ),
      head: this.db.prepare<[], { head: number | null }>('SELECT MAX(position) AS head FROM events'),
      count: this.db.prepare<[number], { n: number }>('SELECT COUNT(*) AS n FROM events WHERE position <= ?'),
      getCheckpoint: this.db.prepare<[string], { position: number }>(
        'SELECT position FROM checkpoints WHERE consumer = ?',
      ),
      setCheckpoint: this.db.prepare<[string, number, number]>(
        'INSERT INTO checkpoints (consumer, position, updated_at) VALUES (?, ?, ?) ON CONFLICT (consumer) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at',
      ),
      // A temporary table would live in memory and prove nothing about the file.
      probe: this.db.prepare<[number]>(
        "INSERT OR REPLACE INTO checkpoints (consumer, position, updated_at) VALUES ('(write probe)', 0, randomblob(?))",
      ),
      unprobe: this.db.prepare("DELETE FROM checkpoints WHERE consumer = '(write probe)'"),
    };
    this.lastPosition = this.storedHead();
    this.checkpoints = {
      get: (consumer) =>
        this.guard(() => asPosition(this.statements.getCheckpoint.get(consumer)?.position ?? 0)),
      set: (consumer, position) =>
        this.guard(() => {
          this.statements.setCheckpoint.run(consumer, position, Date.now());
        }),
    };
  }

  /**
   * Opens (or creates) the log under `dataDir`. The file is locked for this process alone: a second
   * ledger on the same directory would see a head and wake-ups that are not its own.
   */
  static open(dataDir: string, options: EmbeddedLogOptions = {}): EmbeddedEventLog {
    mkdirSync(dataDir, { recursive: true });
    return new EmbeddedEventLog(join(dataDir, 'ledger.sqlite'), options);
  }

  /**
   * Caps the file at about `maxBytes` (whole pages; never below what it holds already). Raising the cap
   * is to this log what freeing disk space is: appends work again.
   */
  limitSize(maxBytes: number): void {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    this.db.pragma(`max_page_count = ${Math.max(1, Math.floor(maxBytes / pageSize))}`);
  }

  /**
   * Why appends cannot be written now, or undefined when they can. Free while appends succeed; after
   * one failed, it tries a small write of its own (at most once a second) so that the log is known to
   * be writable again even when no append arrives — a load balancer that took the process out of
   * rotation sends none.
   */
  writable(): Promise<string | undefined> {
    if (this.closed) return Promise.resolve('the event log is closed');
    if (this.writeFailure === undefined) return Promise.resolve(undefined);
    const now = Date.now();
    if (now - this.lastProbeAt >= PROBE_INTERVAL_MS) {
      this.lastProbeAt = now;
      try {
        // Inserted and deleted in one transaction: the commit still writes the pages, so it meets the
        // same full disk (or size cap) an append would, and leaves nothing behind.
        this.db.transaction(() => {
          this.statements.probe.run(PROBE_BYTES);
          this.statements.unprobe.run();
        })();
        this.writeFailure = undefined;
      } catch (error) {
        this.writeFailure = storageError(error) ?? this.writeFailure;
      }
    }
    return Promise.resolve(this.writeFailure?.message);
  }

  append(events: readonly LedgerEvent[]): Promise<readonly Appended[]> {
    if (this.closed) return Promise.reject(new LedgerError('unavailable', 'the event log is closed'));
    if (events.length === 0) return Promise.resolve([]);
    let bodies: string[];
    try {
      // Serialised now, so what is stored is what the caller handed over, whatever it does next.
      bodies = events.map((event) => JSON.stringify(event));
    } catch (error) {
      return Promise.reject(
        new LedgerError('internal', 'an event could not be serialised for the log', { cause: error }),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ events, bodies, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Commits every caller queued in this tick in one transaction, each caller's group in a savepoint
   * so that one caller's failure fails only that caller. If the shared transaction itself is lost
   * (disk full, I/O error), each caller is retried in a transaction of its own, so every caller's answer
   * is the truth about its own events.
   */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    let outcomes: Outcome[];
    try {
      outcomes = this.db.transaction(() =>
        batch.map((pending): Outcome => {
          try {
            return { appended: this.db.transaction(() => this.insertGroup(pending))() };
          } catch (error) {
            // SQLite may have rolled back the whole transaction: stop before anything runs outside it.
            if (!this.db.inTransaction) throw error;
            return { error };
          }
        }),
      )();
    } catch {
      outcomes = batch.map((pending): Outcome => {
        try {
          return { appended: this.db.transaction(() => this.insertGroup(pending))() };
        } catch (error) {
          return { error };
        }
      });
    }
    let ok = false;
    let failure: LedgerError | undefined;
    for (const [index, pending] of batch.entries()) {
      const outcome = outcomes[index];
      if (outcome !== undefined && 'appended' in outcome) {
        ok = true;
        pending.resolve(outcome.appended);
      } else {
        const error = outcome?.error ?? new LedgerError('internal', 'the append was not attempted');
        const storage = storageError(error);
        failure ??= storage;
        pending.reject(storage ?? error);
      }
    }
    // What the next readiness check reports: the latest outcome wins (a success clears a failure).
    if (failure !== undefined) this.writeFailure = failure;
    else if (ok) this.writeFailure = undefined;
    if (ok) {
      this.lastPosition = this.storedHead();
      this.wake();
    }
  }

  private insertGroup({ events, bodies }: Pending): Appended[] {
    const { insert, byId } = this.statements;
    return events.map((event, i): Appended => {
      const body = bodies[i] ?? '';
      const info = insert.run(event.eventId, event.phone, event.type, event.recordedAt, body);
      if (info.changes === 1) {
        return {
          partition: 0,
          position: asPosition(Number(info.lastInsertRowid)),
          event: decode(body),
          duplicate: false,
        };
      }
      const original = byId.get(event.eventId);
      if (original === undefined) throw new Error(`event ${event.eventId} conflicted but is missing`);
      return {
        partition: 0,
        position: asPosition(original.position),
        event: decode(original.body),
        duplicate: true,
      };
    });
  }

  private storedHead(): Position {
    return asPosition(this.statements.head.get()?.head ?? 0);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }

  /** Runs synchronous SQLite work as a promise; a closed log or a failed statement rejects. */
  private guard<T>(work: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new LedgerError('unavailable', 'the event log is closed'));
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  partitions(): Promise<number> {
    return Promise.resolve(1);
  }

  /** Records after `after`, in log order, at most `limit`. */
  read(after: Position, limit: number): Promise<readonly LogRecord[]> {
    return this.guard(() => this.statements.after.all(after, limit).map(toRecord));
  }

  readPhone(phone: E164): Promise<readonly LogRecord[]> {
    return this.guard(() => this.statements.byPhone.all(phone).map(toRecord));
  }

  head(): Promise<Cursor> {
    return this.guard(() => [this.lastPosition]);
  }

  /**
   * How many records there are up to `upTo`. Not the head: SQLite's AUTOINCREMENT spends a position on
   * an insert that a duplicate event id turns into nothing, so positions have gaps.
   */
  count(upTo: Cursor): Promise<number> {
    return this.guard(() => this.statements.count.get(upTo[0] ?? 0)?.n ?? 0);
  }

  /** The last position of the only partition. */
  get last(): Position {
    return this.lastPosition;
  }

  /**
   * Reads after the checkpoint, delivers, repeats; when caught up it sleeps until an append wakes it, so
   * new records are applied without polling delay.
   */
  consume(spec: ConsumerSpec): Consumption {
    const controller = new AbortController();
    const { signal } = controller;
    const running = (async () => {
      let after = await spec.checkpoint(0);
      while (!signal.aborted && !this.closed) {
        let records: readonly LogRecord[];
        try {
          records = await this.read(after, CONSUME_BATCH);
        } catch {
          // A read that failed (I/O) is tried again, never skipped: the consumer's lag shows the wait.
          await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS));
          continue;
        }
        const last = records[records.length - 1];
        if (last === undefined) {
          await this.waitForAppend(after, signal);
          continue;
        }
        await spec.deliver(records, { partition: 0, head: this.lastPosition });
        after = last.position;
        // Reads are synchronous: a long replay gives the event loop a turn between batches.
        if (records.length === CONSUME_BATCH) await new Promise((resolve) => setImmediate(resolve));
      }
    })().catch(() => {
      // The contract: a rejecting checkpoint() or deliver() ends this consumption (the runner rejects
      // only once it is stopping); it must not surface as an unhandled rejection.
    });
    return {
      stop: async () => {
        controller.abort();
        await running;
      },
    };
  }

  waitForAppend(after: Position, signal?: AbortSignal): Promise<void> {
    if (this.lastPosition > after || this.closed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.flush();
    this.closed = true;
    this.wake();
    this.db.close();
    return Promise.resolve();
  }
}

type Outcome = { readonly appended: readonly Appended[] } | { readonly error: unknown };

/** SQLite's and the OS's ways of saying the storage cannot take the write now. */
const STORAGE_CODES: readonly RegExp[] = [
  /^SQLITE_FULL$/,
  /^SQLITE_IOERR/,
  /^SQLITE_READONLY/,
  /^SQLITE_CANTOPEN/,
  /^ENOSPC$/,
  /^EDQUOT$/,
  /^EIO$/,
  /^EROFS$/,
];

/**
 * A write the storage refused (disk full, I/O error, read-only file system) as a retriable
 * `unavailable`: the caller's events are not on the log, and the same append may succeed once space is
 * freed. Undefined for any other error (a bug, a constraint), which stays what it was.
 */
export function storageError(error: unknown): LedgerError | undefined {
  if (error instanceof LedgerError) return error.code === 'unavailable' ? error : undefined;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !STORAGE_CODES.some((pattern) => pattern.test(code))) return undefined;
  const what =
    code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT' ? 'the disk is full' : 'the disk failed';
  return new LedgerError(
    'unavailable',
    `the event log cannot write (${what}: ${code}); nothing was recorded: retry once space is freed or the disk is fixed`,
    { cause: error },
  );
}

/**
 * WAL with synchronous=FULL: a commit is on disk before it returns. Exclusive locking keeps a second
 * process off the file; the write transaction takes the lock now rather than at the first append.
 */
function openExclusive(file: string): Database.Database {
  // A short busy timeout: the only contention is a second process, which must be told at once.
  const db = new Database(file, { timeout: 100 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`SQLite refused WAL mode (got ${String(mode)})`);
    db.pragma('synchronous = FULL');
    db.exec('BEGIN IMMEDIATE; COMMIT;');
  } catch (error) {
    db.close();
    const busy = (error as { code?: string }).code?.startsWith('SQLITE_BUSY') === true;
    throw new LedgerError(
      busy ? 'unavailable' : 'internal',
      busy
        ? `${file} is in use by another ledger process; stop it or use another LEDGER_DATA_DIR`
        : `cannot open the event log at ${file}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return db;
}

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new LedgerError(
      'invalid_config',
      `the data directory was written by a newer ledger (schema ${version}); upgrade this one to read it`,
    );
  }
  if (version === SCHEMA_VERSION) return;
  db.exec(`
    CREATE TABLE IF NOT EXISTS events (
      position    INTEGER PRIMARY KEY AUTOINCREMENT,
      event_id    TEXT    NOT NULL UNIQUE,
      phone       TEXT    NOT NULL,
      type        TEXT    NOT NULL,
      recorded_at INTEGER NOT NULL,
      body        TEXT    NOT NULL
    );
    CREATE INDEX IF NOT EXISTS events_by_phone ON events (phone, position);
    CREATE TABLE IF NOT EXISTS checkpoints (
      consumer   TEXT    PRIMARY KEY,
      position   INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    );
    PRAGMA user_version = ${SCHEMA_VERSION};
  `);
}

function decode(body: string): LedgerEvent {
  return JSON.parse(body) as LedgerEvent;
}

function toRecord(row: Row): LogRecord {
  return { partition: 0, position: asPosition(row.position), event: decode(row.body) };
}
