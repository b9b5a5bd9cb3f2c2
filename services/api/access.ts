import type { RouteAccess, Scope } from '../access/index.js';

const key = (...scopes: Scope[]): RouteAccess => ({ kind: 'key', scopes });
const everyBrand = (...scopes: Scope[]): RouteAccess => ({ kind: 'key', scopes, allBrands: true });

/**
 * Every route's access, in one table. A route missing here is refused to everyone (deny by default),
 * and access.unit.test.ts fails for it. Brand limits beyond "every brand" are checked in the handlers,
 * which know the brand; an opt-in through /v1/events needs consent:write besides.
 */
export const ROUTE_ACCESS: Readonly<Record<string, RouteAccess>> = {
  'GET /healthz': { kind: 'open' },
  'GET /readyz': { kind: 'open' },
  'GET /v1/suppressions/:phone': key('checks:read'),
  'POST /v1/suppressions/check': key('checks:read'),
  'POST /v1/classify': key('checks:read'),
  'POST /v1/events': key('events:write'),
  'POST /v1/inbound/sms': key('events:write'),
  // Only Twilio's signature authenticates it: a key is neither needed nor enough.
  'POST /v1/inbound/twilio': { kind: 'provider' },
  'GET /v1/reviews': key('audit:read'),
  'POST /v1/reviews/:id': key('reviews:write'),
  // A phone's history spans brands (and global opt-outs): a brand-limited key is refused rather than
  // shown a partial story that reads as complete.
  'GET /v1/audit/:phone': everyBrand('audit:read'),
  'GET /v1/export': everyBrand('audit:read'),
  'GET /v1/views': key('audit:read'),
  'GET /v1/views/:name/rebuild': everyBrand('admin'),
  'POST /v1/views/:name/rebuild': everyBrand('admin'),
  'POST /v1/reconcile': everyBrand('admin'),
  // Dead letters hold changes of every brand; listing shows phones, replaying sends to a CRM.
  'GET /v1/views/:name/deadletters': everyBrand('audit:read'),
  'POST /v1/views/:name/deadletters/replay': everyBrand('admin'),
};

/** The access of a route; /metrics is open unless the configuration names a scope for it. */
export function accessOf(metricsScope: Scope | undefined) {
  return (method: string, url: string): RouteAccess | undefined => {
    if (method === 'GET' && url === '/metrics') {
      return metricsScope === undefined ? { kind: 'open' } : key(metricsScope);
    }
    return ROUTE_ACCESS[`${method} ${url}`];
  };
}
