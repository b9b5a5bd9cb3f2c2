import { LedgerError } from './errors.js';
import {
  assertName,
  coveringScopes,
  covers,
  isScopeKey,
  scopeKey,
  scopeTarget,
  type ScopeKey,
} from './scope.js';
import { caught } from '../../test/support/caught.js';

describe('scopes: global ⊇ brand:<b> ⊇ program:<b>/<p>', () => {
  describe('scopeKey', () => {
    it('global ignores brand and program', () => {
      expect(scopeKey('global', 'acme')).toBe('global');
      expect(scopeKey('global', 'acme', 'promo')).toBe('global');
    });

    it('brand scope is brand:<b>, whatever the program', () => {
      expect(scopeKey('brand', 'acme')).toBe('brand:acme');
      expect(scopeKey('brand', 'acme', 'promo')).toBe('brand:acme');
    });

    it('program scope is program:<b>/<p>', () => {
      expect(scopeKey('program', 'acme', 'promo')).toBe('program:acme/promo');
    });

    it('program scope without a program is invalid_scope', () => {
      const error = caught(() => scopeKey('program', 'acme'));
      expect(error.code).toBe('invalid_scope');
      expect(error.message).toContain('program');
    });

    it.each([
      ['brand', 'ac me'],
      ['brand', ''],
      ['brand', 'a/b'],
      ['brand', 'brand:acme'],
      ['brand', '-acme'],
    ] as const)('a %s scope with the bad name %j is invalid_scope', (width, brand) => {
      const error = caught(() => scopeKey(width, brand));
      expect(error.code).toBe('invalid_scope');
      expect(error.message).toContain(`"${brand}"`);
    });

    it('a bad program name is invalid_scope and names the program', () => {
      const error = caught(() => scopeKey('program', 'acme', 'pro/mo'));
      expect(error.code).toBe('invalid_scope');
      expect(error.message).toContain('program "pro/mo"');
    });

    it('an unknown width is invalid_scope', () => {
      const error = caught(() => scopeKey('planet' as 'global', 'acme'));
      expect(error.code).toBe('invalid_scope');
      expect(error.message).toContain('planet');
    });
  });

  describe('scopeTarget is the inverse of scopeKey', () => {
    it.each<[ScopeKey, { brand?: string; program?: string }]>([
      ['global', {}],
      ['brand:acme', { brand: 'acme' }],
      ['program:acme/promo', { brand: 'acme', program: 'promo' }],
    ])('%s → %j', (scope, target) => {
      expect(scopeTarget(scope)).toEqual(target);
    });

    it('round-trips through scopeKey', () => {
      const target = scopeTarget(scopeKey('program', 'acme.us', 'spring_sale-2025'));
      expect(target).toEqual({ brand: 'acme.us', program: 'spring_sale-2025' });
      expect(scopeKey('program', target.brand ?? '', target.program)).toBe(
        'program:acme.us/spring_sale-2025',
      );
    });
  });

  describe('coveringScopes', () => {
    it('a brand check looks at global and the brand, widest first', () => {
      expect(coveringScopes('acme')).toEqual(['global', 'brand:acme']);
    });

    it('a program check also looks at the program', () => {
      expect(coveringScopes('acme', 'promo')).toEqual(['global', 'brand:acme', 'program:acme/promo']);
    });

    it('agrees with covers()', () => {
      for (const scope of coveringScopes('acme', 'promo')) expect(covers(scope, 'acme', 'promo')).toBe(true);
      for (const scope of coveringScopes('acme')) expect(covers(scope, 'acme')).toBe(true);
    });
  });

  describe('covers', () => {
    it('global covers every check, including one without a brand', () => {
      expect(covers('global', undefined)).toBe(true);
      expect(covers('global', 'acme')).toBe(true);
      expect(covers('global', 'acme', 'promo')).toBe(true);
    });

    it('a brand scope covers its brand and the brand’s programs only', () => {
      expect(covers('brand:acme', 'acme')).toBe(true);
      expect(covers('brand:acme', 'acme', 'promo')).toBe(true);
      expect(covers('brand:acme', 'globex')).toBe(false);
      expect(covers('brand:acme', 'globex', 'promo')).toBe(false);
    });

    it('a program scope covers that program only, not the brand-level check nor sibling programs', () => {
      expect(covers('program:acme/promo', 'acme', 'promo')).toBe(true);
      expect(covers('program:acme/promo', 'acme')).toBe(false);
      expect(covers('program:acme/promo', 'acme', 'alerts')).toBe(false);
      expect(covers('program:acme/promo', 'globex', 'promo')).toBe(false);
    });

    it('a check without a brand sees the global scope only', () => {
      expect(covers('brand:acme', undefined)).toBe(false);
      expect(covers('program:acme/promo', undefined, 'promo')).toBe(false);
    });

    it('a brand that is a prefix of another is a different brand', () => {
      expect(covers('brand:acme', 'acme2')).toBe(false);
      expect(covers('brand:acme2', 'acme')).toBe(false);
      expect(covers('program:acme/pro', 'acme', 'promo')).toBe(false);
    });

    it('names are case-sensitive', () => {
      expect(covers('brand:acme', 'Acme')).toBe(false);
    });
  });

  describe('isScopeKey', () => {
    it.each(['global', 'brand:acme', 'brand:Acme.US_1-x', 'program:acme/promo', `brand:${'a'.repeat(64)}`])(
      '%s is a scope key',
      (value) => {
        expect(isScopeKey(value)).toBe(true);
      },
    );

    it.each([
      '',
      'Global',
      'GLOBAL',
      ' global',
      'brand:',
      'brand',
      'brand:ac me',
      'brand:-acme',
      'brand:acme/promo',
      `brand:${'a'.repeat(65)}`,
      'program:acme',
      'program:acme/',
      'program:/promo',
      'program:acme/promo/x',
      'program:acme/pro mo',
      'programme:acme/promo',
      'brand:acme:x',
    ])('%j is not a scope key', (value) => {
      expect(isScopeKey(value)).toBe(false);
    });
  });

  describe('assertName', () => {
    it.each(['acme', 'A', '7eleven', 'acme.us', 'acme_us', 'acme-us', 'a'.repeat(64)])(
      '%j is a valid name',
      (name) => {
        expect(assertName('brand', name)).toBe(name);
      },
    );

    it.each([
      '',
      ' ',
      'ac me',
      ' acme',
      'acme ',
      '.acme',
      '_acme',
      '-acme',
      'a/b',
      'a:b',
      'acmé',
      'a'.repeat(65),
    ])('%j is not a valid name', (name) => {
      const error = caught(() => assertName('program', name));
      expect(error).toBeInstanceOf(LedgerError);
      expect(error.code).toBe('invalid_scope');
      expect(error.message).toContain(`program "${name}" is not a valid name`);
    });
  });
});
