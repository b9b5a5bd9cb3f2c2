import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LedgerError } from '../ledger/index.js';

/**
 * JSON bodies, parsed by fastify's own parser (which refuses `__proto__` and `constructor.prototype`
 * poisoning) and then refused when any object repeats a key. JSON.parse keeps the last of two equal
 * keys, so `{"type":"opt_out", …, "type":"opt_in"}` would quietly record an opt-in; which of the two
 * the sender meant cannot be known, so neither is guessed.
 */
export function installJsonBody(app: FastifyInstance): void {
  // Fastify's default JSON parser is the callback form of its body-parser type.
  const parse = app.getDefaultJsonParser('error', 'error') as (
    request: FastifyRequest,
    body: string,
    done: (error: Error | null, value?: unknown) => void,
  ) => void;
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    parse(request, text, (error, value) => {
      if (error !== null) return done(error, undefined);
      const duplicate = repeatedKey(text, value);
      if (duplicate === undefined) return done(null, value);
      const where = duplicate.path === '' ? 'at the top level' : `in ${duplicate.path}`;
      return done(
        new LedgerError(
          'invalid_request',
          `the key "${duplicate.key}" appears twice (${where}); send each key once`,
        ),
        undefined,
      );
    });
  });
}

/** The first key `text` (valid JSON, parsed to `value`) repeats in an object, and where. */
export function repeatedKey(text: string, value: unknown): { key: string; path: string } | undefined {
  return mayRepeatKeys(text, value) ? firstDuplicateKey(text) : undefined;
}

/**
 * False when `text` (valid JSON, parsed to `value`) certainly repeats no key; then the scan below is not
 * needed. Every ':' outside a string follows exactly one key, and the parsed value keeps one key per
 * distinct name, so: colons in the text = keys in the value + keys repeated + colons inside strings.
 * When the colons equal the keys, nothing repeats. That costs a memchr-speed count and a walk of the
 * value — a few percent of the scan on a batch of 10,000 phones; a body with ':' inside its strings
 * (tel: numbers, URLs) takes the scan.
 */
function mayRepeatKeys(text: string, value: unknown): boolean {
  let colons = 0;
  for (let i = text.indexOf(':'); i !== -1; i = text.indexOf(':', i + 1)) colons++;
  let keys = 0;
  const open: unknown[] = [value];
  while (open.length > 0) {
    const next = open.pop();
    if (Array.isArray(next)) {
      for (const item of next) if (typeof item === 'object' && item !== null) open.push(item);
    } else if (typeof next === 'object' && next !== null) {
      const inner = Object.values(next);
      keys += inner.length;
      for (const item of inner) if (typeof item === 'object' && item !== null) open.push(item);
    }
  }
  return colons !== keys;
}

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const COMMA = 44;

/**
 * The first key an object of `text` repeats, and where (`evidence`, `items[]`, '' for the top level).
 * `text` must be valid JSON (it was parsed first). One pass: strings are skipped with indexOf, so an
 * array of 10,000 phones costs 10,000 indexOf calls; only objects keep a set of their keys.
 */
export function firstDuplicateKey(text: string): { key: string; path: string } | undefined {
  // Per open container: its keys (an object) or null (an array), and where it sits.
  const keys: (Set<string> | null)[] = [];
  const paths: string[] = [];
  let expectKey = false;
  let lastKey = '';
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let end = text.indexOf('"', i + 1);
      while (text.charCodeAt(end - 1) === BACKSLASH) {
        let first = end - 1;
        while (text.charCodeAt(first - 1) === BACKSLASH) first--;
        if ((end - first) % 2 === 0) break; // an even run of backslashes escapes itself, not the quote
        end = text.indexOf('"', end + 1);
      }
      if (expectKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        const own = keys[keys.length - 1];
        if (own?.has(key)) return { key, path: paths[paths.length - 1] ?? '' };
        own?.add(key);
        lastKey = key;
        expectKey = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const parent = paths[paths.length - 1];
      paths.push(
        parent === undefined
          ? ''
          : keys[keys.length - 1] === null
            ? `${parent}[]`
            : parent === ''
              ? lastKey
              : `${parent}.${lastKey}`,
      );
      keys.push(c === OPEN_OBJECT ? new Set() : null);
      expectKey = c === OPEN_OBJECT;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      keys.pop();
      paths.pop();
      expectKey = false;
    } else if (c === COMMA) {
      const top = keys[keys.length - 1];
      expectKey = top !== undefined && top !== null;
    }
  }
  return undefined;
}
