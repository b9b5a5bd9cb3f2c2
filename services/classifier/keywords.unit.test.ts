import { classifyKeyword, normalise, type Intent } from './keywords.js';

/** Ways the same word arrives from a handset: case, width, punctuation, stray spacing, invisible marks. */
function variants(word: string): string[] {
  const upper = word.toUpperCase();
  const title = word.charAt(0).toUpperCase() + word.slice(1);
  const fullWidth = [...upper]
    .map((c) => (c === ' ' ? '\u3000' : String.fromCharCode(c.charCodeAt(0) + 0xfee0)))
    .join('');
  return [
    word,
    upper,
    title,
    `${upper}.`,
    `${word}!`,
    `"${title}"`,
    `  ${word}  `,
    `\n${upper}\n`,
    `${upper}!!!`,
    `...${word}?`,
    fullWidth,
    `\u200B${upper}\uFEFF`,
    `${word.slice(0, 1)}\u200B${word.slice(1)}`,
    `\u00AD${word}\u2060`,
  ];
}

const EXPECTED: readonly [word: string, intent: Intent, global: boolean, rule: string][] = [
  ['stop', 'opt_out', false, 'keyword:stop'],
  ['quit', 'opt_out', false, 'keyword:quit'],
  ['end', 'opt_out', false, 'keyword:end'],
  ['revoke', 'opt_out', false, 'keyword:revoke'],
  ['opt out', 'opt_out', false, 'keyword:opt_out'],
  ['cancel', 'opt_out', false, 'keyword:cancel'],
  ['unsubscribe', 'opt_out', false, 'keyword:unsubscribe'],
  ['optout', 'opt_out', false, 'keyword:optout'],
  ['stopall', 'opt_out', true, 'keyword:stopall'],
  ['stop all', 'opt_out', true, 'keyword:stop_all'],
  ['start', 'opt_in', false, 'keyword:start'],
  ['unstop', 'opt_in', false, 'keyword:unstop'],
  ['yes', 'opt_in', false, 'keyword:yes'],
  ['help', 'help', false, 'keyword:help'],
  ['info', 'help', false, 'keyword:info'],
];

describe('exact-keyword classification', () => {
  describe('the FCC seven revocation words are opt-outs at the default scope', () => {
    it.each(['stop', 'quit', 'end', 'revoke', 'opt out', 'cancel', 'unsubscribe'])('%j', (word) => {
      expect(classifyKeyword(word)).toMatchObject({ intent: 'opt_out', global: false });
    });
  });

  describe.each(EXPECTED)('%j → %s (global: %s)', (word, intent, global, rule) => {
    it.each(variants(word))('%j', (text) => {
      expect(classifyKeyword(text)).toEqual({ intent, confidence: 1, matched: rule, language: 'en', global });
    });
  });

  // phone.ts strips bidi controls (U+202A–U+202E) but this normaliser does not, so inside a word they split
  // it and the keyword is missed. Marked failing until the two agree.
  it('a bidi control inside the word does not hide the keyword', () => {
    expect(classifyKeyword('ST\u202AOP').intent).toBe('opt_out');
  });

  describe('spellings of opt out', () => {
    it.each([
      'opt-out',
      'OPT-OUT',
      'Opt_Out',
      'opt   out',
      'opt\tout',
      'opt.out',
      'opt – out',
      'opt\u3000out',
    ])('%j is an opt-out', (text) => {
      expect(classifyKeyword(text)).toMatchObject({
        intent: 'opt_out',
        matched: 'keyword:opt_out',
        global: false,
      });
    });

    it.each(['STOP ALL', 'Stop-All', 'stop_all', 'STOPALL!', 'ＳＴＯＰＡＬＬ'])(
      '%j is a global opt-out',
      (text) => {
        expect(classifyKeyword(text)).toMatchObject({ intent: 'opt_out', global: true });
      },
    );
  });

  describe('the current classifier matches whole messages only, so sentences are "none"', () => {
    it.each([
      'stop by the store',
      'STOP PLEASE',
      'please stop',
      'stop texting me',
      'I want to unsubscribe',
      'end of the day',
      'yes please',
      'help me',
      'stopp',
      'sto p',
      'unsubscribed',
      'starting',
      's.t.o.p',
    ])('%j is none (exact-match behaviour; language understanding comes later)', (text) => {
      expect(classifyKeyword(text)).toEqual({
        intent: 'none',
        confidence: 1,
        matched: null,
        language: 'en',
        global: false,
      });
    });

    it.each(['', '   ', '!!!', '\u200B', '🛑'])('the empty or wordless %j is none', (text) => {
      expect(classifyKeyword(text).intent).toBe('none');
    });

    it('never answers review today', () => {
      for (const text of ['stop?', 'maybe stop', 'wrong number', 'who is this']) {
        expect(classifyKeyword(text).intent).not.toBe('review');
      }
    });
  });

  describe('normalise', () => {
    it('folds case and width, drops invisible marks, and turns punctuation runs into one space', () => {
      expect(normalise('  ＯＰＴ--Ｏｕｔ!! ')).toBe('opt out');
      expect(normalise('S\u200BT\u00ADO\u2060P')).toBe('stop');
      expect(normalise('Stop, all.')).toBe('stop all');
    });

    it('keeps letters of other scripts and digits', () => {
      expect(normalise('Arrêt 2')).toBe('arrêt 2');
      expect(normalise('ＡＢＣ１２３')).toBe('abc123');
    });
  });
});
