import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Ledger } from '../runtime/index.js';
import { createHttp } from './http.js';
import { ROLES, routesFor, type Role } from './roles.js';

export { ROLES, type Role } from './roles.js';

export interface AppOptions {
  readonly logger?: FastifyServerOptions['logger'];
  /**
   * Which routes this process serves: intake (writes, reviews), gate (checks, audit), projector (the
   * system views and checks against them). Default all.
   */
  readonly roles?: readonly Role[];
}

/**
 * The HTTP surface of a ledger: the server with its access control (http.ts), then the route plugins
 * of the roles it serves (roles.ts), each given only its ports. `server.ts` owns listening and signals.
 */
export async function buildApp(ledger: Ledger, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = await createHttp(ledger.config, options.logger);
  for (const register of routesFor(ledger, options.roles ?? ROLES)) await register(app);
  return app;
}
