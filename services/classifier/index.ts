export {
  classifyReply,
  createClassifier,
  normaliseReply,
  type Classification,
  type Intent,
  type KeywordExtension,
} from './classify.js';
export { LEXICONS, type Lexicon } from './lexicon.js';
