import { LedgerError } from '../ledger/index.js';

/**
 * What a view may be called, and what its store's keys and tables may be called: one rule per thing,
 * read both by the configuration's schema (which reports every problem at start, naming the setting)
 * and by the views' constructors (so a view built directly, by a test or a tool, refuses the same).
 */
export interface NameRule {
  /** A JSON Schema `pattern` (anchored). */
  readonly pattern: string;
  /** What the value must be, as the end of a sentence that starts with its name. */
  readonly fix: string;
}

/** A view's name: in /v1/views, ?system=, file names, idempotency keys and Kafka consumer groups. */
export const VIEW_NAME: NameRule = {
  pattern: '^[a-z0-9][a-z0-9_-]{0,47}$',
  fix: "must be 1-48 lower-case letters, digits, '_' or '-', starting with a letter or digit",
};

/** The longest name PostgreSQL keeps whole; longer ones it truncates, and two views could then meet. */
const MAX_IDENTIFIER = 63;
/** The longest name derived from a table prefix is `<prefix>_staging_suppressions_blocked`. */
export const MAX_TABLE_PREFIX = MAX_IDENTIFIER - '_staging_suppressions_blocked'.length;

/** A PostgreSQL view's table prefix: usable unquoted, and never truncated in any derived name. */
export const POSTGRES_TABLE: NameRule = {
  pattern: `^[a-z_][a-z0-9_]{0,${MAX_TABLE_PREFIX - 1}}$`,
  fix: `must be a lower-case SQL name of 1-${MAX_TABLE_PREFIX} letters, digits or '_', starting with a letter or '_'`,
};

/** A Redis view's key prefix: the view SCANs for its keys, and these characters make a pattern of it. */
export const REDIS_PREFIX: NameRule = {
  pattern: '^[^*?[\\]\\\\]+$',
  fix: "must not contain *, ?, [, ] or \\ (Redis reads them as a pattern): use letters, digits, ':', '-' or '_'",
};

/** Whether `value` follows `rule`. */
export function follows(rule: NameRule, value: string): boolean {
  return new RegExp(rule.pattern).test(value);
}

/** `value` when it follows `rule`; otherwise an `invalid_config` error saying what `what` must be. */
export function assertFollows(rule: NameRule, what: string, value: string, hint = ''): string {
  if (!follows(rule, value)) throw new LedgerError('invalid_config', `${what} "${value}" ${rule.fix}${hint}`);
  return value;
}

/** The table prefix of a PostgreSQL view: its own `table`, or one derived from its name. */
export function postgresTablePrefix(view: {
  readonly name: string;
  readonly table?: string | undefined;
}): string {
  return view.table ?? `ledger_${view.name.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
}

/** The key prefix of a Redis view: its own `prefix`, or `ledger:<name>`. */
export function redisKeyPrefix(view: {
  readonly name: string;
  readonly prefix?: string | undefined;
}): string {
  return view.prefix ?? `ledger:${view.name}`;
}
