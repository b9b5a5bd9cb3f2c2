import { classifyReply, normaliseReply } from './index.js';

const intent = (text: string): string => classifyReply(text).intent;

describe('confusables: letters of other scripts and letter-like forms read as the Latin they imitate', () => {
  it.each([
    ['sтop', 'stop'],
    ['ꜱᴛᴏᴘ', 'stop'],
    ['ᴜɴꜱᴜʙꜱᴄʀɪʙᴇ', 'unsubscribe'],
    ['ѕтор', 'stop'],
    ['ЅΤОР', 'stop'],
    ['ԛυιт', 'quit'],
    ['🇸🇹🇴🇵', 'stop'],
    ['ⓢⓣⓞⓟ', 'stop'],
    ['ꮪᴛᴏᴘ', 'stop'],
    ['ɢᴇᴛ ᴍᴇ ᴏꜰꜰ ʏᴏᴜʀ ʟɪꜱᴛ', 'get me off your list'],
  ])('%j → %j', (text, normalised) => {
    expect(normaliseReply(text)).toBe(normalised);
  });

  it('hears the keyword under the disguise', () => {
    expect(['sтop', 'ꜱᴛᴏᴘ', 'ᴜɴꜱᴜʙꜱᴄʀɪʙᴇ', 'ѕтор', '🇸🇹🇴🇵', 'ϲancel'].map(intent)).toEqual(
      Array(6).fill('opt_out'),
    );
  });

  it('leaves words of other scripts that imitate nothing as they are', () => {
    expect(normaliseReply('Спасибо, стоп')).toBe('спасибо стоп');
    expect(normaliseReply('Ευχαριστώ')).toBe('ευχαριστω');
    expect(intent('ありがとう')).toBe('none');
  });
});
