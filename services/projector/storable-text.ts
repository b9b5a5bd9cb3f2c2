/**
 * Text from the outside world (reply bodies, notes, provider message ids) as a store that holds
 * well-formed Unicode without NUL can keep it. PostgreSQL refuses both a NUL character
 * (`unsupported Unicode escape sequence`) and a lone UTF-16 surrogate (`invalid input syntax for type
 * json`) whatever the retry, and one such reply stopped a view for good; so NUL and every lone surrogate
 * become U+FFFD (the replacement character). The log keeps the original text: audit and export read it
 * from there.
 */

/** NUL, or a surrogate that may be lone: the only characters that need a closer look. */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const SUSPECT = /[\u0000\ud800-\udfff]/;
// eslint-disable-next-line no-control-regex -- as above
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const REPLACEMENT = '\ufffd';

/** The text with NUL and lone surrogates replaced by U+FFFD; the same string when there are none. */
export function storableText(text: string): string {
  return SUSPECT.test(text) ? text.replace(UNSTORABLE, REPLACEMENT) : text;
}

/**
 * The value with `storableText` applied to every string in it (keys included). The same object when
 * nothing needs replacing, which is nearly always: that case only reads.
 */
export function storableValue<T>(value: T): T {
  return suspect(value) ? (repaired(value) as T) : value;
}

function suspect(value: unknown): boolean {
  if (typeof value === 'string') return SUSPECT.test(value);
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(suspect);
  for (const key in value) {
    if (SUSPECT.test(key) || suspect((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

function repaired(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(repaired);
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [storableText(key), repaired(item)]));
}
