import type { Redis } from 'ioredis';
import type pg from 'pg';
import { senderSql } from '../../../services/projector/index.js';
import type { DirectReader, Target } from './checker.js';
import type { Answer } from './oracle.js';

/**
 * How senders read each view's store without the ledger in the path, exactly as the README tells them
 * to: the invariant holds for them too, or the view says it cannot vouch for its data.
 */

/** The covering scopes of a check, most specific first. */
function covering({ brand, program }: Target): string[] {
  return [...(program === undefined ? [] : [`program:${brand}/${program}`]), `brand:${brand}`, 'global'];
}

function mostSpecific(rows: ReadonlyMap<string, Answer>, target: Target): Answer {
  for (const scope of covering(target)) {
    const row = rows.get(scope);
    if (row !== undefined) return row;
  }
  return { allowed: true, status: 'no_record' };
}

/** HGET <prefix>:quarantine, then HGET <prefix>:rows and the most specific covering row. */
export function redisRows(redis: Redis, prefix: string, view: string): DirectReader {
  return {
    view,
    path: `Redis HGET ${view}:rows`,
    async read(target) {
      if ((await redis.hget(`${prefix}:quarantine`, target.phone)) !== null) {
        return { allowed: false, status: 'unknown' };
      }
      const raw = await redis.hget(`${prefix}:rows`, target.phone);
      const stored = raw === null ? {} : (JSON.parse(raw) as Record<string, [Answer['status'], boolean]>);
      const rows = new Map(
        Object.entries(stored).map(([scope, [status, allowed]]): [string, Answer] => [
          scope,
          { status, allowed },
        ]),
      );
      return mostSpecific(rows, target);
    },
  };
}

/**
 * SISMEMBER on the suppressed sets of the covering scopes, the campaign builder's read. It may hold back
 * a phone the exact check allows (a narrower opt-in), so it is judged for failing open only.
 */
export function redisSets(redis: Redis, prefix: string, view: string): DirectReader {
  return {
    view,
    path: `Redis SISMEMBER ${view}:suppressed`,
    failOpenOnly: true,
    async read(target) {
      for (const scope of covering(target)) {
        if ((await redis.sismember(`${prefix}:suppressed:${scope}`, target.phone)) === 1) {
          return { allowed: false, status: 'opted_out' };
        }
      }
      return { allowed: true, status: 'no_record' };
    },
  };
}

/** The sender's single-check SQL (`senderSql().check`) against `<table>_suppressions` and quarantine. */
export function postgresCheck(db: pg.Pool, table: string, view: string): DirectReader {
  const { check } = senderSql({ name: view, table });
  return {
    view,
    path: `PostgreSQL ${table}_suppressions (sender SQL)`,
    async read(target) {
      try {
        const { rows } = await db.query<{ allowed: boolean; status: Answer['status'] }>(check, [
          target.phone,
          target.brand,
          target.program ?? null,
        ]);
        const row = rows[0];
        return row === undefined ? undefined : { allowed: row.allowed, status: row.status };
      } catch {
        // Tables gone (a fault dropped them): the sender cannot read, so it cannot send on it either.
        return undefined;
      }
    },
  };
}

/** The webhook's receiver: what a CRM holds after applying each change it accepted, in arrival order. */
export class CrmRecords {
  private readonly rows = new Map<string, Map<string, Answer>>();

  accept(change: { phone: string; scope: string; status: Answer['status']; allowed: boolean }): void {
    const rows = this.rows.get(change.phone) ?? new Map<string, Answer>();
    rows.set(change.scope, { status: change.status, allowed: change.allowed });
    this.rows.set(change.phone, rows);
  }

  reader(view: string): DirectReader {
    return {
      view,
      path: `CRM records pushed by ${view}`,
      read: (target) => Promise.resolve(mostSpecific(this.rows.get(target.phone) ?? new Map(), target)),
    };
  }
}
