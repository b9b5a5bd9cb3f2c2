import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { LedgerError } from '../ledger/index.js';
import type { KeyRing } from './keys.js';
import {
  authorize,
  mayActOnBrand,
  missingScopes,
  type Decision,
  type Principal,
  type RouteAccess,
  type Scope,
} from './rules.js';
import { retryAfterSeconds, TokenBuckets } from './token-bucket.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is acting: a key id, `twilio` after a valid signature; unset (`local`) when no keys are configured. */
    actor?: string;
    /** The key's principal, when keys are configured and the route takes a key. */
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Set from the access table when the route is added; a route without one is refused. */
    access?: RouteAccess;
  }
}

export interface RateLimits {
  /** Checks (single, batch, classify) per key (or per IP without keys) per minute. */
  readonly checksPerMinute: number;
  /** Every other keyed request per key (or IP) per minute. */
  readonly writesPerMinute: number;
}

export interface AccessOptions {
  /** Undefined when no keys are configured: every request acts as `local` (loopback only, see server). */
  readonly keys: KeyRing | undefined;
  /** The access of each route, by method and URL pattern; undefined for a route it does not know. */
  readonly accessOf: (method: string, url: string) => RouteAccess | undefined;
  readonly rateLimits: RateLimits;
  /** Callers (keys or addresses) each rate limit remembers at most; see TokenBuckets. */
  readonly maxCallers?: number;
}

const OPEN: RouteAccess = { kind: 'open' };

/**
 * Authentication, scopes and rate limits for every route added after it; it must come before any route
 * (it refuses to be installed after one) and before swagger, so each route's access is declared in its
 * config and its OpenAPI security. Each route gets its own synchronous onRequest hook, built once from
 * its access when it is added: a request reads no route options and awaits nothing, open routes get
 * no hook at all, and without keys a request only takes a token from its address's bucket.
 */
export function installAccess(app: FastifyInstance, options: AccessOptions): Promise<void> {
  // A route added before the onRoute hook below would get no access hook: it would be served to
  // anyone. Refuse rather than fail open.
  if (app.printRoutes() !== '(empty tree)') {
    throw new LedgerError('internal', 'installAccess must come before every route');
  }
  const limits = new RateLimiters(options.rateLimits, options.maxCallers);
  app.addHook('onRoute', (route) => {
    const method = Array.isArray(route.method) ? String(route.method[0]) : String(route.method);
    // The UI's own routes (HTML, scripts, the spec) are public documentation.
    const access = route.url.startsWith('/docs')
      ? OPEN
      : options.accessOf(method === 'HEAD' ? 'GET' : method, route.url);
    // Deny by default, and loudly: a route added without an access rule stops the app from building,
    // so every test that builds it fails until the route is given one.
    if (access === undefined) {
      throw new LedgerError(
        'internal',
        `${method} ${route.url} declares no access: add it to the access table (services/api/access.ts)`,
      );
    }
    route.config = { ...route.config, access };
    if (access.kind === 'key' && route.schema !== undefined && route.schema.hide !== true) {
      route.schema = { ...route.schema, security: [{ bearer: [...access.scopes] }] };
    }
    const hook = accessHook(access, options.keys, limits);
    if (hook === undefined) return;
    // First among the route's own hooks: nothing of the route runs for a caller it refuses. A new
    // array, so the HEAD route fastify derives from a GET gets a hook of its own, not this one twice.
    const existing = route.onRequest;
    route.onRequest =
      existing === undefined ? [hook] : [hook, ...(Array.isArray(existing) ? existing : [existing])];
  });
  // A promise, as callers await it: the hooks are in place when it resolves.
  return Promise.resolve();
}

/**
 * The onRequest hook of a route with `access`, or none when there is nothing to check. Health,
 * readiness, docs and metrics are never throttled: probes must always get an answer.
 */
function accessHook(
  access: RouteAccess,
  keys: KeyRing | undefined,
  limits: RateLimiters,
): onRequestHookHandler | undefined {
  if (access.kind === 'open') return undefined;
  const limit = limits.of(access);
  // Without keys (loopback only) every declared route is open to `local`: only the rate limit applies.
  // A provider route is authenticated by its handler (the provider's signature), never by a key.
  if (keys === undefined || access.kind === 'provider') {
    const byAddress = limit.byAddress;
    return (request, reply, done) => {
      const waitMs = byAddress.take(request.ip);
      done(waitMs === 0 ? undefined : limits.refuse(reply, byAddress, waitMs, 'address'));
    };
  }
  const byKey = limit.byKey;
  const unauthenticated = authorize(undefined, access);
  // The decision depends only on the key and the route: made once per configured key, not per request.
  const decisions = new Map<Principal, Decision>();
  return (request, reply, done) => {
    const principal = keys.authenticate(request.headers.authorization);
    if (principal === undefined) return done(refusal(reply, unauthenticated));
    let decision = decisions.get(principal);
    if (decision === undefined) {
      decision = authorize(principal, access);
      decisions.set(principal, decision);
    }
    if (!decision.allowed) return done(refusal(reply, decision));
    request.principal = principal;
    request.actor = principal.id;
    const waitMs = byKey.take(principal.id);
    done(waitMs === 0 ? undefined : limits.refuse(reply, byKey, waitMs, 'key'));
  };
}

/** The error a refused request is answered with: 401 (with WWW-Authenticate) or 403. */
function refusal(reply: FastifyReply, decision: Decision): LedgerError | undefined {
  if (decision.allowed) return undefined;
  if (decision.status === 401) {
    void reply.header('www-authenticate', 'Bearer realm="suppression-ledger"');
    return new LedgerError('unauthorized', decision.message);
  }
  return new LedgerError('forbidden', decision.message);
}

/**
 * The buckets behind the two limits: checks (single, batch, classify) and every other request, each
 * counted apart, by key id and by address in buckets of their own (so no key id can share an
 * address's bucket).
 */
class RateLimiters {
  private readonly checks: { byKey: TokenBuckets; byAddress: TokenBuckets };
  private readonly writes: { byKey: TokenBuckets; byAddress: TokenBuckets };

  constructor(limits: RateLimits, maxCallers?: number) {
    const pair = (perMinute: number) => ({
      byKey: new TokenBuckets({ perMinute, ...(maxCallers !== undefined && { maxCallers }) }),
      byAddress: new TokenBuckets({ perMinute, ...(maxCallers !== undefined && { maxCallers }) }),
    });
    this.checks = pair(limits.checksPerMinute);
    this.writes = pair(limits.writesPerMinute);
  }

  of(access: RouteAccess): { byKey: TokenBuckets; byAddress: TokenBuckets } {
    const isCheck = access.kind === 'key' && access.scopes.length === 1 && access.scopes[0] === 'checks:read';
    return isCheck ? this.checks : this.writes;
  }

  /** The 429: Retry-After and the limit's headers, and the error the error handler answers with. */
  refuse(reply: FastifyReply, buckets: TokenBuckets, waitMs: number, per: 'key' | 'address'): LedgerError {
    const seconds = retryAfterSeconds(waitMs);
    void reply
      .header('retry-after', String(seconds))
      .header('x-ratelimit-limit', String(buckets.perMinute))
      .header('x-ratelimit-remaining', '0')
      .header('x-ratelimit-reset', String(seconds));
    return new LedgerError(
      'rate_limited',
      `more than ${buckets.perMinute} requests a minute from this ${per}; retry in ${seconds} second${seconds === 1 ? '' : 's'}`,
    );
  }
}

/** Refuses a request that acts on a brand its key may not act on; no-op without keys. */
export function assertBrands(request: FastifyRequest, brands: readonly string[]): void {
  const principal = request.principal;
  if (principal === undefined) return;
  const denied = brands.find((brand) => !mayActOnBrand(principal, brand));
  if (denied !== undefined) {
    throw new LedgerError('forbidden', `key ${principal.id} may not act on brand ${denied}`);
  }
}

/** Refuses a request whose key lacks a scope this particular request needs beyond its route's. */
export function assertScope(request: FastifyRequest, scope: Scope, why: string): void {
  const principal = request.principal;
  if (principal === undefined) return;
  if (missingScopes(principal, [scope]).length > 0) {
    throw new LedgerError('forbidden', `key ${principal.id} lacks the scope ${scope}, needed ${why}`);
  }
}

/** Whether the request's key may see a brand's items; always without keys. */
export const maySee = (request: FastifyRequest, brand: string): boolean =>
  request.principal === undefined || mayActOnBrand(request.principal, brand);
