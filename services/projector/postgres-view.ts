import pg from 'pg';
import {
  asPosition,
  LedgerError,
  scopeTarget,
  START,
  type E164,
  type LedgerEvent,
  type PhoneHistory,
  type Position,
  type ScopeKey,
  type Status,
} from '../ledger/index.js';
import type { LogRecord, PhoneHistorySource, Undecodable } from '../log/index.js';
import { assertFollows, POSTGRES_TABLE, postgresTablePrefix } from './names.js';
import { foldBatch, freshRecords, scopeRows } from './fold-batch.js';
import { StoreLost } from './runner.js';
import { storableText, storableValue } from './storable-text.js';
import type { ScopeRow, SystemView, ViewAnswer } from './system-view.js';

export interface PostgresViewOptions {
  /** The projection's name (its consumer group unless the runner is told otherwise). */
  readonly name: string;
  /** e.g. postgres://postgres@127.0.0.1:5432/test */
  readonly connectionString: string;
  /** Prefix of the view's tables (letters, digits, `_`); default `ledger_<name>`, sanitised. */
  readonly table?: string;
  readonly schema?: string;
  /** Connections in the pool (default 4). */
  readonly poolSize?: number;
  /**
   * How long one statement may take before the client gives up on it (default 30 s), so a connection
   * that hangs rather than breaks still turns into an error the runner retries and reports.
   */
  readonly queryTimeoutMs?: number;
}

/**
 * The SQL a sending system runs against the view's tables. Each row of `<prefix>_suppressions` is the
 * effective state of a phone at one scope; a check for (brand b, program p) reads the most specific row
 * among global, brand:b and program:b/p, and none means no_record. A phone in `<prefix>_quarantine` has
 * an unreadable record on the log: it must not be sent to.
 */
export interface SenderSql {
  /**
   * One check. $1 phone (E.164), $2 brand, $3 program or NULL → one row: allowed, status (`unknown` when
   * quarantined), since, event_id, quarantined (the reason, or NULL).
   */
  readonly check: string;
  /**
   * The phones of a campaign table (column `phone`; the name is quoted as one identifier) that a send
   * for $1 brand, $2 program or NULL may reach: an anti-join that excludes a phone when the most specific
   * row among its covering scopes suppresses it, or when it is quarantined.
   */
  campaign(campaignTable: string): string;
}

/** Where the view's tables live: relation names (unquoted) and qualified, quoted forms for SQL. */
interface Tables {
  readonly schema: string;
  readonly prefix: string;
  readonly suppressions: string;
  readonly facts: string;
  readonly events: string;
  readonly checkpoint: string;
  readonly quarantine: string;
}

/** The tables, in the one order every statement that touches several of them takes their locks. */
const TABLES = ['checkpoint', 'facts', 'events', 'suppressions', 'quarantine'] as const;
type Table = (typeof TABLES)[number];
/** Name suffixes of the indexes other than primary keys (those are `<table>_pkey`). */
const INDEXES = ['events_by_phone', 'suppressions_blocked', 'quarantine_by_phone'] as const;
const PAGE = 10_000;

/** How narrow a scope is: a check reads the row with the highest specificity among its covering scopes. */
function specificity(scope: ScopeKey): number {
  return scope === 'global' ? 0 : scope.startsWith('brand:') ? 1 : 2;
}

const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

function tables(schema: string, prefix: string): Tables {
  const qualified = (table: Table): string => `${ident(schema)}.${ident(`${prefix}_${table}`)}`;
  return {
    schema,
    prefix,
    suppressions: qualified('suppressions'),
    facts: qualified('facts'),
    events: qualified('events'),
    checkpoint: qualified('checkpoint'),
    quarantine: qualified('quarantine'),
  };
}

/** The view's table prefix, refused when PostgreSQL would truncate it or it would need quoting. */
function prefixOf(options: Pick<PostgresViewOptions, 'name' | 'table'>): string {
  return assertFollows(
    POSTGRES_TABLE,
    'PostgreSQL view table prefix',
    postgresTablePrefix(options),
    '; set "table" to one',
  );
}

/** The covering scopes of a check for ($brand, $program), as SQL. */
const covering = (brand: string, program: string): string =>
  `('global', 'brand:' || ${brand}::text, 'program:' || ${brand}::text || '/' || ${program}::text)`;

/**
 * The store's marker: a checkpoint row at partition -1, put there when the view creates or empties its
 * tables, and deleted by a trigger whenever any of them is truncated (see `ddl`). A store without it
 * lost data behind the view's back: what it holds can no longer be vouched for, and checks read through
 * it must not answer `allowed`. Its position says whether the store holds the whole log: BUILDING from
 * the moment it is created or emptied until its runner has first caught up with the log's head, then
 * VOUCHED. A store being built (or replayed after a loss) holds only part of the log, so a sender
 * reading it then gets `unknown`, not the `no_record` of an opt-out not yet replayed.
 */
const BUILDING = 0;
const VOUCHED = 1;
/** Why the sender SQL answers unknown for the whole store (plain text, no quotes: it is inlined in SQL). */
const LOST_REASON = 'the view lost data (its tables were truncated or recreated) and is replaying the log';
const BUILDING_REASON = 'the view is replaying the log and has not caught up with it yet';
const marker = (t: Tables): string => `SELECT 1 FROM ${t.checkpoint} WHERE partition = -1`;
/** True while the marker is there (nothing truncated behind the view's back). */
const intact = (t: Tables): string => `EXISTS (${marker(t)})`;
/** True once the store holds the whole log (marker there, and its runner caught up since it was emptied). */
const vouched = (t: Tables): string => `EXISTS (${marker(t)} AND position = ${VOUCHED})`;
/** How many of the tables ($tables, named $schema.$prefix_<table>) exist. */
const tablesPresent = (schema: string, prefix: string, names: string): string =>
  `(SELECT count(to_regclass(quote_ident(${schema}) || '.' || quote_ident(${prefix} || '_' || name)))::int
      FROM unnest(${names}::text[]) AS name)`;
const putMarker = (t: Tables): string =>
  `INSERT INTO ${t.checkpoint} (partition, position) VALUES (-1, ${BUILDING}) ON CONFLICT DO NOTHING`;

function senderSqlFor(t: Tables): SenderSql {
  const check = `SELECT coalesce(s.allowed, true) AND q.reason IS NULL AND whole.vouched AS allowed,
       CASE WHEN NOT whole.vouched OR q.reason IS NOT NULL THEN 'unknown'
            ELSE coalesce(s.status, 'no_record') END AS status,
       s.since, s.event_id, q.reason AS quarantined,
       CASE WHEN whole.marker IS NULL THEN '${LOST_REASON}'
            WHEN NOT whole.vouched THEN '${BUILDING_REASON}' END AS reason
  FROM (SELECT marker, coalesce(marker = ${VOUCHED}, false) AS vouched
          FROM (SELECT (SELECT position FROM ${t.checkpoint} WHERE partition = -1) AS marker) AS m) AS whole
  LEFT JOIN LATERAL (
    SELECT status, allowed, since, event_id FROM ${t.suppressions}
     WHERE phone = $1::text AND scope IN ${covering('$2', '$3')}
     ORDER BY specificity DESC LIMIT 1) AS s ON true
  LEFT JOIN LATERAL (
    SELECT reason FROM ${t.quarantine} WHERE phone = $1::text ORDER BY partition, position LIMIT 1) AS q ON true`;
  return {
    check,
    campaign: (campaignTable) => `SELECT c.phone FROM ${ident(campaignTable)} AS c
 WHERE NOT EXISTS (
         -- a suppressing row that is the most specific row present for this check
         SELECT 1 FROM ${t.suppressions} AS s
          WHERE s.phone = c.phone AND NOT s.allowed AND s.scope IN ${covering('$1', '$2')}
            AND NOT EXISTS (
                  SELECT 1 FROM ${t.suppressions} AS w
                   WHERE w.phone = s.phone AND w.specificity > s.specificity
                     AND w.scope IN ${covering('$1', '$2')}))
   AND NOT EXISTS (SELECT 1 FROM ${t.quarantine} AS q WHERE q.phone = c.phone)
   -- tables truncated behind the view's back (its marker gone), or a store not yet holding the whole
   -- log (being built, or replayed after a loss): nobody may be reached
   AND ${vouched(t)}`,
  };
}

/** The SQL a sender runs against the tables of the view these options describe. */
export function senderSql(options: Pick<PostgresViewOptions, 'name' | 'table' | 'schema'>): SenderSql {
  return senderSqlFor(tables(options.schema ?? 'public', prefixOf(options)));
}

function ddl(t: Tables): string {
  const name = (suffix: string): string => ident(`${t.prefix}_${suffix}`);
  return `
CREATE TABLE IF NOT EXISTS ${t.checkpoint} (
  partition integer NOT NULL,
  position  bigint  NOT NULL,
  CONSTRAINT ${name('checkpoint_pkey')} PRIMARY KEY (partition)
);
CREATE TABLE IF NOT EXISTS ${t.facts} (
  phone   text NOT NULL,
  history json NOT NULL,
  CONSTRAINT ${name('facts_pkey')} PRIMARY KEY (phone)
);
CREATE TABLE IF NOT EXISTS ${t.events} (
  partition   integer     NOT NULL,
  position    bigint      NOT NULL,
  phone       text        NOT NULL,
  event_id    text        NOT NULL,
  type        text        NOT NULL,
  occurred_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL,
  event       json        NOT NULL,
  CONSTRAINT ${name('events_pkey')} PRIMARY KEY (partition, position)
);
CREATE INDEX IF NOT EXISTS ${name('events_by_phone')} ON ${t.events} (phone, partition, position);
CREATE TABLE IF NOT EXISTS ${t.suppressions} (
  phone       text        NOT NULL,
  scope       text        NOT NULL,
  specificity smallint    NOT NULL,
  brand       text,
  program     text,
  status      text        NOT NULL,
  allowed     boolean     NOT NULL,
  since       timestamptz,
  event_id    text,
  updated_at  timestamptz NOT NULL,
  CONSTRAINT ${name('suppressions_pkey')} PRIMARY KEY (phone, scope)
);
CREATE INDEX IF NOT EXISTS ${name('suppressions_blocked')} ON ${t.suppressions} (scope, phone) WHERE NOT allowed;
CREATE TABLE IF NOT EXISTS ${t.quarantine} (
  phone     text,
  partition integer NOT NULL,
  position  bigint  NOT NULL,
  reason    text    NOT NULL,
  CONSTRAINT ${name('quarantine_pkey')} PRIMARY KEY (partition, position)
);
CREATE INDEX IF NOT EXISTS ${name('quarantine_by_phone')} ON ${t.quarantine} (phone);`;
}

/**
 * What one transaction writes. Each set travels as one JSON document that PostgreSQL unpacks with
 * json_to_recordset: one native JSON.stringify per set instead of per-element escaping of array
 * parameters, and one statement (one round trip) for all of them.
 */
interface Writes {
  readonly events?: readonly EventWrite[];
  readonly facts?: readonly { readonly phone: E164; readonly history: PhoneHistory }[];
  readonly rows?: readonly RowWrite[];
  /** Suppression rows to remove. */
  readonly gone?: readonly { readonly phone: E164; readonly scope: ScopeKey }[];
  readonly checkpoint?: { readonly partition: number; readonly position: Position };
}

interface EventWrite {
  readonly partition: number;
  readonly position: Position;
  readonly phone: E164;
  readonly event_id: string;
  readonly type: string;
  readonly occurred_at: number;
  readonly recorded_at: number;
  readonly event: LedgerEvent;
}

interface RowWrite {
  readonly phone: E164;
  readonly scope: ScopeKey;
  readonly specificity: number;
  readonly brand: string | null;
  readonly program: string | null;
  readonly status: Status;
  readonly allowed: boolean;
  /** epoch ms */
  readonly since: number | null;
  readonly event_id: string | null;
}

/** A row as the suppressions table stores it: with the scope's specificity, brand and program. */
function rowWrite(row: ScopeRow): RowWrite {
  const { brand, program } = scopeTarget(row.scope);
  return {
    phone: row.phone,
    scope: row.scope,
    specificity: specificity(row.scope),
    brand: brand ?? null,
    program: program ?? null,
    status: row.status,
    allowed: row.allowed,
    since: row.since,
    event_id: row.eventId,
  };
}

/**
 * An error no retry can change, caused by what one record holds: SQLSTATE class 22 (data exception:
 * text PostgreSQL cannot store, a value out of range) or 54 (program limit exceeded: an index entry or
 * a row too large). A lost connection, a timeout or a deadlock is none of these.
 */
function permanent(error: unknown): error is pg.DatabaseError {
  return error instanceof pg.DatabaseError && /^(22|54)/.test(error.code ?? '');
}

/** An epoch-ms bigint as timestamptz, exactly (integer microseconds, no floating point). */
const fromMs = (column: string): string => `'epoch'::timestamptz + ${column} * interval '1 millisecond'`;

interface SuppressionRow {
  phone: string;
  scope: string;
  status: string;
  allowed: boolean;
  since: Date | null;
  event_id: string | null;
}

interface CheckRow {
  allowed: boolean;
  status: string;
  since: Date | null;
  event_id: string | null;
  quarantined: string | null;
  reason: string | null;
}

/** The tables, or one of them, do not exist: dropped behind the view's back. */
const undefinedTable = (error: unknown): boolean =>
  error instanceof pg.DatabaseError && error.code === '42P01';

type Client = pg.PoolClient;

/**
 * A sending system's suppression table in PostgreSQL, fed by the ProjectorRunner: one row per phone and
 * scope it has facts at (see `scopeStates`), so a sender answers a check, or filters a whole campaign,
 * with plain SQL (`senderSql`). Beside it the view keeps each phone's consent facts (so a batch folds
 * incrementally), every event of every phone in log order (per-phone streams for audit when the log is
 * Kafka, docs/design.md §6), its checkpoint per partition and the phones with unreadable records. A batch and
 * its checkpoint commit in one transaction, so re-delivery changes nothing.
 */
export class PostgresView implements SystemView, PhoneHistorySource {
  readonly kind = 'postgres';
  readonly readable = true;
  readonly name: string;
  protected readonly pool: pg.Pool;
  protected readonly options: PostgresViewOptions;
  private readonly ownsPool: boolean;
  private tablesInUse!: Tables;
  /** The highest checkpoint per partition this process has seen the store at: it never goes back. */
  private readonly known = new Map<number, Position>();
  private checkQuery!: { readonly name: string; readonly text: string };

  /**
   * @param pool A pool the caller owns (views of one database may share one); `close()` then leaves it
   * open. Without it the view makes its own from the options and ends it on `close()`.
   */
  constructor(options: PostgresViewOptions, pool?: pg.Pool) {
    this.options = options;
    this.name = options.name;
    this.retarget(tables(options.schema ?? 'public', prefixOf(options)));
    if (pool !== undefined) {
      this.pool = pool;
      this.ownsPool = false;
      return;
    }
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: 10_000,
      query_timeout: options.queryTimeoutMs ?? 30_000,
      keepAlive: true,
      application_name: `ledger-view-${options.name}`.slice(0, 63),
    });
    // An idle connection the server (or the network) dropped: the pool discards it and the next query
    // opens another. Without a listener the error would end the process.
    this.pool.on('error', () => undefined);
    this.ownsPool = true;
  }

  /** The SQL a sender runs against this view's tables; `check()` runs `sql.check` itself. */
  get sql(): SenderSql {
    return senderSqlFor(this.t);
  }

  protected get t(): Tables {
    return this.tablesInUse;
  }

  /** Points the view at other tables (staging ones, or live ones after a promotion). */
  protected retarget(t: Tables): void {
    this.tablesInUse = t;
    // Prepared once per connection; the name carries the tables, so a retargeted view prepares anew.
    this.checkQuery = { name: `ledger-check:${t.schema}.${t.prefix}`, text: senderSqlFor(t).check };
  }

  async open(): Promise<void> {
    await this.transaction(async (client) => {
      // Two processes opening the same view at once would race on CREATE TABLE IF NOT EXISTS.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${this.t.schema}.${this.t.prefix}`]);
      const { rows } = await client.query<{ present: number }>(
        `SELECT ${tablesPresent('$1', '$2', '$3')} AS present`,
        [this.t.schema, this.t.prefix, TABLES],
      );
      await this.createTables(client);
      const present = rows[0]?.present ?? 0;
      // A new store gets its marker. Some tables there and some not means some were dropped while no
      // process ran: the marker goes, so checkpoint() finds the store lost instead of taking it as whole.
      if (present === 0) await client.query(putMarker(this.t));
      else if (present < TABLES.length)
        await client.query(`DELETE FROM ${this.t.checkpoint} WHERE partition = -1`);
    });
  }

  /** The tables, and the trigger that deletes the marker when any of them is truncated. */
  private async createTables(client: Client): Promise<void> {
    await client.query(ddl(this.t));
    const fn = `${ident(this.t.schema)}.ledger_view_truncated`;
    const { rows } = await client.query<{ exists: boolean }>(
      `SELECT to_regprocedure($1) IS NOT NULL AS exists`,
      [`${this.t.schema}.ledger_view_truncated()`],
    );
    if (rows[0]?.exists !== true) {
      // One function for every view of the schema: views opening at once must not replace it together.
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('ledger_view_truncated'))`);
      await client.query(`CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The table's own checkpoint table, found by name: the trigger moves with a table a rebuild renames.
  EXECUTE format('DELETE FROM %I.%I WHERE partition = -1', TG_TABLE_SCHEMA,
    regexp_replace(TG_TABLE_NAME, '_(${TABLES.join('|')})$', '_checkpoint'));
  RETURN NULL;
END $$`);
    }
    await client.query(
      TABLES.map(
        (table) =>
          `CREATE OR REPLACE TRIGGER ledger_view_truncated AFTER TRUNCATE ON ${this.t[table]}
             FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`,
      ).join(';\n'),
    );
  }

  /** Rejects with StoreLost when the store lost its marker, or a checkpoint went back or vanished. */
  async verify(): Promise<void> {
    await this.lostWhen(async () => {
      const { rows } = await this.pool.query<{
        present: number;
        intact: boolean;
        positions: Record<string, string>;
      }>(
        `SELECT ${tablesPresent('$1', '$2', '$3')} AS present, ${intact(this.t)} AS intact,
                (SELECT coalesce(json_object_agg(partition, position), '{}') FROM ${this.t.checkpoint}
                  WHERE partition >= 0) AS positions`,
        [this.t.schema, this.t.prefix, TABLES],
      );
      const row = rows[0];
      if (row?.present !== TABLES.length) {
        throw new StoreLost(this.name, 'its PostgreSQL tables were dropped');
      }
      const positions = new Map<number, Position>([...this.known.keys()].map((p) => [p, START]));
      for (const [partition, position] of Object.entries(row.positions)) {
        positions.set(Number(partition), asPosition(Number(position)));
      }
      this.assertIntact(row.intact, positions);
    });
  }

  /**
   * Empties every table (TRUNCATE keeps the tables, and so the grants senders read them with) and puts
   * the marker back, so the runner can replay the log into it from the start; tables dropped are
   * created again.
   */
  async reset(): Promise<void> {
    await this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${this.t.schema}.${this.t.prefix}`]);
      await this.createTables(client);
      await client.query(`TRUNCATE ${TABLES.map((table) => this.t[table]).join(', ')}`);
      await client.query(putMarker(this.t));
    });
    this.known.clear();
  }

  /**
   * The runner has caught up with the log's head since the store was created or emptied: the store
   * holds the whole log, and the sender SQL may answer from it. StoreLost when the marker is gone (the
   * tables were truncated meanwhile: the replay starts again rather than vouch for what is left).
   */
  async vouch(): Promise<void> {
    await this.lostWhen(async () => {
      const { rowCount } = await this.pool.query(
        `UPDATE ${this.t.checkpoint} SET position = ${VOUCHED} WHERE partition = -1`,
      );
      if (rowCount !== 1) throw new StoreLost(this.name, 'its PostgreSQL tables were truncated or recreated');
    });
  }

  /**
   * Throws StoreLost when the marker is gone or a partition's checkpoint is behind where this
   * process saw it; otherwise remembers the checkpoints.
   */
  private assertIntact(whole: boolean, positions: Iterable<readonly [number, Position]>): void {
    if (!whole) throw new StoreLost(this.name, 'its PostgreSQL tables were truncated or recreated');
    for (const [partition, position] of positions) {
      const known = this.known.get(partition) ?? START;
      if (position < known) {
        throw new StoreLost(
          this.name,
          `its checkpoint of partition ${partition} went back from ${known} to ${position}`,
        );
      }
      this.known.set(partition, position);
    }
  }

  /** Runs `work`, turning a table that no longer exists into StoreLost. */
  private async lostWhen<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (undefinedTable(error)) throw new StoreLost(this.name, 'its PostgreSQL tables were dropped');
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.ownsPool && !this.pool.ended) await this.pool.end();
  }

  async checkpoint(partition: number): Promise<Position> {
    return this.lostWhen(async () => {
      const { rows } = await this.pool.query<{ position: string | null; intact: boolean }>(
        `SELECT (SELECT position FROM ${this.t.checkpoint} WHERE partition = $1) AS position,
                ${intact(this.t)} AS intact`,
        [partition],
      );
      const position = asPosition(Number(rows[0]?.position ?? START));
      this.assertIntact(rows[0]?.intact === true, [[partition, position]]);
      return position;
    });
  }

  /**
   * Text from outside (reply bodies, notes, message ids) is stored as `storableText` makes it, so a NUL
   * byte or a lone surrogate is data, not a failure. Should a record still be refused for what it holds
   * (a `permanent` error, which no retry changes), the batch is applied record by record and only the
   * refused records are quarantined: their phones answer unknown (fail closed) and the view goes on.
   * Anything else (a lost connection, a timeout) rejects, and the runner retries the whole batch.
   */
  async applyBatch(records: readonly LogRecord[]): Promise<void> {
    const first = records[0];
    if (first === undefined) return;
    const { partition } = first;
    if (records.some((record) => record.partition !== partition)) {
      throw new LedgerError('internal', 'applyBatch got records of more than one partition');
    }
    const stored = records.map(storableValue);
    try {
      await this.lostWhen(() => this.applyStorable(partition, stored));
    } catch (error) {
      if (!permanent(error)) throw error;
      for (const record of stored) {
        try {
          await this.applyStorable(partition, [record]);
        } catch (refused) {
          if (!permanent(refused)) throw refused;
          await this.quarantine({
            partition,
            position: record.position,
            key: record.event.phone,
            reason: `event ${record.event.eventId} cannot be stored in this view (${refused.message}); the log holds it: fix the view's database or re-record the event, then reconcile --repair`,
          });
        }
      }
    }
  }

  private async applyStorable(partition: number, records: readonly LogRecord[]): Promise<void> {
    const applied = await this.transaction(async (client) => {
      const checkpoint = await this.lockCheckpoint(client, partition);
      const fresh = freshRecords(records, () => checkpoint);
      const last = fresh[fresh.length - 1];
      if (last === undefined) return checkpoint;

      const phones = [...new Set(fresh.map((record) => record.event.phone))].sort();
      const loading = client.query<{ phone: E164; history: PhoneHistory }>(
        `SELECT phone, history FROM ${this.t.facts} WHERE phone = ANY($1::text[]) ORDER BY phone FOR UPDATE`,
        [phones],
      );
      // Queued on the connection behind the load: PostgreSQL stores the events while this process folds.
      const storing = this.write(client, {
        events: fresh.map(({ position, event }) => ({
          partition,
          position,
          phone: event.phone,
          event_id: event.eventId,
          type: event.type,
          occurred_at: event.occurredAt,
          recorded_at: event.recordedAt,
          event,
        })),
      });
      // Should the load fail, this fails with it and is reported through the load.
      storing.catch(() => undefined);
      const loaded = await loading;
      const before = new Map<E164, PhoneHistory>(loaded.rows.map((row) => [row.phone, row.history]));
      const { after, rowChanges } = foldBatch(before, fresh, () => checkpoint);

      const facts: { phone: E164; history: PhoneHistory }[] = [];
      const rows: RowWrite[] = [];
      const gone: { phone: E164; scope: ScopeKey }[] = [];
      // In phone order, as the load locked them.
      for (const phone of phones) {
        const history = after.get(phone);
        const change = rowChanges.get(phone);
        if (history === undefined || change === undefined) continue;
        facts.push({ phone, history });
        for (const row of change.upserted) rows.push(rowWrite(row));
        for (const scope of change.removed) gone.push({ phone, scope });
      }
      await Promise.all([
        storing,
        this.write(client, { facts, rows, gone, checkpoint: { partition, position: last.position } }),
      ]);
      return last.position;
    });
    // Committed: the store is at least there now.
    if (applied > (this.known.get(partition) ?? START)) this.known.set(partition, applied);
  }

  async quarantine(record: Undecodable): Promise<void> {
    await this.lostWhen(() => this.quarantineStorable(record));
  }

  private async quarantineStorable(record: Undecodable): Promise<void> {
    await this.transaction(async (client) => {
      const checkpoint = await this.lockCheckpoint(client, record.partition);
      if (record.position <= checkpoint) return;
      await client.query(
        `INSERT INTO ${this.t.quarantine} (phone, partition, position, reason) VALUES ($1, $2, $3, $4)
         ON CONFLICT (partition, position) DO NOTHING`,
        [
          record.key === null ? null : storableText(record.key),
          record.partition,
          record.position,
          storableText(record.reason),
        ],
      );
      await client.query(`UPDATE ${this.t.checkpoint} SET position = $2 WHERE partition = $1`, [
        record.partition,
        record.position,
      ]);
    });
  }

  async check(phone: E164, brand: string, program?: string): Promise<ViewAnswer> {
    const { rows } = await this.pool.query<CheckRow>({
      ...this.checkQuery,
      values: [phone, brand, program ?? null],
    });
    const row = rows[0];
    if (row === undefined) throw new LedgerError('internal', 'the check query returned no row');
    if (row.reason === LOST_REASON) {
      throw new StoreLost(this.name, 'its PostgreSQL tables were truncated or recreated');
    }
    if (row.quarantined !== null) {
      return { status: 'unknown', allowed: false, since: null, eventId: null, quarantined: row.quarantined };
    }
    if (row.reason !== null) {
      return { status: 'unknown', allowed: false, since: null, eventId: null, reason: row.reason };
    }
    return {
      status: row.status as Status,
      allowed: row.allowed,
      since: row.since?.getTime() ?? null,
      eventId: row.event_id,
    };
  }

  /** Every suppression row, by phone and scope, read a page at a time. */
  async *rows(): AsyncIterable<ScopeRow> {
    let after: { phone: string; scope: string } | undefined;
    for (;;) {
      const { rows } = await this.pool.query<SuppressionRow>(
        `SELECT phone, scope, status, allowed, since, event_id FROM ${this.t.suppressions}
          ${after === undefined ? '' : 'WHERE (phone, scope) > ($2, $3)'}
          ORDER BY phone, scope LIMIT $1`,
        after === undefined ? [PAGE] : [PAGE, after.phone, after.scope],
      );
      for (const row of rows) {
        yield {
          phone: row.phone as E164,
          scope: row.scope as ScopeKey,
          status: row.status as Status,
          allowed: row.allowed,
          since: row.since?.getTime() ?? null,
          eventId: row.event_id,
        };
      }
      const last = rows[rows.length - 1];
      if (last === undefined || rows.length < PAGE) return;
      after = last;
    }
  }

  async repair(phone: E164, given: PhoneHistory): Promise<void> {
    const history = storableValue(given);
    const rows = [...scopeRows(phone, history).values()].map(rowWrite);
    await this.transaction(async (client) => {
      await client.query(`DELETE FROM ${this.t.suppressions} WHERE phone = $1 AND scope <> ALL($2::text[])`, [
        phone,
        rows.map((row) => row.scope),
      ]);
      if (history.length === 0) await client.query(`DELETE FROM ${this.t.facts} WHERE phone = $1`, [phone]);
      await this.write(client, { facts: history.length === 0 ? [] : [{ phone, history }], rows });
    });
  }

  /** Every event of the phone the view has applied, in log order, as the log holds them. */
  async readPhone(phone: E164): Promise<readonly LogRecord[]> {
    const { rows } = await this.pool.query<{ partition: number; position: string; event: LedgerEvent }>(
      `SELECT partition, position, event FROM ${this.t.events} WHERE phone = $1 ORDER BY partition, position`,
      [phone],
    );
    return rows.map((row) => ({
      partition: row.partition,
      position: asPosition(Number(row.position)),
      event: row.event,
    }));
  }

  async staging(): Promise<PostgresView & { promote(): Promise<void> }> {
    const staged = new StagedPostgresView(this.options, this.pool, this.t);
    await this.pool.query(`DROP TABLE IF EXISTS ${TABLES.map((table) => staged.t[table]).join(', ')}`);
    await staged.open();
    return staged;
  }

  /** Locks the partition's checkpoint row (creating it at 0) for this transaction and returns it. */
  private async lockCheckpoint(client: Client, partition: number): Promise<Position> {
    const { rows } = await client.query<{ position: string; intact: boolean }>(
      `WITH c AS (
         INSERT INTO ${this.t.checkpoint} AS c (partition, position) VALUES ($1, 0)
         ON CONFLICT (partition) DO UPDATE SET position = c.position
         RETURNING position)
       SELECT c.position, ${intact(this.t)} AS intact FROM c`,
      [partition],
    );
    const position = asPosition(Number(rows[0]?.position ?? 0));
    // Folding onto tables that lost data would build on the loss (the facts read are not the log's).
    this.assertIntact(rows[0]?.intact === true, [[partition, position]]);
    return position;
  }

  /** Everything in `writes`, in one statement: each set is a data-modifying CTE. */
  private async write(client: Client, writes: Writes): Promise<void> {
    const t = this.t;
    const values: unknown[] = [];
    const json = (set: readonly unknown[]): string => {
      values.push(JSON.stringify(set));
      return `json_to_recordset($${values.length}::json)`;
    };
    const statements: string[] = [];
    if (writes.events !== undefined && writes.events.length > 0) {
      statements.push(`INSERT INTO ${t.events}
          (partition, position, phone, event_id, type, occurred_at, recorded_at, event)
        SELECT r.partition, r.position, r.phone, r.event_id, r.type, ${fromMs('r.occurred_at')},
               ${fromMs('r.recorded_at')}, r.event
          FROM ${json(writes.events)} AS r(partition integer, position bigint, phone text, event_id text,
               type text, occurred_at bigint, recorded_at bigint, event json)
        ON CONFLICT (partition, position) DO NOTHING`);
    }
    if (writes.facts !== undefined && writes.facts.length > 0) {
      statements.push(`INSERT INTO ${t.facts} (phone, history)
        SELECT r.phone, r.history FROM ${json(writes.facts)} AS r(phone text, history json)
        ON CONFLICT (phone) DO UPDATE SET history = excluded.history`);
    }
    if (writes.rows !== undefined && writes.rows.length > 0) {
      statements.push(`INSERT INTO ${t.suppressions} AS s
          (phone, scope, specificity, brand, program, status, allowed, since, event_id, updated_at)
        SELECT r.phone, r.scope, r.specificity, r.brand, r.program, r.status, r.allowed,
               ${fromMs('r.since')}, r.event_id, now()
          FROM ${json(writes.rows)} AS r(phone text, scope text, specificity smallint, brand text,
               program text, status text, allowed boolean, since bigint, event_id text)
        ON CONFLICT (phone, scope) DO UPDATE
           SET status = excluded.status, allowed = excluded.allowed, since = excluded.since,
               event_id = excluded.event_id, updated_at = excluded.updated_at
         WHERE (s.status, s.allowed, s.since, s.event_id)
               IS DISTINCT FROM (excluded.status, excluded.allowed, excluded.since, excluded.event_id)`);
    }
    if (writes.gone !== undefined && writes.gone.length > 0) {
      statements.push(`DELETE FROM ${t.suppressions} AS s
         USING ${json(writes.gone)} AS g(phone text, scope text)
         WHERE s.phone = g.phone AND s.scope = g.scope`);
    }
    if (writes.checkpoint !== undefined) {
      values.push(writes.checkpoint.partition, writes.checkpoint.position);
      statements.push(
        `UPDATE ${t.checkpoint} SET position = $${values.length} WHERE partition = $${values.length - 1}`,
      );
    }
    const main = statements.pop();
    if (main === undefined) return;
    const ctes = statements.map((statement, i) => `w${i} AS (${statement})`);
    await client.query(ctes.length === 0 ? main : `WITH ${ctes.join(',\n')}\n${main}`, values);
  }

  /**
   * Runs `work` in one transaction on one connection. A failure rolls back and rejects; a connection
   * that broke on the way (the server went away) is discarded rather than returned to the pool.
   */
  protected async transaction<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // While checked out and between statements, a dropped connection is reported here only.
    const onError = (error: Error): void => {
      broken = error;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // The server or this view said no (a deadlock, a promotion refused): the connection is sound.
      // Anything else (a reset, a timeout, a bug mid-transaction) and it is thrown away, which makes
      // the server roll back.
      if (broken === undefined && (error instanceof pg.DatabaseError || error instanceof LedgerError)) {
        await client.query('ROLLBACK').catch((rollback: unknown) => {
          broken = rollback instanceof Error ? rollback : new Error(String(rollback));
        });
      } else {
        broken ??= error instanceof Error ? error : new Error(String(error));
      }
      throw error;
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }
}

/**
 * A view on staging tables beside a live one, for `rebuild`: fed from the start of the log, then
 * promoted onto the live names in one transaction. Afterwards this object serves the live tables, so a
 * runner still feeding it goes on (its checkpoint makes a repeated batch harmless).
 */
class StagedPostgresView extends PostgresView {
  constructor(
    options: PostgresViewOptions,
    pool: pg.Pool,
    private readonly live: Tables,
  ) {
    // Its own name: on Kafka a runner's consumer group defaults to it, and the live one has that name.
    super({ ...options, name: `${options.name}-staging`, table: live.prefix }, pool);
    this.retarget(tables(live.schema, `${live.prefix}_staging`));
  }

  /**
   * Replaces the live tables with these in one transaction: readers see the old tables or the new ones,
   * never none. It refuses while the staging tables are behind the live ones in any partition: a
   * runner feeding the live view resumes from its own position, so the records in between would
   * never reach the promoted tables.
   */
  async promote(): Promise<void> {
    const live = this.live;
    const staged = this.t;
    if (staged.prefix === live.prefix) throw new LedgerError('internal', 'this view was promoted already');
    await this.transaction(async (client) => {
      const present = await client.query<{ table: Table }>(
        `SELECT name AS table FROM unnest($1::text[]) WITH ORDINALITY AS n(name, i)
          WHERE to_regclass(quote_ident($2) || '.' || quote_ident($3 || '_' || name)) IS NOT NULL
          ORDER BY i`,
        [TABLES, live.schema, live.prefix],
      );
      const existing = present.rows.map((row) => row.table);
      // Same order as every other statement takes these locks, so promoting deadlocks with none.
      await client.query(
        `LOCK TABLE ${[...existing.map((table) => live[table]), ...TABLES.map((table) => staged[table])].join(', ')}
         IN ACCESS EXCLUSIVE MODE`,
      );
      if (existing.includes('checkpoint')) {
        const behind = await client.query<{ partition: number; live: string; staged: string }>(
          `SELECT l.partition, l.position AS live, coalesce(s.position, 0) AS staged
             FROM ${live.checkpoint} AS l LEFT JOIN ${staged.checkpoint} AS s USING (partition)
            WHERE l.partition >= 0 AND coalesce(s.position, 0) < l.position ORDER BY l.partition LIMIT 1`,
        );
        const gap = behind.rows[0];
        if (gap !== undefined) {
          throw new LedgerError(
            'unavailable',
            `the staging view of ${this.name} is behind the live one in partition ${gap.partition} (${gap.staged} < ${gap.live}): let it catch up, then promote`,
          );
        }
      }
      const name = (t: Tables, suffix: string): string => ident(`${t.prefix}_${suffix}`);
      const statements = [
        ...(existing.length > 0 ? [`DROP TABLE ${existing.map((table) => live[table]).join(', ')}`] : []),
        ...TABLES.flatMap((table) => [
          `ALTER TABLE ${staged[table]} RENAME TO ${name(live, table)}`,
          `ALTER TABLE ${live[table]} RENAME CONSTRAINT ${name(staged, `${table}_pkey`)} TO ${name(live, `${table}_pkey`)}`,
        ]),
        ...INDEXES.map(
          (suffix) =>
            `ALTER INDEX ${ident(staged.schema)}.${name(staged, suffix)} RENAME TO ${name(live, suffix)}`,
        ),
      ];
      await client.query(statements.join(';\n'));
    });
    this.retarget(live);
  }
}
