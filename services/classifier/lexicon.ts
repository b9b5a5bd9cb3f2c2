import type { Intent } from './classify.js';

/**
 * What replies mean, as data: keyword tables and phrase patterns per language, written against the
 * normalised text (lower case, no accents, words separated by one space). A brand extends it through
 * configuration; nothing here is code.
 */
export interface Lexicon {
  readonly language: string;
  readonly optOut: readonly string[];
  /** Opt-outs that ask for every brand and program (STOPALL, "wrong number"). */
  readonly optOutGlobal: readonly string[];
  readonly optIn: readonly string[];
  readonly help: readonly string[];
  /** Plain-language requests: [rule name, pattern over the normalised text, intent, global?]. */
  readonly phrases: readonly (readonly [string, string, Exclude<Intent, 'none' | 'review'>, boolean?])[];
}

export const ENGLISH: Lexicon = {
  language: 'en',
  // The FCC's seven (47 CFR 64.1200(a)(10)), CTIA's and the vendors' words.
  optOut: [
    'stop',
    'quit',
    'end',
    'revoke',
    'opt out',
    'optout',
    'cancel',
    'unsubscribe',
    'unsub',
    'remove',
    'stop it',
    'no more',
  ],
  optOutGlobal: ['stopall', 'stop all', 'unsubscribe all', 'wrong number', 'wrong #'],
  optIn: ['start', 'unstop', 'yes', 'y', 'subscribe', 'join', 'resume', 'resubscribe', 'opt in', 'optin'],
  help: ['help', 'info', 'information'],
  phrases: [
    [
      'plain:take_me_off',
      '\\b(take|remove|delete|drop|get|scratch)( me| my (phone )?number| this (phone )?number| us)( off| from)?( of)?( your| the| this)?( mailing| texting| contact| sms| text)? (list|lists)\\b',
      'opt_out',
    ],
    [
      'plain:remove_number',
      '\\b(remove|delete|erase|drop)( me| my (phone )?(number|#)| this (phone )?(number|#))\\b',
      'opt_out',
    ],
    [
      'plain:dont_text',
      '\\b(don ?t|do not|dont|never|pls dont|please dont|please do not) (ever )?(text|txt|message|msg|sms|contact|send)( me| this number| us)?\\b',
      'opt_out',
    ],
    ['plain:no_more', '\\bno more (texts?|txts?|messages?|msgs?|sms|texting|messaging|spam)\\b', 'opt_out'],
    [
      'plain:stop_texting',
      '\\bstop (texting|txting|sending|messaging|contacting|spamming|msging|calling)\\b',
      'opt_out',
    ],
    [
      'plain:revoke_consent',
      '\\b(revoke|withdraw|withdrawing|revoking)( my| all)? (consent|permission)\\b',
      'opt_out',
    ],
    [
      'plain:no_longer_want',
      '\\b(no longer|dont|do not|don t) (want|wish|need) (to (receive|get) )?(these|your|this|any|the)? ?(texts?|messages?|msgs?|sms|alerts?|notifications?)?\\b',
      'opt_out',
    ],
    ['plain:unsubscribe_me', '\\b(unsubscribe|unsub) me\\b|\\bopt me out\\b', 'opt_out'],
    ['plain:opt_out_of', '\\bopt(ing)? out\\b', 'opt_out'],
    ['plain:leave_me_alone', '\\bleave me alone\\b', 'opt_out'],
    ['plain:never_signed_up', '\\b(never|didn ?t|did not) (signed|sign) up\\b', 'opt_out'],
    ['plain:how_to_stop', '\\bhow (do|can) i (stop|unsubscribe|opt out|get off)\\b', 'opt_out'],
    ['plain:wrong_number', '\\b(wrong|incorrect) (number|person|#|phone)\\b', 'opt_out', true],
    [
      'plain:not_me',
      '\\b(this is not|this isn ?t|not) (the right|the correct) (number|person)\\b',
      'opt_out',
      true,
    ],
    [
      'plain:stop_these',
      '\\bstop (these|this|the|your|all) (texts?|messages?|msgs?|alerts?|spam)\\b',
      'opt_out',
    ],
    [
      'plain:resubscribe',
      '\\b(resubscribe|re subscribe|sign me (back )?up|start (again|sending again)|subscribe me)\\b',
      'opt_in',
    ],
    ['plain:stop_getting', '\\bstop (getting|receiving)\\b', 'opt_out'],
    [
      'plain:said_stop',
      '\\b(want|wanted|asked|told|said|say|saying|telling|tell)( you| u)?( to)? stop\\b',
      'opt_out',
    ],
    ['plain:lose_number', '\\b(lose|forget|take|scrub|erase) (my|this) (number|#)\\b', 'opt_out'],
    [
      'plain:done_with',
      '\\b(done|finished) with (these|your|the|this|all) (texts?|messages?|msgs?|alerts?)\\b',
      'opt_out',
    ],
    ['plain:want_out', '^(i )?want out$', 'opt_out'],
    ['plain:no_consent', '\\b(do not|don t|dont|no longer|never) (consent|agree)\\b', 'opt_out'],
    ['plain:no_more_kind', '\\bno more \\w+ (texts?|messages?|msgs?|sms|alerts?)\\b', 'opt_out'],
    [
      'plain:not_their_phone',
      '\\b(isn t|is not|not|no longer) \\w+ s (phone|number|cell)( anymore)?\\b',
      'opt_out',
      true,
    ],
    [
      'plain:not_the_person',
      '\\bnot the (person|one) (you re|youre|you are) (looking for|texting|trying)\\b',
      'opt_out',
      true,
    ],
    ['plain:opt_back_in', '\\bopt (me )?(back )?in\\b', 'opt_in'],
    [
      'plain:texts_again',
      '\\b(want|like|wish) to (get|receive) (texts?|messages?|msgs?|alerts?) again\\b',
      'opt_in',
    ],
    ['plain:rejoin', '\\b(rejoin|re join|add me back|put me back|sign me back)\\b', 'opt_in'],
    ['plain:yes_start', '^(yes|y|yeah|yep) (start|subscribe|join|resume)( again)?$', 'opt_in'],
    ['plain:help', '\\b(what is this (program|service|list)|i need help|need help)\\b', 'help'],
    [
      'plain:what_texts',
      '\\bwhat (are|is) (these|this) (texts?|messages?|msgs?|number)\\b|\\bwhat s this number for\\b|\\bwhat (company|program|service) is this\\b|^what program is this$',
      'help',
    ],
    [
      'plain:support',
      '\\b(contact|reach|call) (support|customer service|someone)\\b|\\bhow often (will|do) you (text|message)\\b|\\bare there (any )?(fees|charges)\\b',
      'help',
    ],
    ['plain:who_is_this', '^who (is|s) this$|\\bwhat happens if i (reply|text|send) stop\\b', 'help'],
  ],
};

export const SPANISH: Lexicon = {
  language: 'es',
  optOut: [
    'alto',
    'baja',
    'parar',
    'para',
    'detener',
    'salir',
    'cancelar',
    'no mas',
    'darme de baja',
    'desuscribir',
    'desuscribirme',
  ],
  optOutGlobal: ['numero equivocado'],
  optIn: ['comenzar', 'iniciar', 'alta'],
  help: ['ayuda'],
  phrases: [
    ['es:no_mas', '\\bno mas (mensajes|textos|sms|msjs?)\\b', 'opt_out'],
    ['es:deja_de', '\\b(deja|dejen|dejar|dejad) de (enviar|mandar|escribir)', 'opt_out'],
    ['es:no_envien', '\\bno (me )?(envie|envien|envies|manden|mande|mandes|escriban|escribas)\\b', 'opt_out'],
    ['es:baja', '\\b(dar(me)?|darse|de) (de )?baja\\b', 'opt_out'],
    ['es:no_quiero', '\\bno quiero (recibir|mas)\\b', 'opt_out'],
    ['es:equivocado', '\\bnumero equivocado\\b|\\bequivoc\\w* de numero\\b', 'opt_out', true],
    ['es:borrenme', '\\b(borr|quit|saqu|elimin)\\w* (de )?(su|la|tu|esta) lista\\b', 'opt_out'],
    ['es:alta', '\\b(quiero suscribirme|volver a recibir|dame de alta|darme de alta)\\b', 'opt_in'],
    ['es:que_es', '\\bque (es este|programa)\\b', 'help'],
  ],
};

export const FRENCH: Lexicon = {
  language: 'fr',
  optOut: [
    'arret',
    'arrete',
    'arreter',
    'arretez',
    'desabonner',
    'desinscription',
    'desabonnement',
    'stop svp',
  ],
  optOutGlobal: ['mauvais numero'],
  optIn: ['debut', 'commencer'],
  help: ['aide'],
  phrases: [
    [
      'fr:arretez_de',
      '\\barret(ez|e|er)? (de )?(m ?envoyer|m ?ecrire|les messages|les sms|ces messages)',
      'opt_out',
    ],
    ['fr:desabonner', '\\b(desabonn|desinscri)', 'opt_out'],
    ['fr:ne_plus', '\\bne (m ?envoyez|m ?ecrivez|me contactez) plus\\b', 'opt_out'],
    ['fr:plus_de', '\\bplus de (messages|sms|textos)\\b', 'opt_out'],
    ['fr:mauvais', '\\bmauvais numero\\b|\\btrompe\\w* de numero\\b', 'opt_out', true],
    ['fr:ne_veux_plus', '\\bne veux plus\\b', 'opt_out'],
    ['fr:retirez_moi', '\\b(retirez|supprimez|enlevez|effacez) moi\\b', 'opt_out'],
    ['fr:reabonner', '\\breabonn', 'opt_in'],
    ['fr:quoi', '\\bc est quoi\\b|^infos?( svp)?$', 'help'],
  ],
};

export const PORTUGUESE: Lexicon = {
  language: 'pt',
  optOut: ['parar', 'pare', 'sair', 'cancelar', 'descadastrar'],
  optOutGlobal: ['numero errado'],
  optIn: ['iniciar', 'comecar'],
  help: ['ajuda'],
  phrases: [
    ['pt:pare_de', '\\b(pare|parem|parar) de (me )?(enviar|mandar|escrever)', 'opt_out'],
    ['pt:nao_quero', '\\bnao (quero|desejo) (mais )?(receber|mensagens)', 'opt_out'],
    ['pt:descadastr', '\\bdescadastr', 'opt_out'],
    ['pt:errado', '\\bnumero errado\\b', 'opt_out', true],
    ['pt:nao_mandem', '\\bnao me (mandem|enviem|mande|envie|mandes) mais\\b', 'opt_out'],
    ['pt:lista', '\\b(sair|tire|tirem|remova|removam|retire)( me)? da lista\\b', 'opt_out'],
    ['pt:voltar', '\\b(voltar a receber|inscrever de novo|me inscrever novamente)\\b', 'opt_in'],
    ['pt:que_programa', '\\bque programa\\b', 'help'],
  ],
};

export const LEXICONS: readonly Lexicon[] = [ENGLISH, SPANISH, FRENCH, PORTUGUESE];

/** Words that make a keyword polite, not something else: "stop please", "Stop. Thank you". */
export const FILLER = new Set([
  'please',
  'pls',
  'plz',
  'plse',
  'thanks',
  'thank',
  'you',
  'thx',
  'ty',
  'tks',
  'now',
  'ok',
  'okay',
  'asap',
  'already',
  'immediately',
  'right',
  'away',
  'just',
  'sir',
  'maam',
  'hi',
  'hello',
  'hey',
  'the',
  'por',
  'favor',
  'gracias',
  'merci',
  'svp',
  'sil',
  'vous',
  'plait',
  'obrigado',
  'obrigada',
  'oi',
  'hola',
  'bonjour',
  'me',
  'again',
  'all',
  'texts',
  'messages',
  'texting',
  'msgs',
  'sms',
  'this',
  'these',
  'it',
  'im',
  'done',
  'yo',
]);

/**
 * Keywords used in another sense: a reply containing one of these is not a revocation because of the
 * word alone ("stop by the store", "cancel my order", "bus stop").
 */
export const OTHER_SENSES: readonly string[] = [
  '\\bstop (by|in|at|over|on|for|to|and|sign|light|believing|laughing|watching|thinking|worrying)\\b',
  '\\b(bus|next|last|first|truck|pit|full|one|rest|pit) stop\\b',
  '\\b(can ?t|cannot|couldn ?t|won ?t|wont|cant|dont|don ?t|never) stop\\b',
  '\\bstop (you ?re|youre|ur|u r) \\w+',
  '\\bcancel (my|the|our|an|this|that) (order|appointment|appt|reservation|booking|flight|meeting|card|ride|delivery|payment)\\b',
  '\\b(the|an|this|that|weekend|week|month|year|day|at the) end\\b',
  '\\bend (of|up|date|time)\\b',
  '\\bquit (my|his|her|their|smoking|drinking|it|playing|work|job)\\b',
  '\\bi quit\\b',
  '\\bremove (the|a|an) \\w+ from\\b',
  '\\b(alto|arret) (el|de|du|des|la) \\w+',
  '\\bvou sair\\b',
  '\\bsair (mais|hoje|cedo|agora)\\b',
];

/** Replies that may be a revocation, said as annoyance rather than a request: a person decides. */
export const REVIEW_PHRASES: readonly (readonly [string, string])[] = [
  [
    'review:enough',
    '^(enough|enough already|that s enough|thats enough|ok enough|basta|basta ya|ca suffit|chega|fin)$',
  ],
  ['review:no', '^(no|nope|nah|no thanks|no thank you|no thx|no gracias|non merci|nao obrigado)$'],
  ['review:too_many', '\\btoo many (texts?|messages?|msgs?)\\b'],
  [
    'review:keep_texting',
    '\\bwhy (do|are|does|r) (you|u|they) (keep )?(texting|messaging|sending|txting|contacting)\\b',
  ],
  ['review:who_gave_number', '\\bwho gave (you|u) (my|this) (number|#)\\b'],
  [
    'review:spam',
    '^(spam|this is spam|stop spam|scam|junk)$|\\breport(ed|ing)? (as|this as|it as) (junk|spam)\\b',
  ],
  ['review:not_interested', '\\bnot interested\\b'],
  ['review:go_away', '^go away$'],
  ['review:blocking', '\\bblock(ing|ed)? (this|your|ur) (number|#|phone)\\b'],
  ['review:pause', '\\bpause (the |these |your |all )?(texts?|messages?|msgs?|alerts?)\\b'],
  ['review:didnt_ask', '\\b(didn t|didnt|did not|never) ask(ed)? for (this|these|it|them)\\b'],
];

/** Replies that are not requests at all, whatever words they quote: reactions to our own message. */
export const NOT_A_REQUEST: readonly string[] = [
  '^(liked|loved|laughed at|emphasized|disliked|questioned|reacted \\S+ to) ',
  '\\bbut keep (getting|receiving|sending)\\b',
  '\\b(don t|dont|do not|never|please don t|pls dont) (unsubscribe|stop|remove|cancel)\\b',
];

/** Opt-out words that are hardly ever meant otherwise: a message containing one goes to review. */
export const STRONG_WORDS = new Set([
  'unsubscribe',
  'unsub',
  'optout',
  'revoke',
  'stopall',
  'desabonner',
  'descadastrar',
]);

/** Keywords typo tolerance applies to (a single-word reply at a small edit distance). */
export const TYPO_TARGETS: readonly {
  readonly word: string;
  readonly intent: 'opt_out' | 'opt_in' | 'help';
}[] = [
  { word: 'stop', intent: 'opt_out' },
  { word: 'quit', intent: 'opt_out' },
  { word: 'cancel', intent: 'opt_out' },
  { word: 'revoke', intent: 'opt_out' },
  { word: 'unsubscribe', intent: 'opt_out' },
  { word: 'optout', intent: 'opt_out' },
  { word: 'stopall', intent: 'opt_out' },
  { word: 'remove', intent: 'opt_out' },
  { word: 'start', intent: 'opt_in' },
  { word: 'unstop', intent: 'opt_in' },
  { word: 'help', intent: 'help' },
];
