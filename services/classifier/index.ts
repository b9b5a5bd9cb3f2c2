export { classifyKeyword, normalise, type Classification, type Intent } from './keywords.js';
