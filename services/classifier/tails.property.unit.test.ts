import fc from 'fast-check';
import { classifyReply } from './index.js';
import { withoutTail } from './tails.js';

const suppresses = (text: string): boolean => ['opt_out', 'review'].includes(classifyReply(text).intent);

/** Keywords and requests the classifier answers as opt-outs on their own. */
const optOuts = fc.constantFrom(
  'STOP',
  'stop',
  'Unsubscribe',
  'quit',
  'END',
  'cancel',
  'opt out',
  'Stop please',
  'take me off your list',
  'stop texting me',
  'wrong number',
);
const name = fc.constantFrom('Mike', 'Jane Doe', 'Tom', 'Sarah', 'Robert Chen');
/** What handsets, mail clients and people add after a reply. */
const tails = fc.oneof(
  fc.constantFrom(
    '\n\nSent from my iPhone',
    '\nSent from Yahoo Mail on Android',
    '\n\nGet Outlook for iOS',
    ' http://x.co',
    ' www.example.com/promo',
    ' bit.ly/3xYz',
    '\nEnviado desde mi iPhone',
    '\n-- \nJane Doe\nAcme Corp',
  ),
  name.map((n) => ` - ${n}`),
  name.map((n) => ` this is ${n}`),
  name.map((n) => `\nThanks,\n${n}`),
  name.map((n) => `\nRegards, ${n}`),
);

describe('tails, as properties', () => {
  it('an opt-out with any tail, or any two, is still suppressed', () => {
    fc.assert(
      fc.property(optOuts, fc.array(tails, { minLength: 1, maxLength: 2 }), (reply, added) => {
        expect(suppresses(reply + added.join(''))).toBe(true);
      }),
    );
  });

  it('any text at all is read without throwing, and taking its tail off leaves words or the text itself', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.string({ maxLength: 50 }), (a, b) => {
        const text = `${a}\n${b}`;
        expect(['opt_out', 'opt_in', 'help', 'none', 'review']).toContain(classifyReply(text).intent);
        const body = withoutTail(text);
        expect(body === text || /[\p{L}\p{N}]/u.test(body)).toBe(true);
      }),
    );
  });
});
