export { classifyKeyword, normalise, type Classification, type Intent } from './keywords.js';
export { classifyReply, createClassifier, normaliseReply, type KeywordExtension } from './classify.js';
export { LEXICONS, type Lexicon } from './lexicon.js';
