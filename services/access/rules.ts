/** Who may do what: pure rules over a principal, a route's declared access and the brands it acts on. */

export const SCOPES = [
  'checks:read',
  'events:write',
  'consent:write',
  'audit:read',
  'reviews:write',
  'holds:write',
  'sends:write',
  'admin',
] as const;
export type Scope = (typeof SCOPES)[number];

export const isScope = (value: string): value is Scope => (SCOPES as readonly string[]).includes(value);

/**
 * What a route asks of its caller: `open` (health, readiness, docs), `provider` (authenticated by the
 * provider's own signature, never by a key), or the scopes a key must hold, all of them.
 */
export type RouteAccess =
  | { readonly kind: 'open' }
  | { readonly kind: 'provider' }
  | { readonly kind: 'key'; readonly scopes: readonly Scope[]; readonly allBrands?: boolean };

export interface Principal {
  /** The key id: written as the actor of what the key records; never the secret. */
  readonly id: string;
  readonly scopes: ReadonlySet<Scope>;
  /** `*` for every brand. */
  readonly brands: '*' | ReadonlySet<string>;
}

export type Decision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly status: 401 | 403; readonly message: string };

const ALLOWED: Decision = { allowed: true };

/** The scopes a principal lacks for `required`; `admin` holds every scope. */
export function missingScopes(principal: Principal, required: readonly Scope[]): Scope[] {
  if (principal.scopes.has('admin')) return [];
  return required.filter((scope) => !principal.scopes.has(scope));
}

export const mayActOnBrand = (principal: Principal, brand: string): boolean =>
  principal.brands === '*' || principal.brands.has(brand);

/**
 * Whether a request may go on: `principal` is undefined when no valid key was presented. Brands are the
 * ones the request acts on, when known before the handler runs.
 */
export function authorize(
  principal: Principal | undefined,
  access: RouteAccess | undefined,
  brands: readonly string[] = [],
): Decision {
  // A route that declares nothing is refused: deny by default, so a forgotten declaration fails closed.
  if (access === undefined) {
    return { allowed: false, status: 403, message: 'this route declares no access rule; nobody may call it' };
  }
  if (access.kind === 'open' || access.kind === 'provider') return ALLOWED;
  if (principal === undefined) {
    return {
      allowed: false,
      status: 401,
      message:
        'send a valid API key as "Authorization: Bearer <secret>" (create one with "ledger keys create")',
    };
  }
  const missing = missingScopes(principal, access.scopes);
  if (missing.length > 0) {
    return {
      allowed: false,
      status: 403,
      message: `key ${principal.id} lacks the scope ${missing.join(', ')}`,
    };
  }
  if (access.allBrands === true && principal.brands !== '*') {
    return {
      allowed: false,
      status: 403,
      message: `key ${principal.id} is limited to some brands; this route needs a key for every brand ("brands": ["*"])`,
    };
  }
  const denied = brands.find((brand) => !mayActOnBrand(principal, brand));
  if (denied !== undefined) {
    return { allowed: false, status: 403, message: `key ${principal.id} may not act on brand ${denied}` };
  }
  return ALLOWED;
}
