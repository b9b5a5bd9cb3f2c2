/**
 * Named lists of regular expressions over the canonical text, where a pattern is tried only where the
 * reply has a word that one of its branches can begin with, and only there. Most replies share no first
 * word with most patterns, so a reply costs a map lookup per word and a few anchored tests instead of a
 * pass of every pattern over every character; the answers are the same as testing them all.
 */
export interface PatternLists<K extends string> {
  /** Reads a reply's words: `first` and `replaceAll` then take the text they make, joined by spaces. */
  read(words: readonly string[]): void;
  /** The index in `list` of the first pattern that matches the text read, or -1. */
  first(list: K, text: string): number;
  /** `text` with every match of every pattern in `list` replaced by `by`. */
  replaceAll(list: K, text: string, by: string): string;
}

/** A pattern with each `{NAME}` in it replaced by the fragment of that name (fragments may nest). */
export function withFragments(pattern: string, fragments: Readonly<Record<string, string>>): string {
  let out = pattern;
  for (let depth = 0; depth < 4 && out.includes('{'); depth++) {
    out = out.replace(/\{([A-Z]+)\}/g, (all, name: string) => fragments[name] ?? all);
  }
  return out;
}

/** Which patterns a word can begin, word by word: a bounded memo of a pure function. */
const MEMO_LIMIT = 50_000;

export function patternLists<K extends string>(
  lists: Readonly<Record<K, readonly string[]>>,
): PatternLists<K> {
  const { ranges, sources } = concatenated(lists);
  const { patterns, anchored, replacers } = compiled(sources);
  const { alwaysTested, anywhere, atStart } = beginnings(sources);
  const begun = memoised((word) => anywhere.find(word));
  // Where in the text read each pattern may begin: a list of offsets per pattern, linked through
  // `pairNext` from `head`; -1 ends a list, and an offset of -1 means "anywhere: test the whole text".
  const head = new Int32Array(sources.length).fill(-1);
  let touched: Int32Array = new Int32Array(64);
  let touchedCount = 0;
  let pairNext: Int32Array = new Int32Array(64);
  let pairOffset: Int32Array = new Int32Array(64);
  let pairs = 0;
  const mark = (indices: readonly number[], offset: number): void => {
    for (const i of indices) {
      if (pairs === pairNext.length) {
        pairNext = grow(pairNext);
        pairOffset = grow(pairOffset);
      }
      const previous = head[i] ?? -1;
      if (previous < 0) {
        if (touchedCount === touched.length) touched = grow(touched);
        touched[touchedCount++] = i;
      }
      pairOffset[pairs] = offset;
      pairNext[pairs] = previous;
      head[i] = pairs++;
    }
  };
  /** Whether pattern `i` matches `text` at one of the places noted for it. */
  const matches = (i: number, text: string): boolean => {
    for (let p = head[i] ?? -1; p >= 0; p = pairNext[p] ?? -1) {
      const at = pairOffset[p] ?? 0;
      if (at < 0) return patterns[i]?.test(text) === true;
      const sticky = anchored[i];
      if (sticky === undefined) return false;
      sticky.lastIndex = at;
      if (sticky.test(text)) return true;
    }
    return false;
  };

  return {
    read(words) {
      for (let t = 0; t < touchedCount; t++) head[touched[t] ?? 0] = -1;
      touchedCount = 0;
      pairs = 0;
      mark(alwaysTested, -1);
      let offset = 0;
      for (const word of words) {
        mark(begun(word), offset);
        offset += word.length + 1;
      }
      if (words.length > 0) mark(atStart.find(words[0] ?? ''), 0);
    },
    first(list, text) {
      if (touchedCount === 0) return -1;
      const [start, end] = ranges[list];
      for (let i = start; i < end; i++) {
        if ((head[i] ?? -1) >= 0 && matches(i, text)) return i - start;
      }
      return -1;
    },
    replaceAll(list, text, by) {
      if (touchedCount === 0) return text;
      const [start, end] = ranges[list];
      let out = text;
      for (let i = start; i < end; i++) {
        if ((head[i] ?? -1) < 0) continue;
        const replacer = replacers[i];
        // Offsets hold for the text read; once it has changed, only a whole pass can tell.
        if (replacer !== undefined && (out !== text || matches(i, text))) out = out.replace(replacer, by);
      }
      return out;
    },
  };
}

/** The lists laid end to end, and where each list's patterns lie in the whole. */
function concatenated<K extends string>(
  lists: Readonly<Record<K, readonly string[]>>,
): { ranges: Record<K, readonly [start: number, end: number]>; sources: string[] } {
  const ranges = {} as Record<K, readonly [start: number, end: number]>;
  const sources: string[] = [];
  for (const name of Object.keys(lists) as K[]) {
    ranges[name] = [sources.length, sources.length + lists[name].length];
    sources.push(...lists[name]);
  }
  return { ranges, sources };
}

/** Each pattern compiled three ways: to test anywhere, to test at an offset, to replace every match. */
function compiled(sources: readonly string[]): {
  patterns: RegExp[];
  anchored: RegExp[];
  replacers: RegExp[];
} {
  return {
    patterns: sources.map((source) => new RegExp(source)),
    anchored: sources.map((source) => new RegExp(source, 'y')),
    replacers: sources.map((source) => new RegExp(source, 'g')),
  };
}

/** Where each pattern can begin: anywhere or only at the start of the reply, a whole word or a prefix. */
function beginnings(sources: readonly string[]): {
  alwaysTested: number[];
  anywhere: ReturnType<typeof index>;
  atStart: ReturnType<typeof index>;
} {
  const alwaysTested: number[] = [];
  const anywhere = index();
  const atStart = index();
  sources.forEach((source, i) => {
    const starts = leadingWords(source);
    if (starts === undefined) alwaysTested.push(i);
    else for (const start of starts) (start.atStart ? atStart : anywhere).add(start, i);
  });
  return { alwaysTested, anywhere, atStart };
}

/** `find`, remembered word by word up to MEMO_LIMIT words (long words are not kept). */
function memoised(find: (word: string) => readonly number[]): (word: string) => readonly number[] {
  const memo = new Map<string, readonly number[]>();
  return (word) => {
    const known = memo.get(word);
    if (known !== undefined) return known;
    const indices = find(word);
    if (word.length > 32) return indices;
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(word, indices);
    return indices;
  };
}

function grow(array: Int32Array): Int32Array {
  const larger = new Int32Array(array.length * 2);
  larger.set(array);
  return larger;
}

const NONE: readonly number[] = [];

/** Patterns by the word they begin with: whole words by lookup, word beginnings by a scan. */
function index(): { add(start: Start, i: number): void; find(word: string): readonly number[] } {
  const whole = new Map<string, number[]>();
  const prefixes: [prefix: string, i: number][] = [];
  return {
    add(start, i) {
      if (start.whole) whole.set(start.word, [...(whole.get(start.word) ?? []), i]);
      else prefixes.push([start.word, i]);
    },
    find(word) {
      const exact = whole.get(word) ?? NONE;
      let found: number[] | undefined;
      for (const [prefix, i] of prefixes) {
        if (word.startsWith(prefix)) (found ??= [...exact]).push(i);
      }
      return found ?? exact;
    },
  };
}

/**
 * How a pattern branch begins: a word it needs (`whole`, or only its beginning), and whether the
 * branch is anchored at the start of the reply.
 */
export interface Start {
  readonly word: string;
  readonly whole: boolean;
  readonly atStart: boolean;
}

/**
 * The words a pattern cannot match without one of: the first word of each of its branches, where the
 * branch starts at `^` or `\b`. Undefined when some branch could begin anywhere or with anything (a
 * lookaround, `\w`, a branch with no anchor): such a pattern is always tested.
 */
export function leadingWords(source: string): readonly Start[] | undefined {
  const starts: Start[] = [];
  for (const branch of alternatives(source)) {
    const found = branchStarts(branch, false, false);
    if (found === undefined) return undefined;
    // A word that ends the pattern with no boundary after it may run on: "desabonn" in "desabonnez".
    starts.push(...found.map((start) => ({ ...start, whole: start.ends === 'word' })));
  }
  return starts;
}

/** `ends`: what follows the word — a word break, more letters, or the end of the enclosing group. */
interface Found {
  readonly word: string;
  readonly ends: 'word' | 'more' | 'open';
  readonly atStart: boolean;
}

function branchStarts(branch: string, anchored: boolean, atStart: boolean): Found[] | undefined {
  let rest = branch;
  let atWord = anchored;
  let startOnly = atStart;
  for (;;) {
    if (rest.startsWith('^')) {
      rest = rest.slice(1);
      startOnly = true;
      atWord = true;
    } else if (rest.startsWith('\\b')) {
      rest = rest.slice(2);
      atWord = true;
    } else if (/^\(\?<?[=!]/.test(rest)) {
      // A lookaround consumes nothing: the branch still begins with what follows it.
      const end = closingParenthesis(rest);
      if (end < 0) return undefined;
      rest = rest.slice(end + 1);
    } else break;
  }
  if (!atWord) return undefined;
  const literal = /^[a-z]+/.exec(rest)?.[0];
  if (literal !== undefined) {
    const next = rest.slice(literal.length);
    // "texts?": the last letter is optional, so the word need only begin "text".
    if (/^[?*{]/.test(next)) {
      const word = literal.slice(0, -1);
      return word === '' ? undefined : [{ word, ends: 'more', atStart: startOnly }];
    }
    const ends = next === '' ? 'open' : boundary(next) ? 'word' : 'more';
    return [{ word: literal, ends, atStart: startOnly }];
  }
  if (!rest.startsWith('(') || /^\(\?[=!<]/.test(rest)) return undefined;
  const end = closingParenthesis(rest);
  if (end < 0) return undefined;
  const body = rest.slice(rest.startsWith('(?:') ? 3 : 1, end);
  const quantifier = /^(?:\?|\*|\{0,\d*\})\??/.exec(rest.slice(end + 1))?.[0];
  const after = rest.slice(end + 1 + (quantifier?.length ?? 0));
  const starts: Found[] = [];
  for (const inner of alternatives(body)) {
    const found = branchStarts(inner, true, startOnly);
    if (found === undefined) return undefined;
    for (const start of found) {
      if (start.ends !== 'open') starts.push(start);
      else starts.push({ ...start, ends: after === '' ? 'open' : boundary(after) ? 'word' : 'more' });
    }
  }
  if (quantifier === undefined) return starts;
  // "(please |ok )?(you can|…)": the branch may begin with what follows an optional group instead.
  const then = branchStarts(after.replace(/^ +/, ''), true, startOnly);
  return then === undefined ? undefined : [...starts, ...then];
}

/** Whether pattern text begins with a word break: a space, `\b` or `$`. */
function boundary(pattern: string): boolean {
  return pattern.startsWith(' ') || pattern.startsWith('\\b') || pattern.startsWith('$');
}

/** The top-level alternatives of a pattern: split at `|` outside groups and classes. */
function alternatives(source: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      parts.push(source.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(source.slice(start));
  return parts;
}

/** Where the group opened at the start of `source` closes, or -1. */
function closingParenthesis(source: string): number {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}
