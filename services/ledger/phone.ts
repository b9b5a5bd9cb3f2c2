import { parsePhoneNumberWithError, ParseError, type CountryCode } from 'libphonenumber-js/max';
import { LedgerError } from './errors.js';

/** A phone number in E.164 form (`+14155550123`): the one key every event and view uses. */
export type E164 = string & { readonly __brand: 'E164' };
export type Region = CountryCode;

const E164_SHAPE = /^\+[1-9]\d{6,14}$/;
/** Format characters (zero-width, soft hyphen, direction marks): invisible, and never part of a number. */
const INVISIBLE = /\p{Cf}/gu;
/** What a written phone number is made of; anything else means text around a number, or no number. */
const NUMBER_CHARACTERS = /^\+?[\d\s().\-/]+$/;

/**
 * Normalises what people and systems actually send (`(415) 555-0123`, `tel:+1-415…`, `00 44 …`,
 * full-width digits) to E.164, or throws `invalid_phone`. Only numbers libphonenumber holds valid for
 * their region pass: a ledger keyed by a malformed number would never match the sender's lookup.
 */
export function parsePhone(raw: unknown, defaultRegion: Region): E164 {
  if (typeof raw !== 'string') {
    throw new LedgerError(
      'invalid_phone',
      `phone must be a string such as "+14155550123", not the ${typeof raw} ${String(raw)}`,
    );
  }
  if (raw.trim() === '') {
    throw new LedgerError('invalid_phone', 'phone is required: give a number such as +14155550123');
  }
  const cleaned = raw.normalize('NFKC').replace(INVISIBLE, '').trim().replace(/^tel:/i, '');
  if (cleaned.length > 40) {
    throw new LedgerError(
      'invalid_phone',
      `"${raw}" is too long to be a phone number (at most 40 characters)`,
    );
  }
  // libphonenumber would find a number inside "call me at +1 201…" or drop an extension; a ledger must
  // not guess which number a sender meant.
  if (!NUMBER_CHARACTERS.test(cleaned)) {
    throw new LedgerError(
      'invalid_phone',
      `"${raw}" is not a phone number: use digits with an optional leading + and spaces, dots, dashes or brackets`,
    );
  }
  let parsed;
  try {
    parsed = parsePhoneNumberWithError(cleaned, { defaultCountry: defaultRegion });
  } catch (error) {
    const why = error instanceof ParseError ? error.message.toLowerCase().replace(/_/g, ' ') : 'unreadable';
    throw new LedgerError('invalid_phone', `"${raw}" is not a phone number (${why})`, { cause: error });
  }
  if (!parsed.isValid()) {
    throw new LedgerError(
      'invalid_phone',
      `"${raw}" is not a valid phone number${parsed.country ? ` for ${parsed.country}` : ''}; use E.164 such as +14155550123`,
    );
  }
  return parsed.number as E164;
}

/** Cheap shape check for values that were normalised before (log records, view keys). */
export function isE164(value: string): value is E164 {
  return E164_SHAPE.test(value);
}

/**
 * parsePhone, remembered: libphonenumber spends ~15-20 µs a number, more than the rest of a check.
 * Senders check the same numbers again and again, so the last `capacity` inputs (valid or not) are
 * kept, oldest dropped first. Same answers as parsePhone, by construction.
 */
export function memoisedPhoneParser(region: Region, capacity = 100_000): (raw: unknown) => E164 {
  const known = new Map<string, E164 | LedgerError>();
  return (raw) => {
    if (typeof raw !== 'string' || raw.length > 64) return parsePhone(raw, region);
    let result = known.get(raw);
    if (result === undefined) {
      try {
        result = parsePhone(raw, region);
      } catch (error) {
        if (!(error instanceof LedgerError)) throw error;
        result = error;
      }
      if (known.size >= capacity) known.delete(known.keys().next().value as string);
      known.set(raw, result);
    }
    if (result instanceof LedgerError) throw result;
    return result;
  };
}
