import { hash, randomBytes } from 'node:crypto';
import type { Principal, Scope } from './rules.js';

/** A key as the configuration file holds it: the secret's SHA-256 only, never the secret. */
export interface ApiKeyEntry {
  readonly sha256: string;
  readonly scopes: readonly Scope[];
  /** `["*"]` for every brand. */
  readonly brands: readonly string[];
}

/** Recognisable in logs, leaks and secret scanners; the rest is 32 random bytes. */
export const SECRET_PREFIX = 'slk_';

/** One-shot `crypto.hash`: a third of `createHash(…).update(…).digest(…)`'s time, on every keyed request. */
export const sha256Hex = (secret: string): string => hash('sha256', secret, 'hex');

/** A new secret and the entry to paste under `apiKeys`; the secret is shown once and stored nowhere. */
export function createKey(
  scopes: readonly Scope[],
  brands: readonly string[],
  random: (bytes: number) => Buffer = randomBytes,
): { secret: string; entry: ApiKeyEntry } {
  const secret = SECRET_PREFIX + random(32).toString('base64url');
  return { secret, entry: { sha256: sha256Hex(secret), scopes, brands } };
}

/**
 * The configured keys by the hash of their secret. A presented secret is hashed once and looked up: the
 * lookup compares hashes, which tells an attacker nothing about the secret, so no timing leak.
 */
export class KeyRing {
  private readonly byHash = new Map<string, Principal>();

  constructor(keys: Readonly<Record<string, ApiKeyEntry>>) {
    for (const [id, entry] of Object.entries(keys)) {
      this.byHash.set(entry.sha256.toLowerCase(), {
        id,
        scopes: new Set(entry.scopes),
        brands: entry.brands.includes('*') ? '*' : new Set(entry.brands),
      });
    }
  }

  get size(): number {
    return this.byHash.size;
  }

  /** The principal of an `Authorization` header, or undefined when it names no configured key. */
  authenticate(authorization: string | undefined): Principal | undefined {
    if (authorization === undefined) return undefined;
    const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(authorization);
    if (match?.[1] === undefined) return undefined;
    return this.byHash.get(sha256Hex(match[1]));
  }
}
