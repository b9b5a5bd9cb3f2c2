import { classifyReply, normaliseReply, type Intent } from './classify.js';

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

describe('keywords, however the handset spells them', () => {
  describe('the FCC seven revocation words are opt-outs at the default scope', () => {
    it.each(['stop', 'quit', 'end', 'revoke', 'opt out', 'cancel', 'unsubscribe'])('%j', (word) => {
      expect(classifyReply(word)).toMatchObject({ intent: 'opt_out', global: false });
    });
  });

  describe.each(EXPECTED)('%j → %s (global: %s)', (word, intent, global, rule) => {
    it.each(variants(word))('%j', (text) => {
      expect(classifyReply(text)).toEqual({ intent, confidence: 1, matched: rule, language: 'en', global });
    });
  });

  it('a bidi control inside the word does not hide the keyword', () => {
    expect(classifyReply('ST\u202AOP').intent).toBe('opt_out');
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
      expect(classifyReply(text)).toMatchObject({
        intent: 'opt_out',
        matched: 'keyword:opt_out',
        global: false,
      });
    });

    it.each(['STOP ALL', 'Stop-All', 'stop_all', 'STOPALL!', 'ＳＴＯＰＡＬＬ'])(
      '%j is a global opt-out',
      (text) => {
        expect(classifyReply(text)).toMatchObject({ intent: 'opt_out', global: true });
      },
    );
  });

  it.each(['', '   ', '!!!', '\u200B'])('the empty or wordless %j is none', (text) => {
    expect(classifyReply(text).intent).toBe('none');
  });

  describe('normaliseReply', () => {
    it('folds case and width, drops invisible marks, and turns punctuation runs into one space', () => {
      expect(normaliseReply('  ＯＰＴ--Ｏｕｔ!! ')).toBe('opt out');
      expect(normaliseReply('S\u200BT\u00ADO\u2060P')).toBe('stop');
      expect(normaliseReply('Stop, all.')).toBe('stop all');
    });

    it('keeps digits and letters of other scripts, without their accents', () => {
      expect(normaliseReply('Arrêt 2')).toBe('arret 2');
      expect(normaliseReply('ＡＢＣ１２３')).toBe('abc123');
    });
  });
});
