import { parsePhoneNumberWithError, ParseError, type CountryCode } from 'libphonenumber-js/max';
import { LedgerError } from './errors.js';

/** A phone number in E.164 form (`+14155550123`): the one key every event and view uses. */
export type E164 = string & { readonly __brand: 'E164' };
export type Region = CountryCode;

const E164_SHAPE = /^\+[1-9]\d{6,14}$/;
const INVISIBLE = /[\u00AD\u200B-\u200F\u202A-\u202E\u2060\uFEFF]/g;

/**
 * Normalises what people and systems actually send (`(415) 555-0123`, `tel:+1-415…`, `00 44 …`,
 * full-width digits) to E.164, or throws `invalid_phone`. Only numbers libphonenumber holds valid for
 * their region pass: a ledger keyed by a malformed number would never match the sender's lookup.
 */
export function parsePhone(raw: unknown, defaultRegion: Region): E164 {
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw new LedgerError('invalid_phone', 'phone is required: give a number such as +14155550123');
  }
  const cleaned = raw.normalize('NFKC').replace(INVISIBLE, '').trim().replace(/^tel:/i, '');
  if (cleaned.length > 40) {
    throw new LedgerError('invalid_phone', 'phone is too long to be a phone number');
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
