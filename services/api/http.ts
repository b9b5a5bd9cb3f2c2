import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyServerOptions } from 'fastify';
import { installAccess, KeyRing } from '../access/index.js';
import type { Config } from '../config/index.js';
import { accessOf } from './access.js';
import { installErrorHandling } from './errors.js';
import { installJsonBody } from './json-body.js';
import { capConnectionsPerClient, serverOptions } from './limits.js';
import { coerceQueryStrings } from './query.js';
import { ErrorBody } from './schemas/index.js';

export type HttpConfig = Pick<Config, 'bodyLimitBytes' | 'http' | 'apiKeys' | 'metricsScope' | 'rateLimits'>;

/**
 * The HTTP server without a route: limits, errors, JSON bodies, access control and the OpenAPI
 * document. Every route plugin registered on it afterwards is given its access from the route table
 * (services/api/access.ts) as it is added, and is refused to everyone if the table lacks it.
 */
export async function createHttp(config: HttpConfig, logger: FastifyServerOptions['logger'] = false) {
  const app = Fastify({
    logger,
    bodyLimit: config.bodyLimitBytes,
    // A log line per check would cost more than the check; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    ...serverOptions(config.http),
  }).withTypeProvider<TypeBoxTypeProvider>();
  capConnectionsPerClient(app.server, config.http.maxConnectionsPerClient);

  installErrorHandling(app);
  coerceQueryStrings(app);
  app.addSchema(ErrorBody);
  const keyCount = Object.keys(config.apiKeys).length;
  // Before every route and before swagger: each route gets its access from the table as it is added.
  await installAccess(app, {
    keys: keyCount === 0 ? undefined : new KeyRing(config.apiKeys),
    accessOf: accessOf(config.metricsScope),
    rateLimits: config.rateLimits,
  });
  // JSON only: a text/plain body is the caller's mistake, answered 415 rather than a schema error.
  app.removeContentTypeParser('text/plain');
  installJsonBody(app);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'suppression-ledger',
        description: 'Every opt-out on one immutable log; every sender checks before every send.',
        version: '0.1.0',
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key from "ledger keys create"; each route names the scope it needs',
          },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  return app;
}

export type Http = Awaited<ReturnType<typeof createHttp>>;
