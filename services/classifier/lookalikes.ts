/**
 * Letters that look like Latin ones, as used to slip a keyword past a filter: "SТОP" (Cyrillic Т, О),
 * "sтop" (Cyrillic т, a small-capital T), "ꜱᴛᴏᴘ" (Latin small capitals), "ꮪᴛᴏᴘ" (Cherokee), "🇸🇹🇴🇵"
 * (regional indicators). NFKC already folds the compatibility forms (full width, circled, mathematical,
 * superscript letters); these have no compatibility mapping. Taken from Unicode's confusables data
 * (UTS #39, confusables.txt), limited to letters that pass for a Latin letter in running text.
 */
const TO_LATIN: readonly (readonly [from: string, to: string])[] = [
  // Cyrillic capitals (their lower case is added below: а, е, о, р, с, х, у, ѕ, і, ј and small capitals)
  ['А', 'A'],
  ['В', 'B'],
  ['Е', 'E'],
  ['К', 'K'],
  ['М', 'M'],
  ['Н', 'H'],
  ['О', 'O'],
  ['Р', 'P'],
  ['С', 'C'],
  ['Т', 'T'],
  ['Х', 'X'],
  ['У', 'Y'],
  ['Ү', 'Y'],
  ['Ѕ', 'S'],
  ['І', 'I'],
  ['Ӏ', 'l'],
  ['Ј', 'J'],
  ['Ԛ', 'Q'],
  ['Ԝ', 'W'],
  ['Ԁ', 'D'],
  ['Һ', 'H'],
  ['ӏ', 'l'],
  // Greek: the capitals, and the lower-case letters that pass for Latin lower case
  ['Α', 'A'],
  ['Β', 'B'],
  ['Ε', 'E'],
  ['Ζ', 'Z'],
  ['Η', 'H'],
  ['Ι', 'I'],
  ['Κ', 'K'],
  ['Μ', 'M'],
  ['Ν', 'N'],
  ['Ο', 'O'],
  ['Ρ', 'P'],
  ['Τ', 'T'],
  ['Υ', 'Y'],
  ['Χ', 'X'],
  ['Ϲ', 'C'],
  ['α', 'a'],
  ['ι', 'i'],
  ['κ', 'k'],
  ['ο', 'o'],
  ['ρ', 'p'],
  ['τ', 't'],
  ['υ', 'u'],
  ['ϲ', 'c'],
  ['ϳ', 'j'],
  ['γ', 'y'],
  ['η', 'n'],
  ['ν', 'v'],
  ['ω', 'w'],
  // Armenian
  ['օ', 'o'],
  ['ս', 'u'],
  ['ո', 'n'],
  ['հ', 'h'],
  // Latin small capitals and other letter-like forms with no compatibility mapping
  ['ᴀ', 'a'],
  ['ʙ', 'b'],
  ['ᴄ', 'c'],
  ['ᴅ', 'd'],
  ['ᴇ', 'e'],
  ['ꜰ', 'f'],
  ['ɢ', 'g'],
  ['ʜ', 'h'],
  ['ɪ', 'i'],
  ['ᴊ', 'j'],
  ['ᴋ', 'k'],
  ['ʟ', 'l'],
  ['ᴍ', 'm'],
  ['ɴ', 'n'],
  ['ᴏ', 'o'],
  ['ᴘ', 'p'],
  ['ꞯ', 'q'],
  ['ʀ', 'r'],
  ['ꜱ', 's'],
  ['ᴛ', 't'],
  ['ᴜ', 'u'],
  ['ᴠ', 'v'],
  ['ᴡ', 'w'],
  ['ʏ', 'y'],
  ['ᴢ', 'z'],
  ['ı', 'i'],
  ['ȷ', 'j'],
  ['ɑ', 'a'],
  ['ɡ', 'g'],
  ['ɩ', 'i'],
  ['ʋ', 'v'],
  // Cherokee capitals (their lower case is added below)
  ['Ꭺ', 'A'],
  ['Ᏼ', 'B'],
  ['Ꮯ', 'C'],
  ['Ꭰ', 'D'],
  ['Ꭼ', 'E'],
  ['Ꮐ', 'G'],
  ['Ꮋ', 'H'],
  ['Ꭵ', 'i'],
  ['Ꭻ', 'J'],
  ['Ꮶ', 'K'],
  ['Ꮮ', 'L'],
  ['Ꮇ', 'M'],
  ['Ꮲ', 'P'],
  ['Ꭱ', 'R'],
  ['Ꮪ', 'S'],
  ['Ꭲ', 'T'],
  ['Ꮩ', 'V'],
  ['Ꮃ', 'W'],
  ['Ꮓ', 'Z'],
];

/** Scripts whose lower case looks as their capitals do, only smaller: both cases are look-alikes. */
const BOTH_CASES = /[\u0400-\u052f\u13a0-\u13f5]/u;

/** Each look-alike and the Latin letter it passes for. */
const LOOKALIKES = new Map<string, string>();
for (const [from, to] of TO_LATIN) {
  LOOKALIKES.set(from, to);
  const lower = from.toLowerCase();
  if (BOTH_CASES.test(from) && lower !== from) LOOKALIKES.set(lower, to.toLowerCase());
}

const ANY = new RegExp(`[${[...LOOKALIKES.keys()].join('')}]`, 'u');
const EACH = new RegExp(ANY.source, 'gu');
const WORD = /\p{L}+/gu;
const LATIN = /\p{Script=Latin}/u;
/** Three or more regional indicators: a word spelt in flag letters; a pair is a flag, and stays one. */
const REGIONAL = /[\u{1F1E6}-\u{1F1FF}]{3,}/gu;

/**
 * The text with look-alike letters read as the Latin letters they imitate, word by word: in a word
 * that mixes them with Latin letters ("sтop") or is made of nothing else ("ЅТОР"). A word written in
 * its own script ("Спасибо", "стоп") is a real word of that script, and is left as it is.
 */
export function lookalikesToLatin(text: string): string {
  const spelt = text.replace(REGIONAL, (run) =>
    [...run].map((c) => String.fromCharCode(0x61 + (c.codePointAt(0) ?? 0) - 0x1f1e6)).join(''),
  );
  if (!ANY.test(spelt)) return spelt;
  return spelt.replace(WORD, (word) => {
    if (!ANY.test(word)) return word;
    if (!LATIN.test(word) && word.replace(EACH, '') !== '') return word;
    return word.replace(EACH, (c) => LOOKALIKES.get(c) ?? c);
  });
}
