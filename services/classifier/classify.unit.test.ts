import { classifyReply, createClassifier, normaliseReply } from './index.js';

const intent = (text: string): string => classifyReply(text).intent;

describe('normalisation: what does not change a reply', () => {
  it.each([
    ['ＳＴＯＰ', 'stop'],
    ['S\u200bTOP', 'stop'],
    ['un\u00adsubscribe', 'unsubscribe'],
    ['S\u0422\u041eP', 'stop'],
    ['stoooooop!!!', 'stop'],
    ['ARRÊT', 'arret'],
    ['No  MÁS…', 'no mas'],
    ['S T O P', 'stop'],
    ['s-t-o-p', 'stop'],
    ['st0p', 'st0p'],
    ['$TOP', 'stop'],
    ['🛑', 'stop'],
    ['order 5521 ETA 10', 'order 5521 eta 10'],
  ])('%j → %j', (text, normalised) => {
    expect(normaliseReply(text)).toBe(normalised);
  });
});

describe('the reply classifier', () => {
  it('reads digits as letters to find a keyword, and only then', () => {
    expect(['st0p', '5T0P', '$TOP'].map(intent)).toEqual(['opt_out', 'opt_out', 'opt_out']);
    expect(intent('order A1B2 shipped')).toBe('none');
  });

  it('answers the FCC seven and their polite forms as opt-outs', () => {
    for (const word of ['stop', 'quit', 'end', 'revoke', 'opt out', 'cancel', 'unsubscribe']) {
      expect([
        word,
        intent(word),
        intent(`${word} please`),
        intent(`Please ${word.toUpperCase()}. Thank you!`),
      ]).toEqual([word, 'opt_out', 'opt_out', 'opt_out']);
    }
  });

  it('asks for every brand on STOPALL and on a wrong number', () => {
    expect(classifyReply('STOP ALL')).toMatchObject({ intent: 'opt_out', global: true });
    expect(classifyReply('sorry, wrong number')).toMatchObject({ intent: 'opt_out', global: true });
    expect(classifyReply('STOP')).toMatchObject({ intent: 'opt_out', global: false });
  });

  it('names the rule that matched and the language', () => {
    expect(classifyReply('Stop. Thank you')).toMatchObject({
      matched: 'keyword:stop+filler',
      language: 'en',
    });
    expect(classifyReply('deja de enviarme mensajes')).toMatchObject({
      matched: 'es:deja_de',
      language: 'es',
    });
    expect(classifyReply('ARRÊT')).toMatchObject({ matched: 'keyword:arret', language: 'fr' });
    expect(classifyReply('hello')).toMatchObject({ intent: 'none', matched: null });
  });

  it('tolerates one slip in a keyword, but not a different word', () => {
    expect(['stpo', 'sotp', 'stopp', 'unsubscibe', 'cancle', 'opt ou'].map(intent)).toEqual(
      Array(6).fill('opt_out'),
    );
    expect(['step', 'shop', 'stay'].map(intent)).toEqual(['none', 'none', 'none']);
  });

  it('does not read a keyword used in another sense as an opt-out', () => {
    expect(
      [
        'stop by the store on your way',
        'please cancel my order',
        'the bus stop is on 5th',
        "can't stop laughing",
        'We have got to STOP this bill! Call your senator',
        "Don't unsubscribe me, I love these",
        'Liked “Reply STOP to opt out”',
      ].map(intent),
    ).toEqual(Array(7).fill('none'));
  });

  it('sends what may be a revocation to review rather than guessing', () => {
    expect(['enough', 'too many texts', 'why do you keep texting me', 'not interested'].map(intent)).toEqual(
      Array(4).fill('review'),
    );
    expect(classifyReply('enough')).toMatchObject({ matched: 'review:enough' });
  });

  it("takes a brand's own keywords from configuration", () => {
    const brand = createClassifier({ optOut: ['BASTA YA'], optIn: ['VOLVER'], help: ['SOS'] });
    expect(['basta ya', 'volver', 'sos', 'STOP'].map((t) => brand(t).intent)).toEqual([
      'opt_out',
      'opt_in',
      'help',
      'opt_out',
    ]);
    expect(brand('volver').matched).toBe('keyword:volver');
  });

  it('is deterministic', () => {
    const texts = ['STOP', 'take me off your list', 'enough', 'hello'];
    expect(texts.map((t) => classifyReply(t))).toEqual(texts.map((t) => classifyReply(t)));
  });
});
