import { canonicalise } from './classify.js';
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

describe('canonical words: how a reply is read', () => {
  const read = (text: string): string => canonicalise(normaliseReply(text).split(' ')).join(' ');

  it('spells out texting shorthand and joins contractions', () => {
    expect(read('plz remve me from ur list')).toBe('please remove me from your list');
    expect(read('pls dont txt me, u r spamming')).toBe('please dont text me you are spamming');
    expect(read("I don't want these msgs")).toBe('i dont want these messages');
    expect(read("you're not who I'm after")).toBe('youre not who im after');
  });

  it('corrects a slip in a word that matters, and leaves real words alone', () => {
    expect(read('unsubcribe me, wrng numbr')).toBe('unsubscribe me wrong number');
    expect(read('remote lease testing textos quiet')).toBe('remote lease testing textos quiet');
  });
});

describe('the reply classifier, beyond keywords', () => {
  it('reads shorthand, slips and no punctuation', () => {
    expect(
      ['plz remve me from ur list', 'stp pls', 'unsubscibe me', 'dnt txt me', 'stop textinggg', 'rmv'].map(
        intent,
      ),
    ).toEqual(Array(6).fill('opt_out'));
  });

  it('hears a request made for someone else, or said at length', () => {
    expect(
      [
        'please take her off whatever list this is',
        "my husband doesn't want these texts",
        "This is my dad's phone, he does not want to receive these messages",
        'Could you please not text me anymore? Thank you',
        'I never gave you permission to text me',
        'for the last time STOP',
      ].map(intent),
    ).toEqual(Array(6).fill('opt_out'));
  });

  it('asks for every brand when the number is not the person texted', () => {
    for (const text of ["I'm not Steve", 'this number no longer belongs to Tom', "I don't know who Kevin is"])
      expect(classifyReply(text)).toMatchObject({ intent: 'opt_out', global: true });
  });

  it('does not read a keyword aimed at something else as an opt-out', () => {
    expect(
      [
        'How do I stop the water heater from leaking?',
        'Opt out of the extended warranty',
        'my wife said to stop by and pick up the order',
        'need to cancel my appt for friday',
        'remove me from the 3pm class, I will come at 5',
        'I want to unsubscribe from the email newsletter but keep the texts',
        'Not interested in the red one, do you have it in black?',
        'sorry wrong number, meant to text my brother',
      ].map(intent),
    ).toEqual(Array(8).fill('none'));
  });

  it('still hears the opt-out beside a keyword used otherwise', () => {
    expect(intent('cancel my order and stop texting me')).toBe('opt_out');
  });

  it('answers opt-in and help said in plain words', () => {
    expect(
      ['can you start sending texts again?', 'add me to the list', 'I want back in'].map(intent),
    ).toEqual(['opt_in', 'opt_in', 'opt_in']);
    expect(
      ['what is this?', 'how much does this cost me', 'who r u', 'what does reply STOP do?'].map(intent),
    ).toEqual(Array(4).fill('help'));
  });
});

describe('normalisation fast paths', () => {
  /** The Unicode passes, written out as the slow path runs them. */
  const reference = (text: string): string =>
    text
      .normalize('NFKC')
      .replace(/\p{Cf}/gu, '')
      .replace(/#/g, ' number ')
      .replace(/\$/g, 's')
      .toLowerCase()
      .normalize('NFD')
      .replace(/\p{M}/gu, '')
      .replace(/[^\p{L}\p{N}]+/gu, ' ')
      .replace(/(\p{L})\1{2,}/gu, '$1')
      .trim();

  it('reads every character up to U+00FF as the Unicode passes do', () => {
    for (let c = 0; c <= 0xff; c++) {
      const ch = String.fromCharCode(c);
      for (const text of [`x${ch}y`, `stop${ch}${ch}${ch}now`, `Ñ${ch} É`]) {
        expect([c, normaliseReply(text)]).toEqual([c, reference(text)]);
      }
    }
  });

  it('reads Spanish, French and Portuguese replies as before', () => {
    expect(['Sí, gracias', 'Arrêtez SVP!!', 'não quero', '¿Quién es?'].map(normaliseReply)).toEqual([
      'si gracias',
      'arretez svp',
      'nao quero',
      'quien es',
    ]);
  });
});
