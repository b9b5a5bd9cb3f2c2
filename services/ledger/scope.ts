import { LedgerError } from './errors.js';

/**
 * Where a consent decision applies. `global` ⊇ `brand:<b>` ⊇ `program:<b>/<p>`; the key is the string
 * form stored on the log and in every view.
 */
export type ScopeKey = 'global' | `brand:${string}` | `program:${string}/${string}`;
export type ScopeWidth = 'global' | 'brand' | 'program';
export const SCOPE_WIDTHS: readonly ScopeWidth[] = ['global', 'brand', 'program'];

/** A brand's or a program's name (also the configuration's schema reads it). */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
const NAME = new RegExp(NAME_PATTERN);

export function assertName(kind: 'brand' | 'program', value: string): string {
  if (!NAME.test(value)) {
    throw new LedgerError(
      'invalid_scope',
      `${kind} "${value}" is not a valid name: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return value;
}

export function scopeKey(width: ScopeWidth, brand: string, program?: string): ScopeKey {
  switch (width) {
    case 'global':
      return 'global';
    case 'brand':
      return `brand:${assertName('brand', brand)}`;
    case 'program':
      if (program === undefined) {
        throw new LedgerError('invalid_scope', 'scope "program" needs a program');
      }
      return `program:${assertName('brand', brand)}/${assertName('program', program)}`;
    default: {
      const never: never = width;
      throw new LedgerError('invalid_scope', `unknown scope width ${String(never)}`);
    }
  }
}

/** The (brand?, program?) a check at `scope` means: the inverse of scopeKey. */
export function scopeTarget(scope: ScopeKey): { brand?: string; program?: string } {
  if (scope === 'global') return {};
  if (scope.startsWith('brand:')) return { brand: scope.slice('brand:'.length) };
  const [brand, program] = scope.slice('program:'.length).split('/');
  return { ...(brand !== undefined && { brand }), ...(program !== undefined && { program }) };
}

/** The scopes whose events decide a check for (brand, program?), widest first. */
export function coveringScopes(brand: string, program?: string): readonly ScopeKey[] {
  return program === undefined
    ? ['global', `brand:${brand}`]
    : ['global', `brand:${brand}`, `program:${brand}/${program}`];
}

/** Whether a fact at `scope` counts for a check at (brand?, program?); no brand means global only. */
export function covers(scope: ScopeKey, brand: string | undefined, program?: string): boolean {
  if (scope === 'global') return true;
  if (brand === undefined) return false;
  if (scope === `brand:${brand}`) return true;
  return program !== undefined && scope === `program:${brand}/${program}`;
}

export function isScopeKey(value: string): value is ScopeKey {
  if (value === 'global') return true;
  const brand = /^brand:([^/]+)$/.exec(value);
  if (brand) return NAME.test(brand[1] ?? '');
  const program = /^program:([^/]+)\/([^/]+)$/.exec(value);
  return program !== null && NAME.test(program[1] ?? '') && NAME.test(program[2] ?? '');
}
