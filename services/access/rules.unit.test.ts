import { authorize, missingScopes, type Principal, type RouteAccess, type Scope } from './rules.js';

const principal = (scopes: Scope[], brands: '*' | string[] = '*'): Principal => ({
  id: 'k1',
  scopes: new Set(scopes),
  brands: brands === '*' ? '*' : new Set(brands),
});
const needs = (...scopes: Scope[]): RouteAccess => ({ kind: 'key', scopes });
const everyBrand = (...scopes: Scope[]): RouteAccess => ({ kind: 'key', scopes, allBrands: true });

describe('who may call a route', () => {
  it.each([
    ['no key, open route', undefined, { kind: 'open' }, [], 'allowed'],
    ['no key, provider route (its signature decides)', undefined, { kind: 'provider' }, [], 'allowed'],
    ['no key, keyed route', undefined, needs('checks:read'), [], 401],
    ['a key with the scope', principal(['checks:read']), needs('checks:read'), [], 'allowed'],
    ['a key without the scope', principal(['events:write']), needs('checks:read'), [], 403],
    [
      'a key with one of two scopes',
      principal(['events:write']),
      needs('events:write', 'consent:write'),
      [],
      403,
    ],
    ['admin holds every scope', principal(['admin']), needs('events:write', 'consent:write'), [], 'allowed'],
    ['a key for its brand', principal(['checks:read'], ['acme']), needs('checks:read'), ['acme'], 'allowed'],
    ['a key for another brand', principal(['checks:read'], ['acme']), needs('checks:read'), ['globex'], 403],
    [
      'admin is still held to its brands',
      principal(['admin'], ['acme']),
      needs('checks:read'),
      ['globex'],
      403,
    ],
    [
      'a brand-limited key, every-brand route',
      principal(['audit:read'], ['acme']),
      everyBrand('audit:read'),
      [],
      403,
    ],
    [
      'an every-brand key, every-brand route',
      principal(['audit:read']),
      everyBrand('audit:read'),
      [],
      'allowed',
    ],
    ['a route that declares nothing, even for admin', principal(['admin']), undefined, [], 403],
  ] as const)('%s → %s', (_, who, access, brands, expected) => {
    const decision = authorize(who, access, brands);
    expect(decision.allowed ? 'allowed' : decision.status).toBe(expected);
  });

  it('names the missing scope in the refusal', () => {
    const decision = authorize(principal(['events:write']), needs('events:write', 'consent:write'));
    expect(decision).toEqual({
      allowed: false,
      status: 403,
      message: expect.stringContaining('consent:write') as string,
    });
  });

  it('lists only the scopes a key lacks', () => {
    expect(missingScopes(principal(['audit:read']), ['audit:read', 'reviews:write'])).toEqual([
      'reviews:write',
    ]);
    expect(missingScopes(principal(['admin']), ['reviews:write'])).toEqual([]);
  });
});
