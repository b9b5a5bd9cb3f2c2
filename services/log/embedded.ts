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
  readonly checkpoints: CheckpointStore;

  private constructor(file: string) {
    this.db = openExclusive(file);
    migrate(this.db);
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
  static open(dataDir: string): EmbeddedEventLog {
    mkdirSync(dataDir, { recursive: true });
    return new EmbeddedEventLog(join(dataDir, 'ledger.sqlite'));
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
    for (const [index, pending] of batch.entries()) {
      const outcome = outcomes[index];
      if (outcome !== undefined && 'appended' in outcome) {
        ok = true;
        pending.resolve(outcome.appended);
      } else {
        pending.reject(outcome?.error ?? new LedgerError('internal', 'the append was not attempted'));
      }
    }
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
