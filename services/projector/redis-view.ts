import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  EMPTY_HISTORY,
  LedgerError,
  START,
  asPosition,
  type ConsentFact,
  type ConsentKind,
  type E164,
  type PhoneHistory,
  type Position,
  type ReviewOutcome,
  type ScopeKey,
  type Status,
} from '../ledger/index.js';
import type { LogRecord, Undecodable } from '../log/index.js';
import { assertFollows, REDIS_PREFIX, redisKeyPrefix } from './names.js';
import { foldBatch, scopeRows } from './fold-batch.js';
import { StoreLost } from './runner.js';
import { rowFor, type ScopeRow, type SystemView, type ViewAnswer } from './system-view.js';

export interface RedisViewOptions {
  readonly name: string;
  /** redis://host:port/db */
  readonly url: string;
  /** Every key of the view starts with it (default `ledger:<name>`). */
  readonly prefix?: string;
  /**
   * A command with no answer after this long rejects (default 10 s), so a silent network makes the
   * runner retry and report unhealthy instead of waiting forever. Safe for writes: see APPLY.
   */
  readonly commandTimeoutMs?: number;
}

/**
 * A row as the `rows` hash stores it, one JSON object per phone keyed by scope:
 * `{"brand:acme": ["opted_out", false, 1735732800000, "out-1"]}` — status, allowed, since, eventId.
 */
type StoredRow = readonly [status: Status, allowed: boolean, since: number | null, eventId: string | null];

/**
 * The write of applyBatch and repair, as one Lua script: Redis runs it atomically like a MULTI, and
 * unlike a MULTI it can compare before it writes. A batch is folded from facts read before, so it only
 * applies if the checkpoints (and the repair count) are still what they were then: a command that timed
 * out but still reaches Redis, or a second writer (a `reconcile --repair` in another process), then
 * changes nothing and the batch is folded again.
 *
 * ARGV: prefix; expected repair count ('' = do not compare); '1' to count this write as a repair; the
 * number of checkpoints, then (partition, expected, new) per checkpoint; then per phone (phone, facts,
 * rows, scopes to leave, scopes to join), facts and rows '' meaning delete, scopes space-separated.
 * Returns 1 when written, 0 when a compare failed (nothing written). Keys are derived from the prefix,
 * so the script is for a single Redis, not Cluster.
 */
const APPLY = `
local prefix = ARGV[1]
local checkpoint = prefix .. ':checkpoint'
local rows = prefix .. ':rows'
local facts = prefix .. ':facts'
local scopes = prefix .. ':scopes'
local suppressed = prefix .. ':suppressed:'
if ARGV[2] ~= '' and (redis.call('HGET', checkpoint, 'repairs') or '0') ~= ARGV[2] then return 0 end
local count = tonumber(ARGV[4])
local i = 5
for _ = 1, count do
  if (redis.call('HGET', checkpoint, ARGV[i]) or '0') ~= ARGV[i + 1] then return 0 end
  i = i + 3
end
i = 5
for _ = 1, count do
  redis.call('HSET', checkpoint, ARGV[i], ARGV[i + 2])
  i = i + 3
end
if ARGV[3] == '1' then redis.call('HINCRBY', checkpoint, 'repairs', 1) end
while i <= #ARGV do
  local phone, history, row = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  for scope in string.gmatch(ARGV[i + 3], '%S+') do redis.call('SREM', suppressed .. scope, phone) end
  for scope in string.gmatch(ARGV[i + 4], '%S+') do
    redis.call('SADD', suppressed .. scope, phone)
    redis.call('SADD', scopes, scope)
  end
  if history == '' then redis.call('HDEL', facts, phone) else redis.call('HSET', facts, phone, history) end
  if row == '' then redis.call('HDEL', rows, phone) else redis.call('HSET', rows, phone, row) end
  i = i + 5
end
redis.call('HSET', checkpoint, 'store', '1', 'held', redis.call('EXISTS', rows, facts, prefix .. ':quarantine'))
return 1
`;

/** ARGV: prefix, partition, position, phone ('' for none), entry. Applies once: at or below the checkpoint, nothing. */
const QUARANTINE = `
local checkpoint = ARGV[1] .. ':checkpoint'
if tonumber(redis.call('HGET', checkpoint, ARGV[2]) or '0') >= tonumber(ARGV[3]) then return 0 end
if ARGV[4] ~= '' then redis.call('HSET', ARGV[1] .. ':quarantine', ARGV[4], ARGV[5]) end
redis.call('HSET', checkpoint, ARGV[2], ARGV[3])
local held = redis.call('EXISTS', ARGV[1] .. ':rows', ARGV[1] .. ':facts', ARGV[1] .. ':quarantine')
redis.call('HSET', checkpoint, 'store', '1', 'held', held)
return 1
`;

/**
 * ARGV: live prefix, staging prefix ('' to only delete the live keys). Every live key is unlinked and
 * its staging counterpart, if any, renamed onto it, in one atomic step: a reader sees the old store or
 * the new one, never a gap. UNLINK frees the old values in the background, so a large view does not
 * block Redis while it goes.
 */
const REPLACE = `
local live, staging = ARGV[1], ARGV[2]
local names = { ':rows', ':facts', ':checkpoint', ':quarantine' }
local seen = {}
local function add(prefix)
  if prefix == '' then return end
  for _, scope in ipairs(redis.call('SMEMBERS', prefix .. ':scopes')) do
    if not seen[scope] then
      seen[scope] = true
      names[#names + 1] = ':suppressed:' .. scope
    end
  end
end
add(live)
add(staging)
names[#names + 1] = ':scopes'
for _, name in ipairs(names) do
  redis.call('UNLINK', live .. name)
  if staging ~= '' and redis.call('EXISTS', staging .. name) == 1 then
    redis.call('RENAME', staging .. name, live .. name)
  end
end
return #names
`;

/**
 * Fields of the checkpoint hash besides the partitions' positions: `store` is set by every write, so a
 * checkpoint hash without it, once the view has written, means the keys are gone (a Redis restart
 * without persistence, FLUSHDB); `held` counts which of rows, facts and quarantine existed after the last
 * write, so one of them evicted or deleted on its own shows too; `repairs` counts repairs.
 */
const MARKERS = ['store', 'held'] as const;
/**
 * Set in the checkpoint hash once the view's runner has caught up with the log's head after the store
 * was created or emptied (`vouch`): until then the store holds only part of the log, and a check (a
 * sender's too) answers unknown, not the no_record of an opt-out not yet replayed. Emptying the store
 * deletes the hash, and with it this field.
 */
const READY = 'ready';
const BUILDING_REASON = 'the view is replaying the log and has not caught up with it yet';

/** ARGV: checkpoint key, '1' when the view has seen the store written. Returns 0 when its keys are gone. */
const VOUCH = `
if ARGV[2] == '1' and redis.call('HEXISTS', ARGV[1], 'store') == 0 then return 0 end
redis.call('HSET', ARGV[1], 'store', '1', '${READY}', '1')
return 1
`;
const isPartitionField = (field: string): boolean => /^\d+$/.test(field);

/** How often a batch is folded again when another writer got in between; the runner retries beyond. */
const CONFLICT_ATTEMPTS = 5;
const SCAN_COUNT = 1000;

const NO_RECORD: ViewAnswer = Object.freeze({
  status: 'no_record',
  allowed: true,
  since: null,
  eventId: null,
});

/**
 * A sender's suppression view in Redis. Few keys, so a rebuild swaps them in one atomic step:
 *
 * - `<prefix>:rows` hash, phone → JSON of the phone's rows by scope (see StoredRow).
 * - `<prefix>:suppressed:<scope>` set of the phones whose row at that scope suppresses;
 *   `<prefix>:scopes` lists the scopes that have had one.
 * - `<prefix>:facts` hash, phone → JSON of its consent facts (see StoredFact), so each batch folds
 *   incrementally.
 * - `<prefix>:checkpoint` hash, partition → last applied position (and `repairs`, a count of repairs).
 * - `<prefix>:quarantine` hash, phone → JSON {partition, position, reason} of an unreadable record.
 *
 * A sender checks (phone, brand b, program p?) with HGET quarantine and HGET rows: a quarantined phone is
 * unknown (not allowed); otherwise the row at program:b/p, else brand:b, else global decides, and no
 * row means no_record. A campaign can instead subtract the union of suppressed:global, suppressed:brand:b
 * and suppressed:program:b/p from its audience: that never lets through a phone the check suppresses,
 * but it also holds back one whose narrower opt-in lifts a wider opt-out (STOPALL, then START for
 * brand b) — and it does not see quarantined phones.
 */
export class RedisView implements SystemView {
  readonly kind = 'redis';
  readonly readable = true;
  readonly name: string;
  readonly prefix: string;
  protected readonly redis: Redis;
  private readonly ownsConnection: boolean;
  private opened = false;
  /** The highest checkpoint per partition this process has seen the store at: it never goes back. */
  private readonly known = new Map<number, Position>();
  /** Whether this process has seen the store written (its `store` marker, or a checkpoint past 0). */
  private written = false;
  private readonly keys: {
    readonly rows: string;
    readonly facts: string;
    readonly checkpoint: string;
    readonly quarantine: string;
    readonly scopes: string;
  };

  /**
   * `connection`: an existing client to share (the staging view shares its parent's); the view then
   * neither connects nor quits it.
   */
  constructor(options: RedisViewOptions, connection?: Redis) {
    this.name = options.name;
    this.prefix = assertFollows(
      REDIS_PREFIX,
      `Redis view ${options.name}: key prefix`,
      redisKeyPrefix(options),
    );
    this.ownsConnection = connection === undefined;
    this.redis =
      connection ??
      new Redis(options.url, {
        lazyConnect: true,
        // A down Redis makes commands reject soon, not queue forever: the runner retries with backoff
        // and reports the view unhealthy meanwhile, so the gate fails closed.
        maxRetriesPerRequest: 1,
        commandTimeout: options.commandTimeoutMs ?? 10_000,
        // Reconnects once open; a first connect that fails just fails open().
        retryStrategy: (attempt) => (this.opened ? Math.min(attempt * 50, 1000) : null),
      });
    if (this.ownsConnection) {
      // Failures reach callers as rejected commands; without a listener ioredis would print them.
      this.redis.on('error', () => undefined);
    }
    this.keys = {
      rows: `${this.prefix}:rows`,
      facts: `${this.prefix}:facts`,
      checkpoint: `${this.prefix}:checkpoint`,
      quarantine: `${this.prefix}:quarantine`,
      scopes: `${this.prefix}:scopes`,
    };
  }

  /** The set of phones whose row at `scope` suppresses. */
  suppressedKey(scope: ScopeKey): string {
    return `${this.prefix}:suppressed:${scope}`;
  }

  async open(): Promise<void> {
    if (!this.ownsConnection) return;
    if (this.redis.status !== 'wait' && this.redis.status !== 'end') return;
    // connect() rejects with "Connection is closed."; the 'error' event has what an operator needs
    // (ECONNREFUSED, ENOTFOUND, an auth failure).
    let refused: unknown;
    const remember = (error: unknown): void => {
      refused = error;
    };
    this.redis.on('error', remember);
    try {
      await this.redis.connect();
      this.opened = true;
    } catch (error) {
      throw new LedgerError('unavailable', `cannot connect to Redis for view ${this.name}`, {
        cause: refused ?? error,
      });
    } finally {
      this.redis.off('error', remember);
    }
  }

  async close(): Promise<void> {
    if (!this.ownsConnection || this.redis.status === 'end') return;
    this.opened = false;
    if (this.redis.status === 'ready') {
      try {
        await this.redis.quit();
        return;
      } catch {
        // The connection went while quitting: drop it below.
      }
    }
    this.redis.disconnect();
  }

  async checkpoint(partition: number): Promise<Position> {
    const [[store, held, stored], exists] = await Promise.all([
      this.redis.hmget(this.keys.checkpoint, ...MARKERS, String(partition)),
      this.existing(),
    ]);
    const position = toPosition(stored ?? null);
    this.assertIntact(store ?? null, held ?? null, exists, [[partition, position]]);
    return position;
  }

  /** Rejects with StoreLost when the store no longer holds what this view wrote (see MARKERS). */
  async verify(): Promise<void> {
    const [checkpoint, exists] = await Promise.all([
      this.redis.hgetall(this.keys.checkpoint),
      this.existing(),
    ]);
    const positions = new Map<number, Position>();
    for (const partition of this.known.keys()) positions.set(partition, START);
    for (const [field, value] of Object.entries(checkpoint)) {
      if (isPartitionField(field)) positions.set(Number(field), toPosition(value));
    }
    this.assertIntact(checkpoint.store ?? null, checkpoint.held ?? null, exists, positions);
  }

  /** Removes every key of the view, so the runner can replay the log into it from the start. */
  async reset(): Promise<void> {
    await this.script(REPLACE, [this.prefix, '']);
    // Suppressed sets the scopes set no longer lists (it was lost with the rest).
    const pattern = `${globEscape(`${this.prefix}:suppressed:`)}*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
      cursor = next;
      if (keys.length > 0) await this.redis.unlink(...keys);
    } while (cursor !== '0');
    this.known.clear();
    this.written = false;
  }

  /**
   * The runner has caught up with the log's head since the store was created or emptied: marks the
   * store as holding the whole log (see READY). StoreLost when the store lost data meanwhile.
   */
  async vouch(): Promise<void> {
    await this.verify();
    const done = await this.script(VOUCH, [this.keys.checkpoint, this.written ? '1' : '0']);
    if (done !== 1) throw new StoreLost(this.name, 'its keys in Redis are gone');
    this.written = true;
  }

  /** How many of rows, facts and quarantine exist (compared with the `held` marker). */
  private existing(): Promise<number> {
    return this.redis.exists(this.keys.rows, this.keys.facts, this.keys.quarantine);
  }

  /**
   * Throws StoreLost when the markers read with a request say the store lost data: its `store` marker
   * is gone after this view wrote, fewer of its hashes exist than the last write left, keys remain
   * without a checkpoint, or a partition's checkpoint is behind where this process saw it.
   */
  private assertIntact(
    store: string | null,
    held: string | null,
    exists: number,
    positions: Iterable<readonly [number, Position]> = [],
  ): void {
    if (store === null) {
      if (this.written) throw new StoreLost(this.name, 'its keys in Redis are gone');
      if (exists > 0) throw new StoreLost(this.name, 'its checkpoint in Redis is gone but data remains');
    } else {
      this.written = true;
      const expected = Number(held ?? '0');
      if (exists < expected) {
        throw new StoreLost(this.name, `${expected - exists} of its hashes in Redis are gone`);
      }
    }
    for (const [partition, position] of positions) {
      const known = this.known.get(partition) ?? START;
      if (position < known) {
        throw new StoreLost(
          this.name,
          `its checkpoint of partition ${partition} went back from ${known} to ${position}`,
        );
      }
      this.known.set(partition, position);
      if (position > START) this.written = true;
    }
  }

  async applyBatch(records: readonly LogRecord[]): Promise<void> {
    if (records.length === 0) return;
    for (let attempt = 1; ; attempt += 1) {
      if (await this.tryApply(records)) return;
      if (attempt >= CONFLICT_ATTEMPTS) {
        throw new LedgerError(
          'unavailable',
          `view ${this.name}: another writer kept changing the store during ${attempt} attempts at a batch`,
        );
      }
    }
  }

  /** One read-fold-write round; false when another writer changed the store in between. */
  private async tryApply(records: readonly LogRecord[]): Promise<boolean> {
    const partitions = [...new Set(records.map((r) => r.partition))];
    const phones = [...new Set(records.map((r) => r.event.phone))];
    const [[repairs, store, held, ...storedCheckpoints], exists, stored] = await Promise.all([
      this.redis.hmget(this.keys.checkpoint, 'repairs', ...MARKERS, ...partitions.map(String)),
      this.existing(),
      this.redis.hmget(this.keys.facts, ...phones),
    ]);

    const checkpoints = new Map<number, Position>();
    partitions.forEach((partition, i) =>
      checkpoints.set(partition, toPosition(storedCheckpoints[i] ?? null)),
    );
    // Folding onto a store that lost data would build on the loss: the facts read are not the log's.
    this.assertIntact(store ?? null, held ?? null, exists, checkpoints);
    const before = new Map<E164, PhoneHistory>();
    phones.forEach((phone, i) => before.set(phone, decodeFacts(phone, stored[i] ?? null)));

    const { after, rowChanges, last } = foldBatch(
      before,
      records,
      (partition) => checkpoints.get(partition) ?? START,
    );
    if (last.size === 0) return true;

    const args: string[] = [this.prefix, repairs ?? '0', '0', String(last.size)];
    for (const [partition, position] of last) {
      args.push(String(partition), String(checkpoints.get(partition) ?? START), String(position));
    }
    for (const [phone, history] of after) {
      const change = rowChanges.get(phone);
      if (change !== undefined) args.push(...phoneWrite(phone, history, change.rows, change.removed));
    }
    if ((await this.script(APPLY, args)) !== 1) return false;
    for (const [partition, position] of last) this.known.set(partition, position);
    this.written = true;
    return true;
  }

  async quarantine(record: Undecodable): Promise<void> {
    const entry = JSON.stringify({
      partition: record.partition,
      position: record.position,
      reason: record.reason,
    });
    const [[store, held, checkpoint], exists] = await Promise.all([
      this.redis.hmget(this.keys.checkpoint, ...MARKERS, String(record.partition)),
      this.existing(),
    ]);
    this.assertIntact(store ?? null, held ?? null, exists, [
      [record.partition, toPosition(checkpoint ?? null)],
    ]);
    await this.script(QUARANTINE, [
      this.prefix,
      String(record.partition),
      String(record.position),
      record.key ?? '',
      entry,
    ]);
    this.known.set(
      record.partition,
      asPosition(Math.max(record.position, this.known.get(record.partition) ?? START)),
    );
    this.written = true;
  }

  async check(phone: E164, brand: string, program?: string): Promise<ViewAnswer> {
    // Sent together on one connection: one round trip, with the markers that show a lost store (a
    // flushed Redis must not answer no_record for an earlier opt-out while nothing new arrives).
    const [stored, quarantined, [store, held, ready], exists] = await Promise.all([
      this.redis.hget(this.keys.rows, phone),
      this.redis.hget(this.keys.quarantine, phone),
      this.redis.hmget(this.keys.checkpoint, ...MARKERS, READY),
      this.existing(),
    ]);
    this.assertIntact(store ?? null, held ?? null, exists);
    if (ready === null || ready === undefined) {
      return { status: 'unknown', allowed: false, since: null, eventId: null, reason: BUILDING_REASON };
    }
    if (quarantined !== null) {
      return {
        status: 'unknown',
        allowed: false,
        since: null,
        eventId: null,
        quarantined: parseQuarantine(quarantined),
      };
    }
    if (stored === null) return NO_RECORD;
    const row = rowFor(decodeRows(phone, stored), brand, program);
    if (row === undefined) return NO_RECORD;
    return { status: row.status, allowed: row.allowed, since: row.since, eventId: row.eventId };
  }

  /** Every row, by HSCAN: a row may come twice if Redis resizes the hash during the scan. */
  async *rows(): AsyncIterable<ScopeRow> {
    let cursor = '0';
    do {
      const [next, entries] = await this.redis.hscan(this.keys.rows, cursor, 'COUNT', SCAN_COUNT);
      cursor = next;
      for (let i = 0; i + 1 < entries.length; i += 2) {
        const phone = entries[i] as E164;
        yield* decodeRows(phone, entries[i + 1] ?? '{}').values();
      }
    } while (cursor !== '0');
  }

  /**
   * Every member of every `suppressed:<scope>` set, found by SCAN (so a set the `scopes` list lost is
   * read too); a member may come twice if Redis resizes a set during the scan.
   */
  async *memberships(): AsyncIterable<{ readonly phone: E164; readonly scope: ScopeKey }> {
    const head = `${this.prefix}:suppressed:`;
    const sets: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(
        cursor,
        'MATCH',
        `${globEscape(head)}*`,
        'COUNT',
        SCAN_COUNT,
      );
      cursor = next;
      sets.push(...keys);
    } while (cursor !== '0');
    for (const key of new Set(sets)) {
      const scope = key.slice(head.length) as ScopeKey;
      let members = '0';
      do {
        const [next, phones] = await this.redis.sscan(key, members, 'COUNT', SCAN_COUNT);
        members = next;
        for (const phone of phones) yield { phone: phone as E164, scope };
      } while (members !== '0');
    }
  }

  async repair(phone: E164, history: PhoneHistory): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      if (await this.tryRepair(phone, history)) return;
      if (attempt >= CONFLICT_ATTEMPTS) {
        throw new LedgerError(
          'unavailable',
          `view ${this.name}: the projector kept applying batches during ${attempt} attempts to repair ${phone}`,
        );
      }
    }
  }

  /**
   * One read-write round; false when a batch was applied in between. It refuses a history older than
   * what the view holds: written, it would drop an opt-out the projector applied after the log was read.
   */
  private async tryRepair(phone: E164, history: PhoneHistory): Promise<boolean> {
    const [checkpoints, everyScope, rows, facts, exists] = await Promise.all([
      this.redis.hgetall(this.keys.checkpoint),
      this.redis.smembers(this.keys.scopes),
      this.redis.hget(this.keys.rows, phone),
      this.redis.hget(this.keys.facts, phone),
      this.existing(),
    ]);
    const partitions = Object.entries(checkpoints).filter(([field]) => isPartitionField(field));
    // A repair onto a store that lost data would make what is left look whole.
    this.assertIntact(
      checkpoints.store ?? null,
      checkpoints.held ?? null,
      exists,
      partitions.map(([partition, position]) => [Number(partition), toPosition(position)] as const),
    );
    let held: PhoneHistory = EMPTY_HISTORY;
    try {
      held = decodeFacts(phone, facts);
    } catch {
      // Unreadable facts are what a repair is for: they are replaced.
    }
    if (lastPosition(held) > lastPosition(history)) {
      throw new LedgerError(
        'invalid_request',
        `view ${this.name} holds facts of ${phone} up to position ${lastPosition(held)}, later than the ` +
          `history given (up to ${lastPosition(history)}): read the phone's log again and retry`,
      );
    }
    // The checkpoints are compared, not moved: a batch applied since they were read makes this retry.
    const args = [this.prefix, checkpoints.repairs ?? '0', '1', String(partitions.length)];
    for (const [partition, position] of partitions) args.push(partition, position, position);
    // Leave every set the phone may be in, even one a hand-made row put it in.
    const scopes = [...(everyScope as ScopeKey[]), ...(rows === null ? [] : decodeRows(phone, rows).keys())];
    args.push(...phoneWrite(phone, history, scopeRows(phone, history), scopes));
    return (await this.script(APPLY, args)) === 1;
  }

  /** The consent facts the view holds for the phone (what reconcile compares with the log's fold). */
  async history(phone: E164): Promise<PhoneHistory> {
    return decodeFacts(phone, await this.redis.hget(this.keys.facts, phone));
  }

  async staging(): Promise<RedisView & { promote(): Promise<void> }> {
    const staging = new StagingRedisView(this, this.redis);
    // Whatever an earlier, unfinished rebuild left there.
    await this.script(REPLACE, [staging.prefix, '']);
    return staging;
  }

  /** Runs a script by its digest, loading it on first use (and after a Redis restart). */
  protected async script(source: string, args: readonly string[]): Promise<unknown> {
    const sha = digest(source);
    try {
      return await this.redis.evalsha(sha, 0, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return await this.redis.eval(source, 0, ...args);
    }
  }
}

/** The store a rebuild fills beside the live one; `promote` makes it the live one. */
class StagingRedisView extends RedisView {
  constructor(
    private readonly live: RedisView,
    connection: Redis,
  ) {
    super({ name: live.name, url: '', prefix: `${live.prefix}~staging` }, connection);
  }

  /** Replaces the live keys with these in one atomic step; this view is empty afterwards. */
  async promote(): Promise<void> {
    await this.script(REPLACE, [this.live.prefix, this.prefix]);
  }
}

const digests = new Map<string, string>();

function digest(source: string): string {
  let sha = digests.get(source);
  if (sha === undefined) {
    sha = createHash('sha1').update(source).digest('hex');
    digests.set(source, sha);
  }
  return sha;
}

/** The text as a SCAN MATCH pattern that matches only itself. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

function toPosition(stored: string | null): Position {
  if (stored === null) return START;
  const position = Number(stored);
  if (!Number.isSafeInteger(position) || position < 0) {
    throw new LedgerError('internal', `the stored checkpoint "${stored}" is not a position`);
  }
  return asPosition(position);
}

/**
 * The APPLY arguments that make what the store holds for the phone follow from `history` and its
 * `rows`: its facts, its rows, and its membership of the suppressed set of every scope it has a row at,
 * or is given in `leave`.
 */
function phoneWrite(
  phone: E164,
  history: PhoneHistory,
  rows: ReadonlyMap<ScopeKey, ScopeRow>,
  leave: Iterable<ScopeKey> = [],
): string[] {
  if (history.length === 0) return [phone, '', '', [...new Set(leave)].join(' '), ''];
  const join: ScopeKey[] = [];
  const left = new Set(leave);
  for (const row of rows.values()) {
    if (row.allowed) left.add(row.scope);
    else join.push(row.scope);
  }
  for (const scope of join) left.delete(scope);
  return [phone, encodeFacts(history), encodeRows(rows), [...left].join(' '), join.join(' ')];
}

/**
 * Facts as the `facts` hash stores them: one JSON array of tuples per phone, half the size of the
 * objects, which matters because a phone's facts are read and written whole at every batch.
 */
type StoredFact =
  | readonly [Position, ScopeKey, ConsentKind, number, number, string]
  | readonly [Position, ScopeKey, ConsentKind, number, number, string, StoredReview];
type StoredReview = readonly [string, Position, ReviewOutcome, number];

function encodeFacts(history: PhoneHistory): string {
  const stored: StoredFact[] = [];
  for (const { position, scope, kind, occurredAt, recordedAt, eventId, review } of history) {
    stored.push(
      review === undefined
        ? [position, scope, kind, occurredAt, recordedAt, eventId]
        : [
            position,
            scope,
            kind,
            occurredAt,
            recordedAt,
            eventId,
            [review.eventId, review.position, review.outcome, review.recordedAt],
          ],
    );
  }
  return JSON.stringify(stored);
}

function decodeFacts(phone: E164, stored: string | null): PhoneHistory {
  if (stored === null) return EMPTY_HISTORY;
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored);
  } catch {
    // Reported below with what to do.
  }
  if (!Array.isArray(parsed) || !parsed.every((each) => Array.isArray(each) && each.length >= 6)) {
    throw unreadableFacts(phone);
  }
  const history: ConsentFact[] = [];
  for (const [position, scope, kind, occurredAt, recordedAt, eventId, review] of parsed as StoredFact[]) {
    history.push(
      review === undefined
        ? { position, scope, kind, occurredAt, recordedAt, eventId }
        : {
            position,
            scope,
            kind,
            occurredAt,
            recordedAt,
            eventId,
            review: { eventId: review[0], position: review[1], outcome: review[2], recordedAt: review[3] },
          },
    );
  }
  return history;
}

function unreadableFacts(phone: E164): LedgerError {
  return new LedgerError(
    'internal',
    `the stored facts of ${phone} are not readable; repair the phone or rebuild the view`,
  );
}

/** The last position the history reflects: a review decides a fact in place, later than the fact. */
function lastPosition(history: PhoneHistory): Position {
  let last = START;
  for (const { position, review } of history) {
    last = asPosition(Math.max(last, position, review?.position ?? START));
  }
  return last;
}

function encodeRows(rows: ReadonlyMap<ScopeKey, ScopeRow>): string {
  const stored: Record<string, StoredRow> = {};
  for (const { scope, status, allowed, since, eventId } of rows.values()) {
    stored[scope] = [status, allowed, since, eventId];
  }
  return JSON.stringify(stored);
}

function decodeRows(phone: E164, stored: string): Map<ScopeKey, ScopeRow> {
  const rows = new Map<ScopeKey, ScopeRow>();
  const parsed = JSON.parse(stored) as Record<ScopeKey, StoredRow>;
  for (const [scope, [status, allowed, since, eventId]] of Object.entries(parsed) as [
    ScopeKey,
    StoredRow,
  ][]) {
    rows.set(scope, { phone, scope, status, allowed, since, eventId });
  }
  return rows;
}

function parseQuarantine(stored: string): string {
  try {
    const { reason } = JSON.parse(stored) as { reason?: unknown };
    if (typeof reason === 'string') return reason;
  } catch {
    // Unreadable itself: still fail closed, with a generic reason.
  }
  return 'the log holds an unreadable record for this phone';
}
