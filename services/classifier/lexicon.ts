import type { Intent } from './classify.js';

/**
 * What replies mean, as data: keyword tables and phrase patterns per language, written against the
 * canonical text (lower case, no accents, words separated by one space, texting abbreviations spelt out,
 * slips in the words that matter corrected, "don't" written "dont"). `{NAME}` in a pattern stands for
 * the fragment of that name below, so a pattern names a kind of object once instead of listing it again.
 * A brand extends it through configuration; nothing here is code.
 */
export interface Lexicon {
  readonly language: string;
  readonly optOut: readonly string[];
  /** Opt-outs that ask for every brand and program (STOPALL, "wrong number"). */
  readonly optOutGlobal: readonly string[];
  readonly optIn: readonly string[];
  readonly help: readonly string[];
  /** Plain-language requests: [rule name, pattern over the canonical text, intent, global?]. */
  readonly phrases: readonly (readonly [string, string, Exclude<Intent, 'none' | 'review'>, boolean?])[];
}

/** Patterns read as written: `re` keeps `\b` a word boundary without doubling every backslash. */
const re = String.raw;

/**
 * Words for what a reply is about. A revocation is about the messages, the list or the number; "stop the
 * water heater", "cancel my order" and "opt out of the warranty" are about something else.
 */
export const FRAGMENTS: Readonly<Record<string, string>> = {
  MSG: re`(?:texts?|texting|messages?|messaging|sms|alerts?|notifications?|notifs?|reminders?|promos?|promotions?|promotional \w+|marketing|ads|adverts?|advertisements?|offers|deals|coupons|spam|updates|list|lists|calls|subscription(?! (?:box|boxes|to|for|of|plan|service|fee|order)\b))`,
  DET: re`(?:the|these|this|those|that|your|my|our|all|any|all (?:the|these|your|of (?:the|these|your))|of (?:the|these|your|this))`,
  FAMILY: re`(?:mom|mother|mum|mama|dad|father|papa|husband|wife|son|daughter|kid|kids|child|children|grandma|grandmother|grandpa|grandfather|granny|nana|brother|sister|partner|boyfriend|girlfriend|fiance|aunt|uncle|parents?|grandson|granddaughter|niece|nephew|family|client|patient|roommate|tenant|friend)`,
  /** Who or what is to come off the list: "me", "my number", "her", "my mom", "my son's number". */
  WHO: re`(?:me|us|him|her|them|(?:my|this|his|her|their|our) (?:phone |cell |mobile )?(?:number|phone|cell|contact|name|info|information|details)|(?:my )?{FAMILY}(?: s (?:number|phone|cell))?|the previous owner(?: s \w+)?)`,
  CONTACTING: re`(?:texting|sending|messaging|contacting|spamming|bothering|calling|emailing|harassing|pinging|hitting me up|blowing up my phone)`,
  /** Things a reply may ask to stop or cancel that are not messages: orders, appointments, payments. */
  THINGS: re`(?:orders?|appointments?|appt|reservations?|bookings?|flights?|meetings?|deliver(?:y|ies)|payments?|auto ?pay|autopay|auto ?renew(?:al|s)?|renewals?|warranty|insurance|coverage|paperless|paper \w+|billing|bills?|statements?|membership|refills?|prescriptions?|leaks?|leaking|water|heater|card|plan|trial|lease|class|session|lesson|visit|cleaning|haircut|shipment|package|check|transfer|e ?mails?|newsletters?|catalog(?:ue)?s?|mailings?|phone calls|surveys?|auto ?ship)`,
  /**
   * An object that is not the messages: a determiner and a word with no message word close behind it
   * ("the water heater", "my gym membership", "the 3pm class"), or one of the things above.
   */
  OTHER: re`(?:(?:the|my|your|our|this|that|a|an|his|her|their) (?!(?:please|now|right|already|immediately|asap|thanks|thx|crap|shit|nonsense|garbage|junk|stuff|madness|harassment|bullshit|today|again|anymore|forever|and|but|or|so|lol|ok|okay|stop|quit|end|cancel|unsubscribe|unsub|remove|service|program|programme|company|sender|brand|is|was|s|isnt|wasnt)\b)(?!(?:\w+ ){0,3}?(?:{MSG}|number|phone|cell|database|system|records?|contacts?|files?|owner)\b)\w+|(?:the|my|your|our|this|that|a|an) (?:\w+ )?{THINGS}\b(?! {MSG}\b)|{THINGS}\b)`,
};

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
    'discontinue',
    'unenroll',
    'unregister',
    'deregister',
    'cease',
    'cease and desist',
  ],
  optOutGlobal: ['stopall', 'stop all', 'unsubscribe all', 'wrong number', 'wrong #'],
  optIn: ['start', 'unstop', 'yes', 'y', 'subscribe', 'join', 'resume', 'resubscribe', 'opt in', 'optin'],
  help: ['help', 'info', 'information'],
  phrases: [
    [
      'plain:take_me_off',
      re`\b(take|took|get|remove|delete|drop|erase|scratch|pull|cross|strike|wipe|put)\w* {WHO}( off?| from| form| out of| outta)( of)?( {DET}| whatever| every| any| ur)?( \w+){0,2}? (list|lists|database|system|contacts|records|{MSG})\b`,
      'opt_out',
    ],
    [
      'plain:take_me_off_bare',
      re`\b(take|get) {WHO} (off?|out)( now| asap| please| thanks| thank you| already)*$`,
      'opt_out',
    ],
    [
      'plain:remove_number',
      re`\b(remove|delete|erase|drop|unsubscribe|unsub|unenroll|unregister|deregister|deactivate)( me| my (phone )?number| this (phone )?number| {WHO})\b|\b(remove|delete|erase) (it|this|that)( please| thanks| now)*$(?<=\b(?:number|list|texts?|messages?)\b.*)`,
      'opt_out',
    ],
    [
      'plain:be_removed',
      re`\b(be|get|been|being) (removed|taken off|deleted|unsubscribed|opted out|erased|taken out)\b`,
      'opt_out',
    ],
    [
      'plain:dont_text',
      re`\b(dont|do not|never|pls dont|please dont|please do not) (ever )?(again )?(text|message|msg|sms|contact|call|email|bother|spam|harass)\w*( me| this number| us| {WHO})?\b`,
      'opt_out',
    ],
    [
      'plain:dont_send',
      re`\b(dont|do not|never) (ever )?send (me|us|this number|any|anything|more|these|{MSG})\b`,
      'opt_out',
    ],
    [
      'plain:could_you_not',
      re`\b(can|could|would|will) (you|someone) (please |pls |just |kindly )*not (text|message|contact|send|email|call)\b`,
      'opt_out',
    ],
    [
      'plain:do_not_disturb',
      re`\b(do not|dont) disturb\b|\b(not|never|shouldnt|should not) be on ({DET} |any )?(\w+ )?(list|lists)\b|\b(this is|its|thats|that is|stop the|stop) harass(ment|ing)\b`,
      'opt_out',
    ],
    ['plain:no_more', re`\bno more( of)?( {DET})?( \w+){0,2}? ({MSG}|of (this|these|it|them))\b`, 'opt_out'],
    [
      'plain:no_need',
      re`\bno (need|reason) to (keep )?(text|message|contact|send|email|call)\w*( me| us| this number)?\b`,
      'opt_out',
    ],
    ['plain:no_texts', re`^(no|nomore)( \w+)? {MSG}( please| thanks| thank you| now)*$`, 'opt_out'],
    ['plain:stop_texting', re`\b(stop|quit|discontinue|cease|halt) {CONTACTING}\b`, 'opt_out'],
    [
      'plain:revoke_consent',
      re`\b(revoke|withdraw|withdrawing|revoking)( my| all)? (consent|permission)\b`,
      'opt_out',
    ],
    [
      'plain:no_longer_want',
      re`\b(no longer|dont|do not|doesnt|does not|didnt|did not|wont|would not|wouldnt|never) (want|wish|need|like|care for)s?( to (receive|get|be sent|keep getting|keep receiving|have|see|hear))?( any)?( more)?( of)?( {DET}| those| such| them)?( \w+){0,2}? {MSG}\b|\b(prefer|rather|like) not (to )?(get|receive|be sent)( any)?( more)?( {DET})?( \w+){0,2}? {MSG}\b|\b(prefer|rather|like) not (to )?(get|receive|be sent) (these|them|those|any|anything|anymore|it)\b|\b(dont|do not|doesnt|does not|no longer) (want|wish|need) to (receive|get|keep getting|keep receiving) (these|them|those|any|anything|anymore|it)\b`,
      'opt_out',
    ],
    [
      'plain:dont_want_this',
      re`^(i |we )?(really )?(dont|do not) want( it| this| these| them| any| that)?( thanks| thank you| please)*$|\b(dont|do not|doesnt|does not|no longer) (want|need) (this|these|them|it|any of (this|these|it|them))( \w+)?( anymore| any more| no more)?$|\b(dont|do not|doesnt|does not|no longer) (want|need) (this|these|them|it)( \w+)? (anymore|any more|no more)\b`,
      'opt_out',
    ],
    [
      'plain:dont_want_contact',
      re`\b(dont|do not|doesnt|does not|no longer) (want|wish) to (be (contacted|texted|messaged|bothered|subscribed|on (the|your|this) list)|hear from (you|your company|them)|subscribe|join|sign up)|\bwant nothing (more )?(to do )?with\b`,
      'opt_out',
    ],
    ['plain:unsubscribe_me', re`\b(unsubscribe|unsub) me\b|\bopt (me|us|him|her) out\b`, 'opt_out'],
    ['plain:opt_out_of', re`\bopt(ing|ed)? out\b`, 'opt_out'],
    [
      'plain:already_revoked',
      re`\b(i|ive|we|weve|i have|i already|ive already) (already )?(unsubscribed|opted out|replied stop|texted stop|sent stop|said stop|typed stop|asked (you )?to (stop|be removed|unsubscribe))\b|\b(already|previously) (unsubscribed|opted out|replied stop|texted stop|asked to be removed)\b|\bhow many times (do|must|have|did) (i|we)\b`,
      'opt_out',
    ],
    ['plain:leave_me_alone', re`\bleave (me|us|him|her) alone\b`, 'opt_out'],
    [
      'plain:never_signed_up',
      re`\b(never|didnt|did not) (signed|sign|subscribed|subscribe|opted in|opt in|agreed|agree|registered|register|requested|request|consented|authorized|authorised)( up)?( to| for)?\b|\b(never|didnt|did not) (gave|give) (you |u )?(my )?(permission|consent)\b|\b(dont|do not|cant|cannot) (recall|remember) (ever )?(signing up|subscribing|opting in|giving (you )?(my )?(number|permission|consent)|agreeing)\b`,
      'opt_out',
    ],
    [
      'plain:how_to_stop',
      re`\b(how|is there (a|any) way|what do i (reply|text|send|say|type)|what should i (reply|text|send|say|type)|where do i)( do i| can i| to| would i| do you)?( \w+){0,2}? (stop|unsubscribe|unsub|opt out|get off|turn off|turn (these|this|them|it|{DET} \w+|{DET} {MSG}) off|make (these|this|them|it|{DET} \w+) stop)\b`,
      'opt_out',
    ],
    ['plain:wrong_number', re`\b(wrong|incorrect) (number|person|phone|guy|girl|contact)\b`, 'opt_out', true],
    [
      'plain:not_me',
      re`\b(this is not|this isnt|not) (the right|the correct) (number|person)\b|\byou (have|got) (an old|the old|someone else s|somebody else s|the previous owner s) (number|contact)\b|\bprevious owner\b|(?<=\b(?:his|her|their|an|the|someone s|\w+ s) )\b(old|previous|former) number\b|\b(meant|intended) for (someone|somebody|a) (else|different person)\b|\b(recently|just) (assigned|given) (to me|this number)\b|\breassigned\b`,
      'opt_out',
      true,
    ],
    [
      'plain:stop_these',
      re`\b(stop|quit|end|cancel|discontinue|halt|cease|disable|deactivate|terminate|unenroll( me)? from|unenroll|unregister( me)? from|turn off|shut off|mute|unsubscribe from|unsub from|remove me from|remove from|get me off|enough with|done with|finished with|sick of|tired of|fed up with)( it)?( {DET}| every| any)?( \w+){0,2}? {MSG}\b`,
      'opt_out',
    ],
    [
      'plain:turn_off',
      re`\bturn ({DET} )?(\w+ )?{MSG} off\b|\b(knock|cut) it (off|out)\b|\bgive it a rest\b`,
      'opt_out',
    ],
    [
      'plain:resubscribe',
      re`\b(resubscribe|re subscribe|sign me (back )?up|start (again|sending again)|subscribe me)\b`,
      'opt_in',
    ],
    ['plain:stop_getting', re`\bstop (getting|receiving)\b`, 'opt_out'],
    [
      'plain:said_stop',
      re`\b(want|wanted|asked|told|said|say|saying|telling|tell)( you)?( to)? stop\b`,
      'opt_out',
    ],
    ['plain:lose_number', re`\b(lose|forget|take|scrub|erase|delete) (my|this) number\b`, 'opt_out'],
    ['plain:want_out', re`^(i )?want out$`, 'opt_out'],
    [
      'plain:want_off',
      re`\b(want|wants|wanted|like|need|needs)( to (be|get))? (off|out of) ({DET} |whatever |every |any )?(\w+ ){0,2}?(list|lists|{MSG})\b`,
      'opt_out',
    ],
    ['plain:no_consent', re`\b(do not|dont|no longer|never) (consent|agree)\b`, 'opt_out'],
    [
      'plain:not_their_phone',
      re`\b(isnt|is not|not|no longer) \w+ s (phone|number|cell)( anymore)?\b|\b(number|phone|cell) (is not|isnt|is no longer|no longer|not) \w+ s\b|\b(no longer|doesnt|does not) (belong|belongs) to\b|\b(doesnt|does not|dont|do not|no longer) (have|has|use|uses) this (number|phone)\b|\bthere (is|s) no \w+ (at|on|with) this (number|phone)\b|\b(this|it|that) (isnt|is not|is no longer) my (number|phone)\b|\bsomeone else (had|has|used) (it|this number|this phone)\b|\b(nobody|no one|noone) (named|called|by the name) \w+|\b(i|we) (dont|do not) know (a|an|any|anyone named|anybody named|who) \w+( is)?$`,
      'opt_out',
      true,
    ],
    [
      'plain:not_the_person',
      re`\b(not|isnt|is not|arent|am not|im not) (the|who) (\w+ )?(person|one|guy|girl|man|woman|lady|patient|customer)? ?(youre|you are|you think) (looking for|texting|trying|after|thinking of|think)\b|\b(whoever|who|the person|the one|the guy|the lady) (youre|you are) (looking for|trying to (reach|text|contact)|texting|after) (is not|isnt|aint|is no longer) (me|here|at this number)\b`,
      'opt_out',
      true,
    ],
    ['plain:opt_back_in', re`\bopt (me )?(back )?in\b`, 'opt_in'],
    [
      'plain:texts_again',
      re`\b(want|wanna|like|love|wish)( to)? (get|receive|start getting|keep getting|start receiving)( {DET}| your)?( \w+)? {MSG}\b|\b(start|resume|restart|continue|begin) (texting|messaging)( me| us)?\b|\b(start|resume|restart|continue|begin)( sending)?( me)?( {DET})?( \w+)? {MSG}( again| back)?\b|\b(start|resume|restart|begin)( sending)?( me)? again\b|\b(resume|restart|reactivate|turn (back )?on)( {DET})? (\w+ )?{MSG}\b|\bturn ({DET} )?(\w+ )?{MSG} (back )?on\b|^(please |ok |okay |you can )?(text|message) (me|us) again\b|^(please |ok |okay )?(you can|feel free to|go ahead and) (start )?(text|message)(ing)? (me|us)( again)?\b|^(please )?send me ({DET} )?(\w+ )?{MSG} again\b`,
      'opt_in',
    ],
    [
      'plain:rejoin',
      re`\b(rejoin|re join|add me back|put me back|sign me back)\b|\b(add|put|sign|get) (me|my number|this number|us)( back)? (to|on|onto|in|into|up for) ({DET} |the )?(\w+ )?(list|{MSG})\b|\bsign up for ({DET} )?(\w+ )?{MSG}\b|\b(want|wanna|like|wish)( to)? (join|subscribe|resubscribe|sign up|opt in|opt back in)\b|\b(can i|could i|how do i|i want to|id like to|let me|put me) (get |be )?back (on|in)\b|\bwant back in\b|\bcount me in\b`,
      'opt_in',
    ],
    ['plain:yes_start', re`^(yes|y|yeah|yep|yup) (start|subscribe|join|resume)( again)?$`, 'opt_in'],
    [
      'plain:help',
      re`\b(what is this (program|service|list)|i need help|need (some |a little )?help)\b|^(can|could|will|would) (someone|somebody|anyone|you) (please )?help( me)?( please)?$|^help me( please)?$`,
      'help',
    ],
    [
      'plain:what_texts',
      re`\bwhat (are|is) (these|this) (texts?|messages?|number)\b|\bwhat s this number for\b|\bwhat (company|program|service) (is this|are you)\b|^what (program|number|company|service|business|brand|store) is this$|^(what|what s) (is |are )?(this|these|that|it)( all)?( {MSG}| number| program| service| company)?( (about|for|from|regarding))?( please)?$|\bwhat (kind|type) of {MSG}\b|\bhow many {MSG} (will|do|would|does)\b`,
      'help',
    ],
    [
      'plain:who_is_this',
      re`^who (is|s) this$|^who (sent|is sending|sends|texted) (this|these|me this|me)$|\bwhat happens if i (reply|text|send) stop\b|^(who|who s) (is |are )?(this|you|texting me|this from|sending (this|these|me \w+)|is this)( please)?$`,
      'help',
    ],
    [
      'plain:support',
      re`\b(contact|reach|call) (support|customer service|someone)\b|\bhow often (will|do) you (text|message)\b|\bare there (any )?(fees|charges)\b|\bhow (do|can) i (reach|contact|call|get in touch with|talk to|speak to|speak with)\b|\b(can|could|may) i (talk|speak|chat) (to|with)\b|\b(real|actual|live) (person|human|agent)\b|\bhow (do|can) i get help\b|\bhow often (will|do|would) (i|you)\b|\bnumber for (support|customer service|help)\b|\b(change|manage|update|edit) (my )?(\w+ )?(preferences|settings)\b|^what are (the|your) terms|^(terms|terms and conditions|privacy policy)( please)?$|\bis this (a )?(real|legit|legitimate) (company|business)\b|^is this (a )?(spam|scam|legit|real)$`,
      'help',
    ],
    [
      'plain:cost',
      re`\bhow much (does|do|is|will|would) (this|these|it|that|the {MSG}|the service|the program)( \w+)? cost\b|\b(does|do|will) (this|these|it|that|they) cost\b|\bcost (me )?(money|anything)\b|^is (this|it) free$|\b(will|do|would|am) i (be|get) charged\b|\bdo i (have|need) to pay\b|\bis there (a|any) (charge|fee|cost)\b|\b(what are|any) (the )?(fees|charges|costs)\b|\b(message|msg|text|sms|data) (and data )?rates\b|\b(do|will|would) you charge\b|^(is|are) (this|these|it|they) (a )?free( (service|program|to join|to use|messages|texts))?$`,
      'help',
    ],
    [
      'plain:more_info',
      re`^(more|send( me)?( more)?|need|want|can i (get|have))( some| more)? (info|information|details)( please)?$`,
      'help',
    ],
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
    [
      'es:no_mas',
      re`\bno mas (mensajes|textos|sms|msjs?)\b|\bbasta (de|con) (los |tus |sus )?(mensajes|textos|sms)\b`,
      'opt_out',
    ],
    [
      'es:deja_de',
      re`\b(deja|dejen|dejar|dejad|dejes|paren|pare|para|parar) de (enviar|mandar|escribir|contactar)`,
      'opt_out',
    ],
    ['es:no_envien', re`\bno (me )?(envie|envien|envies|manden|mande|mandes|escriban|escribas)\b`, 'opt_out'],
    ['es:baja', re`\b(dar(me)?|darse|de) (de )?baja\b`, 'opt_out'],
    [
      'es:no_quiero',
      re`\bno (quiero|queremos|quiere|deseo|desea) (recibir|mas|(estos|sus|tus|los|ningun) (mensajes|textos|sms))\b`,
      'opt_out',
    ],
    [
      'es:equivocado',
      re`\bnumero equivocado\b|\bequivoc\w* de numero\b|\bno es (el )?(numero|telefono) de\b`,
      'opt_out',
      true,
    ],
    [
      'es:borrenme',
      re`\b(borr|quit|saqu|elimin|baj)\w* (de )?(su|la|tu|esta) lista\b|\b(borr|elimin|quit)\w* (mi|este) (numero|telefono|contacto)\b|\b(borrenme|borrame|quitenme|quitame|sacame|saquenme|eliminenme|eliminame|bajame|bajenme)\b`,
      'opt_out',
    ],
    [
      'es:alta',
      re`\b(quiero suscribirme|volver a recibir|dame de alta|darme de alta)\b|\b(quiero|deseo|me gustaria) (volver a )?(recibir|suscribirme|inscribirme|unirme)\b|\bsuscribirme\b|\b(comenzar|empezar|iniciar|activar) (de nuevo|otra vez)\b`,
      'opt_in',
    ],
    [
      'es:que_es',
      re`\bque (es este|programa)\b|^(quien|quienes) (es|son|eres|habla)( usted| ustedes)?$|^que es (esto|eso)$|\bcuanto cuesta\b|\bnecesito ayuda\b`,
      'help',
    ],
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
      re`\barret(ez|e|er)? (de )?(m ?envoyer|m ?ecrire|me contacter|les messages|les sms|ces messages)`,
      'opt_out',
    ],
    ['fr:desabonner', re`\b(desabonn|desinscri)`, 'opt_out'],
    [
      'fr:ne_plus',
      re`\bne (m ?envoyez|m ?ecrivez|me contactez) plus\b|\bne plus (m ?envoyer|m ?ecrire|me contacter)\b`,
      'opt_out',
    ],
    ['fr:plus_de', re`\bplus de (messages?|sms|textos)\b|\bfini (les )?(messages|sms|textos)\b`, 'opt_out'],
    [
      'fr:mauvais',
      re`\bmauvais (numero|number)\b|\btrompe\w* de numero\b|\b(n )?est pas (le )?(bon )?numero\b`,
      'opt_out',
      true,
    ],
    ['fr:ne_veux_plus', re`\b(ne )?veux plus\b`, 'opt_out'],
    [
      'fr:retirez_moi',
      re`\b(retirez|supprimez|enlevez|effacez|retire|supprime|enleve|efface) (moi|mon numero|mon number)\b`,
      'opt_out',
    ],
    [
      'fr:reabonner',
      re`\breabonn|\b(je veux|je voudrais|j aimerais) (recevoir|m ?abonner|m ?inscrire)\b|\bje m ?inscris\b`,
      'opt_in',
    ],
    [
      'fr:quoi',
      re`\bc est quoi\b|^infos?( svp)?$|^c est qui$|^qui (est ce|etes vous|es tu)$|^qu est ce que c est$|^c est combien$|\bcombien (ca|cela) coute\b|^aide(z)? moi\b`,
      'help',
    ],
  ],
};

export const PORTUGUESE: Lexicon = {
  language: 'pt',
  optOut: ['parar', 'pare', 'sair', 'cancelar', 'descadastrar'],
  optOutGlobal: ['numero errado'],
  optIn: ['iniciar', 'comecar'],
  help: ['ajuda'],
  phrases: [
    ['pt:pare_de', re`\b(pare|parem|parar|para) de (me )?(enviar|mandar|escrever)`, 'opt_out'],
    [
      'pt:nao_quero',
      re`\bnao (quero|desejo) (mais )?(receber|mensagens)|\bnao (quero|desejo) mais\b`,
      'opt_out',
    ],
    ['pt:descadastr', re`\bdescadastr`, 'opt_out'],
    ['pt:errado', re`\bnumero errado\b|\bnumero nao e (do|da|de)\b`, 'opt_out', true],
    ['pt:nao_mandem', re`\bnao me (mandem|enviem|mande|envie|mandes) mais\b`, 'opt_out'],
    [
      'pt:lista',
      re`\b(sair|tire|tirem|tira|remova|removam|retire|retira)( me)? d(a|essa|esta) lista\b`,
      'opt_out',
    ],
    ['pt:chega', re`\bchega de (mensagens?|sms|textos?)\b`, 'opt_out'],
    [
      'pt:voltar',
      re`\b(voltar a receber|inscrever de novo|me inscrever novamente)\b|\bquero (receber|participar|me inscrever|voltar)\b`,
      'opt_in',
    ],
    [
      'pt:que_programa',
      re`\bque programa\b|^quem (e|fala|esta falando|e voce|e vc|sao voces)$|^o que e (isso|isto)$|^quanto custa\b|\bpreciso de ajuda\b`,
      'help',
    ],
  ],
};

export const LEXICONS: readonly Lexicon[] = [ENGLISH, SPANISH, FRENCH, PORTUGUESE];

/**
 * Texting shorthand, spelt out before anything is matched: "plz remve me from ur list" reads as
 * "please remove me from your list". Common misspellings too far from the word for the slip rule are
 * listed here as well.
 */
export const ABBREVIATIONS: Readonly<Record<string, string>> = {
  u: 'you',
  yu: 'you',
  ur: 'your',
  yr: 'your',
  r: 'are',
  pls: 'please',
  plz: 'please',
  plse: 'please',
  plss: 'please',
  pleas: 'please',
  plez: 'please',
  pleez: 'please',
  pleeze: 'please',
  pleae: 'please',
  pleasee: 'please',
  plis: 'please',
  msg: 'message',
  msgs: 'messages',
  mssg: 'message',
  mssgs: 'messages',
  mesage: 'message',
  mesages: 'messages',
  txt: 'text',
  txts: 'texts',
  txting: 'texting',
  txtin: 'texting',
  txtng: 'texting',
  textin: 'texting',
  textn: 'texting',
  texing: 'texting',
  txted: 'texted',
  msging: 'messaging',
  msgin: 'messaging',
  rmv: 'remove',
  rmve: 'remove',
  rm: 'remove',
  dnt: 'dont',
  num: 'number',
  nmbr: 'number',
  numbr: 'number',
  nbr: 'number',
  frm: 'from',
  w: 'with',
  abt: 'about',
  bc: 'because',
  cuz: 'because',
  coz: 'because',
  wanna: 'want to',
  gonna: 'going to',
  lemme: 'let me',
  gimme: 'give me',
  thx: 'thanks',
  thnx: 'thanks',
  tnx: 'thanks',
  thanx: 'thanks',
  thks: 'thanks',
  tks: 'thanks',
  ty: 'thanks',
  tysm: 'thanks',
  k: 'ok',
  kk: 'ok',
  okk: 'ok',
  mo: 'more',
  wat: 'what',
  wut: 'what',
  whats: 'what s',
  whos: 'who s',
  thats: 'that s',
  unscribe: 'unsubscribe',
  unsubcribe: 'unsubscribe',
  unsuscribe: 'unsubscribe',
  unsubscibe: 'unsubscribe',
  unsubsribe: 'unsubscribe',
  unsubscrib: 'unsubscribe',
  stopp: 'stop',
  porfa: 'por favor',
  porfavor: 'por favor',
  xfa: 'por favor',
  pfv: 'por favor',
  pfvr: 'por favor',
  pf: 'por favor',
  msj: 'mensaje',
  msjs: 'mensajes',
  kiero: 'quiero',
  bcp: 'beaucoup',
};

/** A contraction split by the normaliser ("don t") is written as one word ("dont"). */
export const CONTRACTIONS: Readonly<Record<string, ReadonlySet<string>>> = {
  t: new Set([
    'don',
    'doesn',
    'didn',
    'isn',
    'aren',
    'wasn',
    'weren',
    'won',
    'can',
    'couldn',
    'wouldn',
    'shouldn',
    'haven',
    'hasn',
    'hadn',
    'ain',
  ]),
  re: new Set(['you', 'we', 'they']),
  m: new Set(['i']),
  d: new Set(['i', 'you', 'we', 'they', 'he', 'she']),
  ve: new Set(['i', 'you', 'we', 'they']),
};

/**
 * Words a slip is corrected towards inside a sentence ("remvoe my numbr" → "remove my number"): the
 * words that phrase patterns hang on. Short ones accept only a neighbouring key as a substitution.
 */
export const SPELLING_TARGETS: readonly string[] = [
  'stop',
  'quit',
  'cancel',
  'remove',
  'unsubscribe',
  'subscribe',
  'resubscribe',
  'revoke',
  'text',
  'texts',
  'texting',
  'message',
  'messages',
  'messaging',
  'sending',
  'contact',
  'contacting',
  'number',
  'please',
  'list',
  'take',
  'wrong',
  'anymore',
  'receive',
  'receiving',
  'again',
  'help',
  'start',
  'permission',
  'consent',
  'interested',
  'notifications',
  'reminders',
  'spamming',
  'bother',
  'bothering',
  'delete',
  'discontinue',
  'mensajes',
  'recibir',
  'quiero',
  'ayuda',
  'cancelar',
  'numero',
  'equivocado',
  'lista',
  'mensagens',
  'receber',
  'descadastrar',
  'errado',
  'desabonner',
  'arretez',
];

/**
 * Real words (English, Spanish, French, Portuguese) one slip from a spelling target, never corrected:
 * "remote" is not "remove", "lease" is not "please", "textos" is not "texts". Taken from the Debian
 * word lists (wamerican, wspanish, wfrench, wbrazilian), less entries that are themselves misspellings.
 */
export const REAL_WORDS: ReadonlySet<string> = new Set(
  (
    'acuda aguda aguin ailing ajuda aluda arrete arretee arreter arretes arretiez ayudar ayuga ayuna azuda ' +
    'bather bothers botter brother cancela cancelai cancelam cancelara cancelas cancele cancelo cancels cancer ' +
    'cancerar carcel caucel chancel cincel cincelar compacting concocting conducting connecting consens ' +
    'consente consenti consents contacta contactant contacte contactent contactiez contactions contacto ' +
    'contactons contacts containing content contenting contesting contorting contract contracting ' +
    'contrasting convent convicting degalonner degazonner dejete delate delecte deleite deleste deleta ' +
    'deleted deletes deleto delite delute deplete desabonar desabone desabonei desabonem desabones ' +
    'descabestrar descadastrada descadastrado descontinua descontinuo detalonner devete discontinu ' +
    'discontinua discontinuar discontinued discontinuee discontinuer discontinues discontinuez discontinuo ' +
    'discontinus emission ending equipolado equivoca equivocada equivocadas equivocados equivocal equivocam ' +
    'equivocamos equivocando equivocar equivocas equivocate equivoco errada errados erramo errando evoke ' +
    'gain hell helps interacted intercepted interese interesse interesses interest interests interjected ' +
    'intersected intrusted lease lesta lifta lisa lissa listar listas liste listo listra lists liszt lost ' +
    'lust mailings maiming massage massages massaging mauling mensaje messager messagers notificacion ' +
    'notification numbed numbers numera numere numeros other percussion permissao permissions permissive ' +
    'permissivo pleased pleases quero quiebro quiet quieto quilt quint quita quite quito quits quoit recebe ' +
    'recebem recebes recebeu receder receite received receiver receives receler remainders reminder remote ' +
    'remova removed remover removes removi removo renove revoked revokes revote sanding scamming seeding ' +
    'sensing shamming slamming smart star stare stark starr stars starts stat stomp stoop stops strop ' +
    'stuart subscribed subscriber subscribes unsubscribed taken taker takes tale tame tart teats tenting tents test ' +
    'testing tests texas texte textes texto textos umber unsubscribes wring wrongs wrung'
  ).split(' '),
);

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
  'beaucoup',
]);

/**
 * Keywords used in another sense: the matched words are set aside before anything else is read, so
 * "stop by the store", "cancel my order" and "opt out of the extended warranty" are no revocation,
 * while the rest of the reply still counts ("cancel my order and stop texting me").
 */
export const OTHER_SENSES: readonly string[] = [
  re`\bstop (by|in|at|over|on|for|to|and|go|sign|signs|light|lights|watch|sign|it youre|youre|you are|(?!{CONTACTING}\b|getting\b|receiving\b|fucking\b|freaking\b)\w+ing)\b`,
  re`\b(bus|next|last|first|truck|pit|full|one|rest|non|train|subway|shuttle|tram|metro|school|nearest|closest) stops?\b`,
  re`\b(the|a|an|every|each) (?!(?:{MSG}|spam)\b)(\w+ )?((should|will|would|might|may|could|must|can|never|finally) )?stops?\b(?! {CONTACTING}| getting| receiving)`,
  re`\b(it|that|which|they) (should|will|would|might|may|could|must|going to|gonna) stop\b(?! {CONTACTING}| getting| receiving)`,
  re`\b(cant|cannot|couldnt|wont|wouldnt|never|didnt|doesnt) stop\b(?! {CONTACTING}| getting| receiving| (?:{DET} )?(?:\w+ )?{MSG})`,
  re`\b(stop|stopped|cancel|cancelled|canceled|end|quit|pause|remove|delete|disable|turn off|opt out (of|from|on)|opted out (of|from|on)|opt me out (of|from|on)|unsubscribe (me )?from|unsubscribed from|unsub from|not interested in|interested in|(stop|quit|cease) sending) {OTHER}`,
  re`\b(remove|removed|delete|deleted|take|taken|drop|erase|get) (\w+ ){1,3}?(from|off|out of) {OTHER}`,
  re`\b(an?|the|this|that|your|their) (opt out|optout|unsubscribe|stop) (option|button|link|form|page|box|feature|process|request|policy|code|word|keyword|instructions?)\b`,
  re`\b(the|an|this|that|weekend|week|month|year|day|at the) end\b`,
  re`\bend (of|up|date|time)\b`,
  re`\bquit (my|his|her|their|smoking|drinking|playing|work|job)\b`,
  re`\bi quit\b(?! (?:{DET} )?(?:\w+ )?{MSG}\b)`,
  re`\b(told|tell|asked|ask|telling|asking) (him|her|them|my \w+|his \w+) to stop\b`,
  re`\b(join|joining|sign (me |us )?up for|signed up for|subscribe to|subscribed to) {OTHER}`,
  re`\b(cancelar|cancela|cancele|cancelen|annuler|annulez|annule) (meu|minha|meus|minhas|mi|mis|el|la|los|las|o|a|os|as|mon|ma|mes|le|les|tu|su|seu|sua)( \w+)? (?!(?:mensajes|mensagens|messages|sms|textos|notificaciones|notificacoes|suscripcion|inscricao|assinatura|abonnement)\b)\w+`,
  re`\b(alto|arret) (el|de|du|des|la) \w+`,
  re`\balto (ahi|alli|alla)\b`,
  re`\bpara (?!(?:de|ya|por|favor|ja|agora|com|con|eso|isso|esto|isto)\b)\w+`,
  re`\bvou sair\b`,
  re`\bsair (mais|hoje|cedo|agora)\b`,
];

/** Replies that may be a revocation, said as annoyance rather than a request: a person decides. */
export const REVIEW_PHRASES: readonly (readonly [string, string])[] = [
  [
    'review:enough',
    re`^(ok |okay |ok so )?(enough|enough already|that s enough|that is enough|this is enough|enough is enough|basta|basta ya|ya basta|ca suffit|chega|fin)( already| now)?$`,
  ],
  [
    'review:no',
    re`^(no|nope|nah|no thanks|no thank you|no gracias|non merci|nao obrigado|ya no|ya no gracias)( thanks| thank you| im good| i am good| im ok| im fine)?$`,
  ],
  ['review:please_dont', re`^(please |pls )?(dont|do not)( please)?$`],
  ['review:too_many', re`\btoo many (texts?|messages?)\b`],
  [
    'review:keep_texting',
    re`\b(why|y) (do|are|does|is|would|did) (you|they|this number|someone) (keep )?(texting|messaging|sending|contacting|have my number|have this number)\b|\b(why|y) (do|am|does|are|is) (i|we) (still )?(keep )?(getting|receiving)\b`,
  ],
  [
    'review:who_gave_number',
    re`\bwho gave (you|them) (my|this) number\b|\b(how|where) (did|do) (you|they) (get|find|got) (my|this) (number|info|contact)\b`,
  ],
  [
    'review:spam',
    re`^(spam|this is spam|stop spam|scam|junk|reported|reporting|reporting you|reported as spam|this is (a )?scam|(its|it s) (a )?scam|spammer|scammer)$|\breport(ed|ing)? (you |this |this number |your number |it )?(as|to|for) (junk|spam|the fcc|the ftc|fcc|ftc)\b`,
  ],
  [
    'review:not_interested',
    re`\b(not|no longer|not really) interested\b|\bno me interesa\b|\bpas interesse\b|\bnao (tenho interesse|me interessa)\b`,
  ],
  ['review:go_away', re`^(go away|get lost|buzz off|bug off|piss off|f off|fuck off)( please| now)?$`],
  [
    'review:blocking',
    re`\bblock(ing|ed)? (this|your) (number|phone)\b|^(im |i am |i will |ill )?(block|blocking|blocked)( you| this| this number| your number)?( now)?$`,
  ],
  ['review:pause', re`\bpause ({DET} )?(\w+ )?{MSG}\b`],
  ['review:didnt_ask', re`\b(didnt|did not|never) ask(ed)? for (this|these|it|them)\b`],
  [
    'review:erase_data',
    re`\b(erase|delete|remove) (my|all my) (info|information|data|details|personal information)\b`,
  ],
];

/** Replies that are not requests at all, whatever words they quote: reactions to our own message. */
export const NOT_A_REQUEST: readonly string[] = [
  re`^(liked|loved|laughed at|emphasized|disliked|questioned|reacted \S+ to) `,
  re`\bbut keep (getting|receiving|sending)\b`,
  re`\b(dont|do not|never|please dont|please do not) (unsubscribe|stop|remove|cancel)\b`,
  re`(?<!\b(?:you|they|u|someone) )\b(meant|supposed|trying|intended) to (text|send|message) (my|this to|that to)\b|\bwrong (chat|group|thread|convo|conversation)\b`,
];

/** Questions about the keywords themselves ("what does reply STOP do?"): asking for help, not opting out. */
export const ABOUT_KEYWORDS: readonly string[] = [
  re`\bwhat (does|do|will|would) (replying|reply|texting|text|sending|send|typing|type) (stop|end|cancel|quit|unsubscribe|stopall|start|help)( \w+)? do\b`,
  re`\bif i (reply|text|send|type|say) (stop|end|cancel|quit|unsubscribe|stopall|start)\b.*\b(will|would|do|does|can)\b`,
];

/**
 * First words of a question ("does it end tonight?", "is it cancelled?"): a short question that only
 * mentions a keyword asks about something, and is not sent to review for the keyword alone.
 */
export const QUESTION_WORDS = new Set([
  'does',
  'do',
  'did',
  'is',
  'are',
  'was',
  'were',
  'when',
  'what',
  'where',
  'which',
  'who',
]);

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

/**
 * Keywords that close a reply as its last word ("for the last time STOP", "Who is this? Stop."): the
 * request, whatever came before.
 */
export const CLOSING_KEYWORDS = new Set([
  'stop',
  'unsubscribe',
  'unsub',
  'optout',
  'opt out',
  'stopall',
  'stop all',
  'revoke',
  'no more',
  'stop it',
]);

/**
 * A keyword said first, as a sentence of its own: "Stop. I've asked before", "Stop it. I mean it.",
 * "Stop\nwho is this" (a line break ends a sentence as a full stop does).
 */
export const OPENING_KEYWORD = re`^\W*(?:(?:please|pls|plz|ok|okay|just)\W+)?(?:stop|unsubscribe|unsub|opt[\s_-]*out|stopall|revoke)(?:[^\w\r\n\u2028\u2029]+(?:it|now|please|pls|already|all))?(?:\s*[.!;]+|[ \t]*[\r\n\u2028\u2029])\s*\S`;

/**
 * A must-honour word that opens a reply but names something or is one verb of several: the subject of
 * a sentence ("Cancel culture is wild", "Stop & Shop has it cheaper", "End credits were the best part")
 * or a list of verbs ("stop, look and listen", "stop drop and roll"). Such a reply is not sent to
 * review for its opening word alone; every other rule still reads it.
 */
export const KEYWORD_AS_NOUN: readonly string[] = [
  re`^(?:\w+ )?(?:stop|quit|end|cancel|revoke|unsubscribe|unsub)(?: (?!(?:this|that|it|these|those|he|she|they|we|i|you|who|what|there|here|{MSG})\b)\w+){1,2} (?:is|was|are|were|has|had|have|looks|sounds|seems)\b`,
  re`^(?:\w+ )?(?:stop|quit|end|cancel) \w+(?: \w+)? (?:and|n|or) (?!(?:{CONTACTING}|{MSG}|me|us|this|that|it)\b)\w+$`,
];

/**
 * The words a sender must honour as a revocation however the reply goes on: the FCC's seven
 * (47 CFR 64.1200(a)(10)) and CTIA's. Opening a reply with words no rule reads, one is sent to review.
 */
export const MUST_HONOUR: ReadonlySet<string> = new Set([
  'stop',
  'quit',
  'end',
  'revoke',
  'opt out',
  'optout',
  'cancel',
  'unsubscribe',
  'unsub',
  'stopall',
]);

/** A joke or a laugh: "Stop! That's the best deal ever lol" is not a request. */
export const LAUGHTER = re`\b(?:lol|lmao|lmfao|rofl|haha\w*|hehe\w*|jk|kidding|joking|hilarious|funny)\b|[\u{1F602}\u{1F923}\u{1F606}\u{1F605}\u{1F639}\u{1F61C}\u{1F61D}\u{1F60A}\u{1F970}\u{1F60D}]`;

/**
 * "I'm not Steve", "not Brian, sorry", "no Jennifer here": a name the sender does not answer to, read
 * from the reply as typed (a capital letter marks the name).
 */
export const NOT_THIS_PERSON = re`(?:^|[.!?,;]\s*|\b(?:I[’']?m|I am|[Tt]his is|[Tt]his isn[’']?t|[Ii]t[’']?s|[Ii]ts)\s+)not\s+(?!(?:I|The|A|An|My|Your|This|That|Interested|Sure|Me|Now|Today|Tomorrow|Yet|Really|Anymore|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b)[A-Z][a-z]+(?:\s*[.,!]|\s*$|\s+(?:sorry|here|wrong|please|stop)\b)|^\W*[Nn]o\s+[A-Z][a-z]+\s+here\b`;

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
