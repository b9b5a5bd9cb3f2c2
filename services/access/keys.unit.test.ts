import { createKey, KeyRing, SECRET_PREFIX, sha256Hex } from './keys.js';

describe('API keys', () => {
  it('creates a high-entropy secret with a recognisable prefix, and stores only its hash', () => {
    const { secret, entry } = createKey(['checks:read'], ['acme']);
    expect(secret.startsWith(SECRET_PREFIX)).toBe(true);
    expect(Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64url')).toHaveLength(32);
    expect(entry).toEqual({ sha256: sha256Hex(secret), scopes: ['checks:read'], brands: ['acme'] });
    expect(JSON.stringify(entry)).not.toContain(secret);
    expect(createKey(['checks:read'], ['*']).secret).not.toBe(secret);
  });

  it('authenticates a Bearer secret to its key id, scopes and brands', () => {
    const { secret, entry } = createKey(['checks:read', 'events:write'], ['acme']);
    const ring = new KeyRing({ sender: entry });
    const principal = ring.authenticate(`Bearer ${secret}`);
    expect(principal?.id).toBe('sender');
    expect([...(principal?.scopes ?? [])]).toEqual(['checks:read', 'events:write']);
    expect(principal?.brands).toEqual(new Set(['acme']));
    expect(ring.authenticate(`bearer ${secret}`)?.id).toBe('sender');
  });

  it.each([
    ['no header', undefined],
    ['a wrong secret', `Bearer ${SECRET_PREFIX}AAAA`],
    ['the hash instead of the secret', 'HASH'],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['the secret without a scheme', 'SECRET'],
    ['two secrets', 'Bearer SECRET SECRET'],
  ])('recognises nobody from %s', (_, header) => {
    const { secret, entry } = createKey(['admin'], ['*']);
    const ring = new KeyRing({ root: entry });
    const presented = header?.replace('HASH', `Bearer ${entry.sha256}`).replace(/SECRET/g, secret);
    expect(ring.authenticate(presented)).toBeUndefined();
  });

  it('gives a key for every brand the "*" brands', () => {
    const { secret, entry } = createKey(['admin'], ['*']);
    expect(new KeyRing({ root: entry }).authenticate(`Bearer ${secret}`)?.brands).toBe('*');
  });
});
