import { classifyReply } from './index.js';
import { withoutTail } from './tails.js';

const intent = (text: string): string => classifyReply(text).intent;
/** What a person must at least see: review suppresses at once, as an opt-out does. */
const suppressed = (text: string): boolean => ['opt_out', 'review'].includes(intent(text));

describe('issue 10, item 6: a keyword with a signature or a tail is still heard', () => {
  it.each([
    ['Stop\n\nSent from my iPhone', 'opt_out'],
    ['quit\n\nSent from Yahoo Mail', 'opt_out'],
    ['STOP http://x.co', 'opt_out'],
    ['sтop', 'opt_out'],
    ['ꜱᴛᴏᴘ', 'opt_out'],
    ['stop this is Mike', 'opt_out'],
  ])('%j → %s', (text, expected) => {
    expect(intent(text)).toBe(expected);
  });

  it('"Please STOP I have asked 5 times" is at least review', () => {
    expect(suppressed('Please STOP I have asked 5 times')).toBe(true);
  });
});

describe('tails: what a handset, a mail client or a sign-off adds is not what the person said', () => {
  it.each([
    ['Stop\n\nSent from my iPhone', 'Stop'],
    ['cancel\nSent from Yahoo Mail on Android', 'cancel'],
    ['unsubscribe\n\nGet Outlook for iOS', 'unsubscribe'],
    ['Stop Sent from my Galaxy', 'Stop'],
    ['ARRÊT\nEnvoyé de mon iPhone', 'ARRÊT'],
    ['baja\nEnviado desde mi iPhone', 'baja'],
    ['pare\nEnviado do meu iPhone', 'pare'],
    ['STOP http://x.co', 'STOP'],
    ['stop www.example.com/promo', 'stop'],
    ['end bit.ly/3xYz', 'end'],
    ['unsubscribe jane.doe@example.com', 'unsubscribe'],
    ['stop\n-- \nJane Doe\nAcme Corp', 'stop'],
    ['stop this is Mike', 'stop'],
    ['Stop please - Mike', 'Stop please'],
    ['stop texting me. Thanks, Sarah', 'stop texting me. Thanks,'],
    ['quit\nRegards,\nTom Baker', 'quit'],
  ])('%j → %j', (text, body) => {
    expect(withoutTail(text)).toBe(body);
  });

  it('takes a long device signature off, up to the end of its line', () => {
    expect(withoutTail('STOP\nSent from my Verizon Wireless 4G LTE smartphone')).toBe('STOP');
  });

  it('reads a reply of any length in linear time: links and addresses are found word by word', () => {
    // The first patterns backtracked: 100,000 letters and an "@" took the event loop for ~50 s.
    for (const text of [
      'a'.repeat(100_000) + ' @',
      'a.'.repeat(50_000) + ' /',
      'ab.'.repeat(33_000) + 'x /',
    ]) {
      const started = performance.now();
      expect(withoutTail(text)).toBe(text);
      expect(classifyReply(text).intent).toBe('none');
      expect(performance.now() - started).toBeLessThan(5_000);
    }
  });

  it('leaves a reply with no tail as it is', () => {
    for (const text of ['STOP', 'stop by the store', 'Who is this?', 'I sent it from my office', 'stop it'])
      expect(withoutTail(text)).toBe(text);
  });

  it('never takes the words of the request for a tail', () => {
    // A sign-off needs a capitalised name; "sent from" needs the signature to end the line.
    expect(withoutTail('Sent from my iPhone, please stop')).toBe('Sent from my iPhone, please stop');
    expect(intent('Sent from my iPhone, please stop')).toBe('opt_out');
    expect(intent('stop texting Mike')).toBe('opt_out');
  });

  it('keeps the traps traps with a tail on them', () => {
    expect(
      [
        'stop by the store\n\nSent from my iPhone',
        'end of the day works - Mike',
        'cancel my appointment http://x.co/a',
        'Can you stop by at 5? Thanks, Jen',
        'I will be there\nSent from my iPad',
      ].map(intent),
    ).toEqual(Array(5).fill('none'));
  });

  it('never lets a tail hide what the whole reply says', () => {
    // The reply is read with and without its tail; the tail can only add an opt-out, never remove one.
    expect(intent('never text me again\nSent from my iPhone')).toBe('opt_out');
    expect(intent('take me off your list - Mike')).toBe('opt_out');
  });
});

describe('line breaks: a keyword on its own line is a sentence of its own', () => {
  it.each([
    ['Stop\nwho is this', 'opt_out'],
    ['STOP\r\nI never signed up for this stuff', 'opt_out'],
    ['Unsubscribe\nthanks for nothing', 'opt_out'],
    ['Hi\nSTOP\nsee you', 'opt_out'],
    ['got your message\nstop\nbye', 'opt_out'],
    ['got your message. STOP. bye', 'opt_out'],
  ])('%j → %s', (text, expected) => {
    expect(intent(text)).toBe(expected);
  });

  it('a word of another sense on its own line is not a keyword', () => {
    expect(['bus\nstop at 5th', 'See you at the end\nof the day'].map(intent)).toEqual(['none', 'none']);
  });
});

describe('a must-honour keyword opening the reply, with a tail the rules do not read', () => {
  it.each([
    'stop this is Mike',
    'Please STOP I have asked 5 times',
    'stop this is mike',
    'quit it with the specials already',
    'cancel 2 yrs now',
    'END - this is harassment level',
    'unsubscribe whatever this is',
    'revoke my whatever',
    'opt out pls and thx bro',
    'stop 555 201 3344',
  ])('%j is suppressed at least pending review', (text) => {
    expect(suppressed(text)).toBe(true);
  });

  it('keeps the traps that open with a keyword used in another sense', () => {
    expect(
      [
        'stop by the store',
        'end of the day works',
        'cancel my appointment',
        'stop by later lol',
        'Stop! That is the best deal ever lol',
        'quit my job today',
        'end up at the mall probably',
      ].map(intent),
    ).toEqual(Array(7).fill('none'));
  });

  it('does not send to review a keyword that names something or is one verb of several', () => {
    expect(
      [
        'Cancel culture is wild',
        'End credits were the best part',
        'stop, look and listen',
        'stop drop and roll',
      ].map(intent),
    ).toEqual(Array(4).fill('none'));
    // A possessive is no verb, and a pronoun no subject: these stay with a person.
    expect(["STOP - this is Jessica's phone", 'Stop, this is a business line'].map(intent)).toEqual([
      'review',
      'review',
    ]);
  });
});
