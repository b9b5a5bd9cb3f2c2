import {
  FILLER,
  LEXICONS,
  NOT_A_REQUEST,
  OTHER_SENSES,
  REVIEW_PHRASES,
  STRONG_WORDS,
  TYPO_TARGETS,
  type Lexicon,
} from './lexicon.js';

export type Intent = 'opt_out' | 'opt_in' | 'help' | 'none' | 'review';

export interface Classification {
  readonly intent: Intent;
  readonly confidence: number;
  /** The rule that matched, e.g. `keyword:stop+filler`; null when none did. */
  readonly matched: string | null;
  readonly language: string;
  /** An opt-out that asks for every brand and program (STOPALL, "wrong number"). */
  readonly global: boolean;
}

/** A brand's own words, added to the built-in lexicon through configuration. */
export interface KeywordExtension {
  readonly optOut?: readonly string[];
  readonly optIn?: readonly string[];
  readonly help?: readonly string[];
}

interface Entry {
  readonly intent: Exclude<Intent, 'none' | 'review'>;
  readonly language: string;
  readonly global: boolean;
  readonly rule: string;
}

const FORMAT = /\p{Cf}/gu;
const MARKS = /\p{M}/gu;
const NOT_WORD = /[^\p{L}\p{N}]+/gu;
const RUNS = /(\p{L})\1{2,}/gu;
/** Letters from other scripts that look like Latin ones, as used to slip past keyword filters. */
const CONFUSABLES: Readonly<Record<string, string>> = {
  А: 'A',
  В: 'B',
  Е: 'E',
  К: 'K',
  М: 'M',
  Н: 'H',
  О: 'O',
  Р: 'P',
  С: 'C',
  Т: 'T',
  Х: 'X',
  У: 'Y',
  Ѕ: 'S',
  І: 'I',
  Ј: 'J',
  а: 'a',
  е: 'e',
  о: 'o',
  р: 'p',
  с: 'c',
  у: 'y',
  х: 'x',
  ѕ: 's',
  і: 'i',
  ј: 'j',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  Α: 'A',
  Β: 'B',
  Ε: 'E',
  Ζ: 'Z',
  Η: 'H',
  Ι: 'I',
  Κ: 'K',
  Μ: 'M',
  Ν: 'N',
  Ο: 'O',
  Ρ: 'P',
  Τ: 'T',
  Υ: 'Y',
  Χ: 'X',
  ο: 'o',
  ν: 'v',
  τ: 't',
  ρ: 'p',
  ι: 'i',
  κ: 'k',
  υ: 'u',
  α: 'a',
};
const CONFUSABLE = new RegExp(`[${Object.keys(CONFUSABLES).join('')}]`, 'gu');
const STOP_SIGNS = /[\u{1F6D1}\u26D4\u{1F6AB}]/gu;
const ASCII = /^[\x20-\x7e]*$/;
const ASCII_NOT_WORD = /[^a-z0-9]+/g;
const ASCII_RUNS = /([a-z])\1{2,}/g;

/**
 * Case, width, accents, punctuation, invisible characters, look-alike letters and stretched letters do
 * not change what a reply means: "ＳＴＯＰ", "S\u200bTOP", "SТОP" (Cyrillic), "stoooop", "ARRÊT" and 🛑
 * all normalise to plain words.
 */
export function normaliseReply(text: string): string {
  return unspaced(basic(text));
}

function basic(text: string): string {
  // Most replies are plain ASCII: none of the Unicode passes can change them.
  if (ASCII.test(text)) {
    return text
      .toLowerCase()
      .replace(/#/g, ' number ')
      .replace(/\$/g, 's')
      .replace(ASCII_NOT_WORD, ' ')
      .replace(ASCII_RUNS, '$1')
      .trim();
  }
  return text
    .normalize('NFKC')
    .replace(FORMAT, '')
    .replace(CONFUSABLE, (c) => CONFUSABLES[c] ?? c)
    .replace(STOP_SIGNS, ' stop ')
    .replace(/#/g, ' number ')
    .replace(/\$/g, 's')
    .toLowerCase()
    .normalize('NFD')
    .replace(MARKS, '')
    .replace(NOT_WORD, ' ')
    .replace(RUNS, '$1')
    .trim();
}

const LEET: Readonly<Record<string, string>> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't' };

/** "st0p", "5T0P": digits standing in for letters inside a word that has letters too. */
const DIGIT = /\d/;

function deleet(text: string): string {
  return text
    .split(' ')
    .map((word) =>
      /\p{L}/u.test(word) && /\d/.test(word) ? word.replace(/[013457]/g, (d) => LEET[d] ?? d) : word,
    )
    .join(' ');
}

/** "S T O P", "s-t-o-p", "U N S U B S C R I B E": a word spelt out letter by letter. */
function unspaced(text: string): string {
  return /^(\p{L} ){2,}\p{L}$/u.test(text) ? text.replace(/ /g, '') : text;
}

/**
 * Builds a classifier from the built-in lexicons and a brand's extension. Pure and deterministic:
 * regular expressions and tables, no network, no model.
 */
export function createClassifier(extension: KeywordExtension = {}): (text: string) => Classification {
  const exact = new Map<string, Entry>();
  const add = (words: readonly string[], entry: Omit<Entry, 'rule'>, prefix: string): void => {
    for (const word of words) {
      const key = normaliseReply(word);
      if (key !== '' && !exact.has(key))
        exact.set(key, { ...entry, rule: `${prefix}:${key.replace(/ /g, '_')}` });
    }
  };
  for (const lexicon of [brandLexicon(extension), ...LEXICONS]) {
    const { language } = lexicon;
    add(lexicon.optOutGlobal, { intent: 'opt_out', language, global: true }, 'keyword');
    add(lexicon.optOut, { intent: 'opt_out', language, global: false }, 'keyword');
    add(lexicon.optIn, { intent: 'opt_in', language, global: false }, 'keyword');
    add(lexicon.help, { intent: 'help', language, global: false }, 'keyword');
  }
  const phrases = LEXICONS.flatMap((lexicon) =>
    lexicon.phrases.map(([rule, pattern, intent, global]) => ({
      rule,
      pattern: new RegExp(pattern),
      entry: { intent, language: lexicon.language, global: global === true, rule },
    })),
  );
  // One combined test first: most replies match no phrase, and one pass beats thirty.
  const anyPhrase = new RegExp(phrases.map((p) => `(?:${p.pattern.source})`).join('|'));
  const otherSense = new RegExp(OTHER_SENSES.join('|'));
  const notARequest = new RegExp(NOT_A_REQUEST.join('|'));
  const reviewPhrases = REVIEW_PHRASES.map(([rule, pattern]) => ({ rule, pattern: new RegExp(pattern) }));
  const anyReview = new RegExp(REVIEW_PHRASES.map(([, pattern]) => `(?:${pattern})`).join('|'));
  const weakWords = new Set(
    [...exact].filter(([key, e]) => e.intent === 'opt_out' && !key.includes(' ')).map(([key]) => key),
  );

  return (text) => {
    const normalised = normaliseReply(text);
    if (normalised === '') return NONE;
    // "st0p", "5T0P": read digits as letters only to find a keyword, never in order codes and the like.
    const whole =
      exact.get(normalised) ?? (DIGIT.test(normalised) ? exact.get(deleet(normalised)) : undefined);
    if (whole !== undefined) return answer(whole, 1);

    if (notARequest.test(normalised)) return NONE;
    const guarded = otherSense.test(normalised);
    const words = normalised.split(' ');
    const core = words.filter((w) => !FILLER.has(w));
    if (!guarded && core.length > 0 && core.length <= 2) {
      const polite = exact.get(core.join(' '));
      if (polite !== undefined) return answer({ ...polite, rule: `${polite.rule}+filler` }, 0.95);
    }
    if (anyPhrase.test(normalised)) {
      for (const phrase of phrases) {
        if (phrase.pattern.test(normalised)) return answer(phrase.entry, 0.9);
      }
    }
    // "opt ou", "otp out": a slip across two words is still one keyword.
    const single =
      core.length === 1
        ? core[0]
        : core.length === 2
          ? core.join('')
          : words.length === 1
            ? words[0]
            : undefined;
    if (single !== undefined && !guarded) {
      const typo = nearKeyword(single);
      if (typo !== undefined) {
        return answer({ intent: typo.intent, language: 'en', global: false, rule: `typo:${typo.word}` }, 0.8);
      }
    }
    if (anyReview.test(normalised)) {
      for (const phrase of reviewPhrases) {
        if (phrase.pattern.test(normalised)) return review(phrase.rule);
      }
    }
    const strong = words.find((w) => STRONG_WORDS.has(w));
    if (strong !== undefined) return review(`embedded:${strong}`);
    if (!guarded && core.length <= 3) {
      const weak = core.find((w) => weakWords.has(w));
      if (weak !== undefined) return review(`embedded:${weak}`);
    }
    return NONE;
  };
}

const NONE: Classification = Object.freeze({
  intent: 'none',
  confidence: 1,
  matched: null,
  language: 'en',
  global: false,
});

function answer(entry: Entry, confidence: number): Classification {
  return {
    intent: entry.intent,
    confidence,
    matched: entry.rule,
    language: entry.language,
    global: entry.global,
  };
}

/** Uncertain: suppress at once (fail safe) and let a person decide. */
function review(rule: string): Classification {
  return { intent: 'review', confidence: 0.5, matched: rule, language: 'en', global: false };
}

function brandLexicon(extension: KeywordExtension): Lexicon {
  return {
    language: 'brand',
    optOut: extension.optOut ?? [],
    optOutGlobal: [],
    optIn: extension.optIn ?? [],
    help: extension.help ?? [],
    phrases: [],
  };
}

const KEYBOARD = ['qwertyuiop', 'asdfghjkl', 'zxcvbnm'];
const ADJACENT = new Map<string, Set<string>>();
KEYBOARD.forEach((row, r) => {
  [...row].forEach((key, c) => {
    const near = new Set<string>();
    for (const [dr, dc] of [
      [0, -1],
      [0, 1],
      [-1, 0],
      [-1, 1],
      [1, -1],
      [1, 0],
    ] as const) {
      const neighbour = KEYBOARD[r + dr]?.[c + dc];
      if (neighbour !== undefined) near.add(neighbour);
    }
    ADJACENT.set(key, near);
  });
});

/**
 * A single word one slip away from a keyword: a swap of neighbours (stpo), a doubled or dropped letter
 * (stopp, unsubscibe) or, for short words, a neighbouring key (stoo); two slips for long words.
 */
function nearKeyword(word: string): (typeof TYPO_TARGETS)[number] | undefined {
  if (word.length < 3) return undefined;
  for (const target of TYPO_TARGETS) {
    const limit = target.word.length >= 10 ? 2 : 1;
    if (Math.abs(target.word.length - word.length) > limit) continue;
    const distance = editDistance(word, target.word, target.word.length <= 4);
    if (distance >= 1 && distance <= limit) return target;
  }
  return undefined;
}

/** Optimal string alignment distance; short words accept only substitutions of neighbouring keys. */
function editDistance(a: string, b: string, nearKeysOnly: boolean): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const x = a[i - 1] ?? '';
      const y = b[j - 1] ?? '';
      const substitution = x === y ? 0 : nearKeysOnly && !(ADJACENT.get(y)?.has(x) ?? false) ? 2 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + substitution);
      if (i > 1 && j > 1 && x === b[j - 2] && a[i - 2] === y) best = Math.min(best, at(i - 2, j - 2) + 1);
      d[i * cols + j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The classifier with the built-in lexicons only. */
export const classifyReply = createClassifier();
