/**
 * Exact-keyword classification: the message, once normalised, must be one of these words. The FCC's
 * seven revocation words (47 CFR 64.1200(a)(10)) plus STOPALL; the CTIA opt-in and help words. Broader
 * language understanding is a later layer on top of this one.
 */
export type Intent = 'opt_out' | 'opt_in' | 'help' | 'none' | 'review';

export interface Classification {
  readonly intent: Intent;
  readonly confidence: number;
  /** The rule that matched, e.g. `keyword:stop`; null when none did. */
  readonly matched: string | null;
  readonly language: string;
  /** A keyword that asks for every program of every brand (STOPALL). */
  readonly global: boolean;
}

interface Keyword {
  readonly intent: Exclude<Intent, 'none' | 'review'>;
  readonly global?: boolean;
}

const KEYWORDS: ReadonlyMap<string, Keyword> = new Map<string, Keyword>([
  ['stop', { intent: 'opt_out' }],
  ['quit', { intent: 'opt_out' }],
  ['end', { intent: 'opt_out' }],
  ['revoke', { intent: 'opt_out' }],
  ['opt out', { intent: 'opt_out' }],
  ['optout', { intent: 'opt_out' }],
  ['cancel', { intent: 'opt_out' }],
  ['unsubscribe', { intent: 'opt_out' }],
  ['stopall', { intent: 'opt_out', global: true }],
  ['stop all', { intent: 'opt_out', global: true }],
  ['start', { intent: 'opt_in' }],
  ['unstop', { intent: 'opt_in' }],
  ['yes', { intent: 'opt_in' }],
  ['help', { intent: 'help' }],
  ['info', { intent: 'help' }],
]);

/** Format characters (zero-width, soft hyphen, direction controls) are invisible to the sender. */
const INVISIBLE = /\p{Cf}/gu;
const NOT_WORD = /[^\p{L}\p{N}]+/gu;

/** Case, width, punctuation and spacing do not change what a reply means. */
export function normalise(text: string): string {
  return text.normalize('NFKC').replace(INVISIBLE, '').toLowerCase().replace(NOT_WORD, ' ').trim();
}

export function classifyKeyword(text: string): Classification {
  const normalised = normalise(text);
  const keyword = KEYWORDS.get(normalised);
  if (keyword === undefined) {
    return { intent: 'none', confidence: 1, matched: null, language: 'en', global: false };
  }
  return {
    intent: keyword.intent,
    confidence: 1,
    matched: `keyword:${normalised.replace(' ', '_')}`,
    language: 'en',
    global: keyword.global === true,
  };
}
