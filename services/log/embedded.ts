import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  asPosition,
  LedgerError,
  type E164,
  type LedgerEvent,
  type Position,
  type Recorded,
} from '../ledger/index.js';
import type { Appended, CheckpointStore, EventLog } from './port.js';

const SCHEMA_VERSION = 1;

interface Pending {
  readonly events: readonly LedgerEvent[];
  readonly resolve: (appended: readonly Appended[]) => void;
  readonly reject: (error: unknown) => void;
}

interface Row {
  position: number;
  body: string;
}

/**
 * The embedded log: one SQLite file in WAL mode with synchronous=FULL, so an append is on disk before
 * it is acknowledged. Appends that arrive in the same tick share one transaction (group commit), which
 * keeps fsyncs per second, not per event, the limit.
 */
export class EmbeddedEventLog implements EventLog {
  private readonly db: Database.Database;
  private readonly statements;
  private queue: Pending[] = [];
  private flushScheduled = false;
  private lastPosition: Position;
  private waiters = new Set<() => void>();
  private closed = false;
  readonly checkpoints: CheckpointStore;

  private constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
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
      getCheckpoint: this.db.prepare<[string], { position: number }>(
        'SELECT position FROM checkpoints WHERE consumer = ?',
      ),
      setCheckpoint: this.db.prepare<[string, number, number]>(
        'INSERT INTO checkpoints (consumer, position, updated_at) VALUES (?, ?, ?) ON CONFLICT (consumer) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at',
      ),
    };
    this.lastPosition = asPosition(this.statements.head.get()?.head ?? 0);
    this.checkpoints = {
      get: (consumer) =>
        Promise.resolve(asPosition(this.statements.getCheckpoint.get(consumer)?.position ?? 0)),
      set: (consumer, position) => {
        this.statements.setCheckpoint.run(consumer, position, Date.now());
        return Promise.resolve();
      },
    };
  }

  /** Opens (or creates) the log under `dataDir`. */
  static open(dataDir: string): EmbeddedEventLog {
    mkdirSync(dataDir, { recursive: true });
    return new EmbeddedEventLog(join(dataDir, 'ledger.sqlite'));
  }

  append(events: readonly LedgerEvent[]): Promise<readonly Appended[]> {
    if (this.closed) return Promise.reject(new LedgerError('unavailable', 'the event log is closed'));
    if (events.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ events, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const { insert, byId } = this.statements;
    const results: (readonly Appended[])[] = [];
    const failed = new Map<number, unknown>();
    const commit = this.db.transaction(() => {
      batch.forEach((pending, index) => {
        // Each caller's group is all-or-nothing; one caller's failure must not fail the others.
        try {
          const savepoint = this.db.transaction(() =>
            pending.events.map((event): Appended => {
              const info = insert.run(
                event.eventId,
                event.phone,
                event.type,
                event.recordedAt,
                JSON.stringify(event),
              );
              if (info.changes === 1) {
                return { position: asPosition(Number(info.lastInsertRowid)), event, duplicate: false };
              }
              const original = byId.get(event.eventId);
              if (original === undefined) throw new Error(`event ${event.eventId} conflicted but is missing`);
              return {
                position: asPosition(original.position),
                event: decode(original.body),
                duplicate: true,
              };
            }),
          );
          results[index] = savepoint();
        } catch (error) {
          failed.set(index, error);
        }
      });
    });
    try {
      commit();
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    for (const [index, pending] of batch.entries()) {
      const result = results[index];
      if (result === undefined) pending.reject(failed.get(index));
      else {
        for (const appended of result) {
          if (appended.position > this.lastPosition) this.lastPosition = appended.position;
        }
        pending.resolve(result);
      }
    }
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }

  read(after: Position, limit: number): Promise<readonly Recorded[]> {
    return Promise.resolve(this.statements.after.all(after, limit).map(toRecorded));
  }

  readPhone(phone: E164): Promise<readonly Recorded[]> {
    return Promise.resolve(this.statements.byPhone.all(phone).map(toRecorded));
  }

  head(): Promise<Position> {
    return Promise.resolve(this.lastPosition);
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

  token(position: Position): string {
    return String(position);
  }

  parseToken(token: string): Position {
    if (!/^\d{1,15}$/.test(token)) {
      throw new LedgerError('invalid_request', `"${token}" is not a position token returned by this ledger`);
    }
    return asPosition(Number(token));
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

function toRecorded(row: Row): Recorded {
  return { position: asPosition(row.position), event: decode(row.body) };
}
