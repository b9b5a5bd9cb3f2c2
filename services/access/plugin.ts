import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LedgerError } from '../ledger/index.js';
import type { KeyRing } from './keys.js';
import {
  authorize,
  mayActOnBrand,
  missingScopes,
  type Principal,
  type RouteAccess,
  type Scope,
} from './rules.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is acting: a key id, `twilio` after a valid signature, `local` when no keys are configured. */
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
}

const OPEN: RouteAccess = { kind: 'open' };

/**
 * Authentication, scopes and rate limits for every route added after it. Call before the routes and
 * before swagger, so each route's access is declared in its config and its OpenAPI security.
 */
export async function installAccess(app: FastifyInstance, options: AccessOptions): Promise<void> {
  const { keys, accessOf, rateLimits } = options;
  app.addHook('onRoute', (route) => {
    const method = Array.isArray(route.method) ? String(route.method[0]) : String(route.method);
    // The UI's own routes (HTML, scripts, the spec) are public documentation.
    const access = route.url.startsWith('/docs')
      ? OPEN
      : accessOf(method === 'HEAD' ? 'GET' : method, route.url);
    // Deny by default, and loudly: a route added without an access rule stops the app from building,
    // so every test that builds it fails until the route is given one.
    if (access === undefined) {
      throw new LedgerError(
        'internal',
        `${method} ${route.url} declares no access: add it to the access table (services/api/access.ts)`,
      );
    }
    route.config = { ...route.config, access };
    if (access?.kind === 'key' && route.schema !== undefined && route.schema.hide !== true) {
      route.schema = { ...route.schema, security: [{ bearer: [...access.scopes] }] };
    }
  });

  app.addHook('onRequest', (request, reply, done) => {
    if (request.is404) return done();
    const access = request.routeOptions.config.access;
    if (keys === undefined) {
      request.actor = 'local';
      const decision = authorize(undefined, access);
      // Without keys only the deny-by-default rule applies; every declared route is open on loopback.
      if (!decision.allowed && access === undefined)
        return done(new LedgerError('forbidden', decision.message));
      return done();
    }
    if (access?.kind !== 'key') {
      const decision = authorize(undefined, access);
      return done(decision.allowed ? undefined : new LedgerError('forbidden', decision.message));
    }
    const principal = keys.authenticate(request.headers.authorization);
    const decision = authorize(principal, access);
    if (!decision.allowed) {
      if (decision.status === 401) {
        void reply.header('www-authenticate', 'Bearer realm="suppression-ledger"');
        return done(new LedgerError('unauthorized', decision.message));
      }
      return done(new LedgerError('forbidden', decision.message));
    }
    request.principal = principal;
    request.actor = principal?.id;
    return done();
  });

  const isCheck = (request: FastifyRequest): boolean => {
    const access = request.routeOptions.config.access;
    return access?.kind === 'key' && access.scopes.length === 1 && access.scopes[0] === 'checks:read';
  };
  await app.register(rateLimit, {
    global: true,
    timeWindow: 60_000,
    max: (request) => (isCheck(request) ? rateLimits.checksPerMinute : rateLimits.writesPerMinute),
    // Health, readiness, docs and metrics are never throttled: probes must always get an answer.
    allowList: (request) => request.routeOptions.config.access?.kind === 'open',
    keyGenerator: (request) =>
      request.principal === undefined ? `ip:${request.ip}` : `key:${request.principal.id}`,
    // Headers on every answer would cost the hot path; Retry-After and the limits come with a 429.
    addHeadersOnExceeding: {
      'x-ratelimit-limit': false,
      'x-ratelimit-remaining': false,
      'x-ratelimit-reset': false,
    },
    errorResponseBuilder: (_request, context) =>
      new LedgerError(
        'rate_limited',
        `more than ${context.max} requests a minute from this ${keys === undefined ? 'address' : 'key'}; retry in ${context.after}`,
      ),
  });
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
