export {
  SCOPES,
  isScope,
  authorize,
  missingScopes,
  mayActOnBrand,
  type Scope,
  type RouteAccess,
  type Principal,
  type Decision,
} from './rules.js';
export { KeyRing, createKey, sha256Hex, SECRET_PREFIX, type ApiKeyEntry } from './keys.js';
export { TokenBuckets, retryAfterSeconds, type TokenBucketOptions } from './token-bucket.js';
export {
  installAccess,
  assertBrands,
  assertScope,
  maySee,
  type AccessOptions,
  type RateLimits,
} from './plugin.js';
