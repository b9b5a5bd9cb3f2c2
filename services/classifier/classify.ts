import {
  ABBREVIATIONS,
  ABOUT_KEYWORDS,
  CLOSING_KEYWORDS,
  CONTRACTIONS,
  FILLER,
  FRAGMENTS,
  KEYWORD_AS_NOUN,
  LAUGHTER,
  LEXICONS,
  MUST_HONOUR,
  NOT_A_REQUEST,
  NOT_THIS_PERSON,
  OPENING_KEYWORD,
  OTHER_SENSES,
  QUESTION_WORDS,
  REAL_WORDS,
  REVIEW_PHRASES,
  SPELLING_TARGETS,
  STRONG_WORDS,
  TYPO_TARGETS,
  type Lexicon,
} from './lexicon.js';
import { lookalikesToLatin } from './lookalikes.js';
import { patternLists, withFragments } from './patterns.js';
import { withoutTail } from './tails.js';

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
const STOP_SIGNS = /[\u{1F6D1}\u26D4\u{1F6AB}]/gu;
const ASCII_RUNS = /([a-z])\1{2,}/g;

/**
 * Case, width, accents, punctuation, invisible characters, look-alike letters and stretched letters do
 * not change what a reply means: "ＳＴＯＰ", "S\u200bTOP", "SТОP" (Cyrillic), "stoooop", "ARRÊT" and 🛑
 * all normalise to plain words.
 */
export function normaliseReply(text: string): string {
  return normalisedWords(text).join(' ');
}

/** The words of the normalised reply. */
function normalisedWords(text: string): string[] {
  // Most replies are plain ASCII: none of the Unicode passes can change them.
  const words = basicAscii(text) ?? basic(text).split(' ');
  return unspaced(words);
}

function basic(text: string): string {
  return lookalikesToLatin(text.normalize('NFKC').replace(FORMAT, ''))
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

/**
 * The ASCII case (undefined for any other) in one pass: lower case, "#" read as "number", "$" as "s", anything but a letter or a
 * digit a word break, and a letter stretched three times or more ("stooop") written once.
 */
function basicAscii(text: string): string[] | undefined {
  let latin = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 255) return undefined;
    if (c > 126) latin = true;
  }
  if (latin) return latinWords(text);
  const lower = text.toLowerCase();
  const words: string[] = [];
  let start = -1;
  let dollar = false;
  let stretched = false;
  let previous = 0;
  let run = 0;
  for (let i = 0; i <= lower.length; i++) {
    const c = i < lower.length ? lower.charCodeAt(i) : 32;
    const letter = (c >= 97 && c <= 122) || c === 36;
    if (letter || (c >= 48 && c <= 57)) {
      if (start < 0) start = i;
      if (c === 36) dollar = true;
      const key = c === 36 ? 115 : c;
      if (letter && key === previous) {
        if (++run === 3) stretched = true;
      } else {
        previous = letter ? key : 0;
        run = 1;
      }
    } else {
      if (start >= 0) words.push(lower.slice(start, i));
      start = -1;
      previous = 0;
      if (c === 35) words.push('number');
    }
  }
  if (!dollar && !stretched) return words;
  return words.map((word) => word.replace(/\$/g, 's').replace(ASCII_RUNS, '$1'));
}

/**
 * How each character up to U+00FF reads after the Unicode passes, worked out once by running them: ''
 * when dropped (a soft hyphen), ' ' for a word break, or the letters it becomes ("É" → "e", "²" → "2").
 * Below U+0100 those passes act on one character at a time, so the table gives the same words.
 */
const LATIN = Array.from({ length: 256 }, (_, c) => {
  // Digits fence the character: they are kept as they are, and never stretched.
  const probe = basic(`0${String.fromCharCode(c)}0`);
  return probe === '00' ? '' : probe.slice(1, -1).replace(/^ +| +$/g, ' ');
});

/** The words of a reply written in Latin-1 ("sí, gracias", "Arrêtez SVP"), read through `LATIN`. */
function latinWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  for (let i = 0; i < text.length; i++) {
    for (const ch of LATIN[text.charCodeAt(i)] ?? ' ') {
      if (ch !== ' ') word += ch;
      else if (word !== '') {
        words.push(word);
        word = '';
      }
    }
  }
  if (word !== '') words.push(word);
  return words.map((w) => w.replace(RUNS, '$1'));
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
function unspaced(words: string[]): string[] {
  if (words.length === 1 && words[0] === '') return [];
  // A letter is one code point: at most two UTF-16 units.
  if (words.length < 3 || words.some((word) => word.length > 2)) return words;
  return /^(\p{L} ){2,}\p{L}$/u.test(words.join(' ')) ? [words.join('')] : words;
}

const ABBREVIATION = new Map(Object.entries(ABBREVIATIONS).map(([short, long]) => [short, long.split(' ')]));
const CONTRACTION = new Map(Object.entries(CONTRACTIONS));

/**
 * The words a reply is matched on: texting shorthand spelt out ("plz remve me from ur list" → "please
 * remove me from your list"), contractions joined ("don t" → "dont") and slips in the words phrase
 * patterns hang on corrected. Real words are left alone ("remote" is not "remove").
 */
export function canonicalise(words: readonly string[]): readonly string[] {
  // Written lazily: most replies need no change, and then the words themselves are the answer.
  let out: string[] | undefined;
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    const previous = out === undefined ? words[i - 1] : out[out.length - 1];
    if (word.length <= 2 && previous !== undefined && CONTRACTION.get(word)?.has(previous) === true) {
      out ??= words.slice(0, i);
      out[out.length - 1] = previous + word;
      continue;
    }
    const respelt = respell(word);
    if (respelt === undefined) {
      out?.push(word);
      continue;
    }
    out ??= words.slice(0, i);
    out.push(...respelt);
  }
  return out ?? words;
}

/**
 * How a word is written in the canonical text, when not as it is: shorthand spelt out, a slip
 * corrected. Kept word by word: replies share most of their words, and a lookup is cheaper than the
 * edit distances. Bounded, and a pure function's memory: it changes no answer.
 */
const RESPELT = new Map<string, readonly string[] | null>();
const RESPELT_LIMIT = 50_000;

function respell(word: string): readonly string[] | undefined {
  const known = RESPELT.get(word);
  if (known !== undefined) return known ?? undefined;
  const long = ABBREVIATION.get(word);
  const corrected = long === undefined ? correctSpelling(word) : word;
  const respelt = long ?? (corrected === word ? null : [corrected]);
  if (word.length > 32) return respelt ?? undefined;
  if (RESPELT.size >= RESPELT_LIMIT) RESPELT.clear();
  RESPELT.set(word, respelt);
  return respelt ?? undefined;
}

const expand = (pattern: string): string => withFragments(pattern, FRAGMENTS);

/** The tables and compiled patterns a classifier reads replies against, built once per extension. */
interface Tables {
  readonly exact: ReadonlyMap<string, Entry>;
  readonly phrases: readonly { readonly source: string; readonly entry: Entry }[];
  readonly patterns: ReturnType<typeof patternLists>;
  readonly keywordAsNoun: readonly RegExp[];
  readonly notThisPerson: RegExp;
  readonly opening: RegExp;
  readonly laughter: RegExp;
  readonly weakWords: ReadonlySet<string>;
}

/**
 * Builds a classifier from the built-in lexicons and a brand's extension. Pure and deterministic:
 * regular expressions and tables, no network, no model.
 */
export function createClassifier(extension: KeywordExtension = {}): (text: string) => Classification {
  const tables = buildTables(extension);
  const read = (text: string): Classification => readReply(tables, text);
  // Read whole, and without the tail when it has one: what was taken for a tail can add an opt-out or
  // a review, never hide one.
  return (text) => {
    const whole = read(text);
    if (whole.intent === 'opt_out') return whole;
    const body = withoutTail(text);
    if (body === text) return whole;
    const short = read(body);
    if (short.intent === 'opt_out') return short;
    return whole.intent === 'review' || short.intent === 'none' ? whole : short;
  };
}

function buildTables(extension: KeywordExtension): Tables {
  const exact = exactEntries(extension);
  const phrases = LEXICONS.flatMap((lexicon) =>
    lexicon.phrases.map(([rule, pattern, intent, global]) => ({
      source: expand(pattern),
      entry: { intent, language: lexicon.language, global: global === true, rule },
    })),
  );
  const patterns = patternLists({
    notARequest: NOT_A_REQUEST.map(expand),
    aboutKeywords: ABOUT_KEYWORDS.map(expand),
    otherSenses: OTHER_SENSES.map(expand),
    phrases: phrases.map((p) => p.source),
    review: REVIEW_PHRASES.map(([, pattern]) => expand(pattern)),
  });
  return {
    exact,
    phrases,
    patterns,
    keywordAsNoun: KEYWORD_AS_NOUN.map((pattern) => new RegExp(expand(pattern), 'u')),
    notThisPerson: new RegExp(NOT_THIS_PERSON, 'u'),
    opening: new RegExp(OPENING_KEYWORD, 'iu'),
    laughter: new RegExp(LAUGHTER, 'iu'),
    weakWords: new Set(
      [...exact].filter(([key, e]) => e.intent === 'opt_out' && !key.includes(' ')).map(([key]) => key),
    ),
  };
}

/** Every keyword of the brand's extension and the built-in lexicons, by its normalised text; first one wins. */
function exactEntries(extension: KeywordExtension): Map<string, Entry> {
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
  return exact;
}

/** The keyword trusted to close a reply that its last word, or last two, spell. */
function closingKeyword(exact: ReadonlyMap<string, Entry>, core: readonly string[]): Entry | undefined {
  const last = core[core.length - 1] ?? '';
  const pair = `${core[core.length - 2] ?? ''} ${last}`;
  if (CLOSING_KEYWORDS.has(pair)) return exact.get(pair);
  return CLOSING_KEYWORDS.has(last) ? exact.get(last) : undefined;
}

/**
 * A keyword that is a sentence of its own, set off by line breaks or punctuation ("got your
 * message\nSTOP\nbye"): the keywords trusted to close a reply are the opt-out; the other must-honour
 * words, review.
 */
function sentenceKeyword(exact: ReadonlyMap<string, Entry>, text: string): Classification | undefined {
  let doubtful: string | undefined;
  for (const sentence of text.split(SENTENCE_BREAKS)) {
    const own = normalisedWords(sentence)
      .filter((w) => !FILLER.has(w))
      .join(' ');
    const entry = CLOSING_KEYWORDS.has(own) ? exact.get(own) : undefined;
    if (entry !== undefined) return answer({ ...entry, rule: `${entry.rule}+sentence` }, 0.85);
    if (MUST_HONOUR.has(own)) doubtful ??= own;
  }
  return doubtful === undefined ? undefined : review(`sentence:${doubtful.replace(/ /g, '_')}`);
}

/** "STOP STOP STOP", "stop. stop. please stop": a keyword said again is the same keyword. */
function repeatedKeyword(exact: ReadonlyMap<string, Entry>, core: readonly string[]): Entry | undefined {
  const distinct: string[] = [];
  for (const word of core) {
    if (!distinct.includes(word)) distinct.push(word);
    if (distinct.length > 2) break;
  }
  if (distinct.length === 0 || distinct.length > 2) return undefined;
  return exact.get(distinct.join(' '));
}

/** "opt ou", "otp out": a slip across two words is still one keyword. */
function typoEntry(core: readonly string[], words: readonly string[]): Entry | undefined {
  const single =
    core.length === 1
      ? core[0]
      : core.length === 2
        ? core.join('')
        : words.length === 1
          ? words[0]
          : undefined;
  const typo = single === undefined ? undefined : nearKeyword(single);
  return typo === undefined
    ? undefined
    : { intent: typo.intent, language: 'en', global: false, rule: `typo:${typo.word}` };
}

/** Reads a reply: the whole of it as a keyword, then as spelt, then the patterns, then the loose rules. */
function readReply(tables: Tables, text: string): Classification {
  const { exact, patterns, phrases } = tables;
  const normalWords = normalisedWords(text);
  const normalised = normalWords.join(' ');
  if (normalised === '') return NONE;
  // "st0p", "5T0P": read digits as letters only to find a keyword, never in order codes and the like.
  const whole = exact.get(normalised) ?? (DIGIT.test(normalised) ? exact.get(deleet(normalised)) : undefined);
  if (whole !== undefined) return answer(whole, 1);

  const canonicalWords = canonicalise(normalWords);
  const canonical = canonicalWords === normalWords ? normalised : canonicalWords.join(' ');
  if (canonical !== normalised) {
    const spelt = exact.get(canonical);
    if (spelt !== undefined) return answer({ ...spelt, rule: `${spelt.rule}+spelling` }, 0.9);
  }
  patterns.read(canonicalWords);
  if (patterns.first('notARequest', canonical) >= 0) return NONE;
  if (patterns.first('aboutKeywords', canonical) >= 0) return answer(ABOUT_KEYWORD, 0.9);
  // Set aside the words used in another sense ("stop by", "cancel my order"); read the rest.
  const neutral = patterns.replaceAll('otherSenses', canonical, '_');
  const words = neutral === canonical ? canonicalWords : neutral.split(' ');
  if (words !== canonicalWords) patterns.read(words);
  const core = words.filter((w) => !FILLER.has(w));
  const polite = repeatedKeyword(exact, core);
  if (polite !== undefined) return answer({ ...polite, rule: `${polite.rule}+filler` }, 0.95);
  const matched = patterns.first('phrases', neutral);
  if (matched >= 0) {
    const entry = phrases[matched]?.entry;
    if (entry !== undefined) return answer(entry, 0.9);
  }
  const typo = typoEntry(core, words);
  if (typo !== undefined) return answer(typo, 0.8);
  return readLoosely(tables, text, { words, core, neutral });
}

/**
 * What no keyword, spelling or phrase settled: someone else's number, a keyword closing or opening
 * the reply, a keyword alone in its sentence, annoyance, and the strong and weak words left over.
 */
function readLoosely(
  tables: Tables,
  text: string,
  read: { readonly words: readonly string[]; readonly core: readonly string[]; readonly neutral: string },
): Classification {
  const { exact, patterns, keywordAsNoun, notThisPerson, opening, laughter, weakWords } = tables;
  const { words, core, neutral } = read;
  if ((words.includes('not') || words[0] === 'no') && notThisPerson.test(text))
    return answer(NOT_THIS_PERSON_ENTRY, 0.8);
  const last = core.length >= 2 ? closingKeyword(exact, core) : undefined;
  if (last !== undefined && !laughter.test(text))
    return answer({ ...last, rule: `${last.rule}+closing` }, 0.85);
  // Tested only where a keyword has been found: most replies never need it.
  let laughing: boolean | undefined;
  const joking = (): boolean => (laughing ??= laughter.test(text));
  if (opening.test(text) && !joking()) return answer(OPENING_ENTRY, 0.85);
  const keyword = core.some((w) => MUST_HONOUR.has(w) || w === 'opt');
  const alone = keyword && SENTENCE_BREAK.test(text) && !joking() ? sentenceKeyword(exact, text) : undefined;
  if (alone !== undefined) return alone;
  const annoyed = REVIEW_PHRASES[patterns.first('review', neutral)];
  if (annoyed !== undefined) return review(annoyed[0]);
  const strong = words.find((w) => STRONG_WORDS.has(w));
  if (strong !== undefined) return review(`embedded:${strong}`);
  // "stop this is mike", "Please STOP I have asked 5 times": a must-honour keyword opening the reply
  // (not set aside as another sense) with words after it no rule reads. A person decides; until then
  // the number is held.
  const first = core[0] === 'opt' && core[1] === 'out' ? 'opt out' : (core[0] ?? '');
  if (MUST_HONOUR.has(first) && !joking() && !keywordAsNoun.some((pattern) => pattern.test(neutral)))
    return review(`opening:${first.replace(/ /g, '_')}`);
  if (core.length <= 3 && !QUESTION_WORDS.has(words[0] ?? '')) {
    const weak = core.find((w) => weakWords.has(w));
    if (weak !== undefined) return review(`embedded:${weak}`);
  }
  return NONE;
}

/** Where a sentence ends: its punctuation, or a line break. */
const SENTENCE_BREAK = /[.!?;\r\n\u2028\u2029]/u;
const SENTENCE_BREAKS = /[.!?;\r\n\u2028\u2029]+/u;

const ABOUT_KEYWORD: Entry = { intent: 'help', language: 'en', global: false, rule: 'plain:about_keywords' };
const NOT_THIS_PERSON_ENTRY: Entry = {
  intent: 'opt_out',
  language: 'en',
  global: true,
  rule: 'plain:not_this_person',
};
const OPENING_ENTRY: Entry = {
  intent: 'opt_out',
  language: 'en',
  global: false,
  rule: 'keyword:stop+opening',
};

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
    const distance = boundedDistance(word, target.word, limit, target.word.length <= 4);
    if (distance >= 1 && distance <= limit) return target;
  }
  return undefined;
}

/** Spelling targets by first letter, and by second letter too so that a slip in the first is found. */
const SPELLING = new Map<string, string[]>();
for (const target of SPELLING_TARGETS) {
  for (const key of new Set([target[0] ?? '', target[1] ?? ''])) {
    const bucket = SPELLING.get(key) ?? [];
    bucket.push(target);
    SPELLING.set(key, bucket);
  }
}
const SPELT = new Set([...SPELLING_TARGETS, ...REAL_WORDS, ...FILLER]);

/** The spelling target a word is one slip from (two for long words), or the word itself. */
function correctSpelling(word: string): string {
  if (word.length < 4 || word.length > 16 || SPELT.has(word) || DIGIT.test(word)) return word;
  return nearestTarget(word);
}

function nearestTarget(word: string): string {
  const bucket = SPELLING.get(word[0] ?? '');
  if (bucket === undefined) return word;
  let best = word;
  let bestDistance = 3;
  for (const target of bucket) {
    const limit = target.length >= 10 ? 2 : 1;
    if (Math.abs(target.length - word.length) > limit) continue;
    const distance = boundedDistance(word, target, limit, target.length <= 4);
    if (distance <= limit && distance < bestDistance) {
      best = target;
      bestDistance = distance;
    }
  }
  return best;
}

const ROWS = [new Int32Array(20), new Int32Array(20), new Int32Array(20)] as const;
/** NEAR[x * 26 + y] is 1 when keys x and y neighbour on a QWERTY keyboard. */
const NEAR = new Uint8Array(26 * 26);
for (const [key, near] of ADJACENT) {
  for (const other of near) NEAR[(key.charCodeAt(0) - 97) * 26 + other.charCodeAt(0) - 97] = 1;
}

/**
 * The optimal string alignment distance of `a` and `b`, or `limit + 1` as soon as it must exceed
 * `limit`. Short targets accept only substitutions of neighbouring keys. Three reused rows: no garbage.
 */
function boundedDistance(a: string, b: string, limit: number, nearKeysOnly: boolean): number {
  let [twoBack, back, row] = ROWS;
  for (let j = 0; j <= b.length; j++) back[j] = j;
  for (let i = 1; i <= a.length; i++) {
    row[0] = i;
    let rowBest = i;
    const x = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const y = b.charCodeAt(j - 1);
      const near = x >= 97 && x <= 122 && (NEAR[(x - 97) * 26 + y - 97] ?? 0) === 1;
      const substitution = x === y ? 0 : !nearKeysOnly || near ? 1 : 2;
      let best = (back[j - 1] ?? 0) + substitution;
      const deletion = (back[j] ?? 0) + 1;
      if (deletion < best) best = deletion;
      const insertion = (row[j - 1] ?? 0) + 1;
      if (insertion < best) best = insertion;
      if (i > 1 && j > 1 && x === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === y) {
        const transposition = (twoBack[j - 2] ?? 0) + 1;
        if (transposition < best) best = transposition;
      }
      row[j] = best;
      if (best < rowBest) rowBest = best;
    }
    if (rowBest > limit) return limit + 1;
    const spare = twoBack;
    twoBack = back;
    back = row;
    row = spare;
  }
  return back[b.length] ?? limit + 1;
}

/** The classifier with the built-in lexicons only. */
export const classifyReply = createClassifier();
