import { canonicalise, normaliseReply } from './classify.js';
import {
  ABOUT_KEYWORDS,
  FRAGMENTS,
  LEXICONS,
  NOT_A_REQUEST,
  OTHER_SENSES,
  REVIEW_PHRASES,
} from './lexicon.js';
import { leadingWords, patternLists, withFragments } from './patterns.js';

describe('the words a pattern begins with', () => {
  const words = (source: string): string[] | undefined =>
    leadingWords(source)?.map((s) => `${s.atStart ? '^' : ''}${s.word}${s.whole ? '' : '*'}`);

  it('takes the first word of every branch, whole when a word break follows', () => {
    expect(words(String.raw`\bno more\b|\b(take|get)\w* me off`)).toEqual(['no', 'take*', 'get*']);
    expect(words(String.raw`^(please |ok )?(you can|go ahead)`)).toEqual(['^please', '^ok', '^you', '^go']);
    expect(words(String.raw`\btexts? (me|us)`)).toEqual(['text*']);
    expect(words(String.raw`\bdesabonn`)).toEqual(['desabonn*']);
    expect(words(String.raw`(?<!you )\bmeant to`)).toEqual(['meant']);
  });

  it('gives up, so the pattern is always tested, when a branch could begin with anything', () => {
    expect(words(String.raw`\bstop|\w+ing`)).toBeUndefined();
    expect(words(String.raw`stop\b`)).toBeUndefined();
    expect(words(String.raw`(?:x|\w)y`)).toBeUndefined();
  });
});

describe('pattern lists', () => {
  const expand = (pattern: string): string => withFragments(pattern, FRAGMENTS);
  const lists = {
    phrases: LEXICONS.flatMap((lexicon) => lexicon.phrases.map(([, pattern]) => expand(pattern))),
    otherSenses: OTHER_SENSES.map(expand),
    review: REVIEW_PHRASES.map(([, pattern]) => expand(pattern)),
    notARequest: NOT_A_REQUEST.map(expand),
    aboutKeywords: ABOUT_KEYWORDS.map(expand),
  };
  /** Replies that reach every kind of pattern: opt-outs, traps, help, opt-ins, four languages. */
  const texts = [
    'plz remve me from ur list',
    'take me off your list',
    'please take her off whatever list this is',
    "my husband doesn't want these texts",
    'I never gave you permission to text me',
    "I've already unsubscribed twice",
    'how do i make these stop',
    'is there a way to stop these texts?',
    'How do I stop the water heater from leaking?',
    'Opt out of the extended warranty',
    'my wife said to stop by and pick up the order',
    'cancel my order and stop texting me',
    'remove me from the 3pm class',
    'I want to unsubscribe from the email newsletter but keep the texts',
    'Not interested in the red one',
    'no more promos',
    'no need to text me anymore',
    'this number no longer belongs to Tom',
    'you have the wrong number, I am not Steve',
    'whoever you are looking for is not me',
    'can you start sending texts again?',
    'add me to the list',
    'I want back in',
    'yes start',
    'what is this?',
    'how much does this cost me',
    'who r u',
    'what does reply STOP do?',
    'If I text stop will I still get my order updates?',
    'why do u keep txting me',
    'who gave you my number',
    'Ok that is enough',
    'nah im good',
    'Pause my texts',
    'this is a scam',
    'Liked "Reply STOP to opt out"',
    "Don't unsubscribe me, I love these",
    'sorry wrong number, meant to text my brother',
    'the bus stop is on 5th',
    'I quit my job today',
    'see you at the end of the week',
    'ya no quiero estos mensajes',
    'dejen de mandarme mensajes',
    'Este no es el número de Juan',
    'quiero recibir mensajes otra vez',
    '¿qué es esto?',
    'cancelar mi cita del jueves',
    "arrêtez de m'envoyer des sms",
    'je veux plus recevoir vos sms',
    "Ce n'est pas le numéro de Pierre",
    "c'est qui ?",
    'annuler ma commande svp',
    'para de me mandar mensagem pfv',
    'me tira dessa lista',
    'esse número não é do João',
    'quero receber mensagens de novo',
    'o que é isso?',
    'o ônibus para aqui?',
    'Thanks, see you Tuesday!',
    'Can I pick it up today?',
  ];

  it('index every pattern of the lexicon by the words it begins with', () => {
    const always = Object.values(lists)
      .flat()
      .filter((source) => leadingWords(source) === undefined);
    expect(always).toEqual([]);
  });

  it.each(Object.keys(lists) as (keyof typeof lists)[])(
    '%s answer as testing every pattern in turn would',
    (name) => {
      const indexed = patternLists(lists);
      const regexes = lists[name].map((source) => new RegExp(source));
      for (const text of texts) {
        const words = canonicalise(normaliseReply(text).split(' '));
        const canonical = words.join(' ');
        indexed.read(words);
        expect([text, indexed.first(name, canonical)]).toEqual([
          text,
          regexes.findIndex((regex) => regex.test(canonical)),
        ]);
      }
    },
  );

  it('replace every match of every pattern', () => {
    const senses = patternLists({ senses: [String.raw`\bstop by\b`, String.raw`\bcancel my order\b`] });
    const words = ['stop', 'by', 'and', 'cancel', 'my', 'order', 'then', 'stop', 'by'];
    senses.read(words);
    expect(senses.replaceAll('senses', words.join(' '), '_')).toBe('_ and _ then _');
  });
});
