import type { FastifyPluginAsyncTypebox, FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import type { FastifyPluginOptions } from 'fastify';
import { LedgerError } from '../ledger/index.js';
import { exportLog } from '../log/index.js';
import type { Ledger } from '../runtime/index.js';
import { deadLetterView, type SystemEntry } from '../views/index.js';
import type { Http } from './http.js';
import { readinessOf } from './readiness.js';
import { auditRoutes } from './routes/audit.js';
import { checkRoutes } from './routes/checks.js';
import { requestNames } from './routes/common.js';
import { eventRoutes } from './routes/events.js';
import { exportRoutes } from './routes/export.js';
import { healthRoutes } from './routes/health.js';
import { inboundRoutes } from './routes/inbound.js';
import { reviewRoutes } from './routes/reviews.js';
import { deadLetterRoutes, maintenanceRoutes, viewRoutes } from './routes/views.js';
import { twilioWebhook } from './twilio.js';

export type Role = 'intake' | 'gate' | 'projector';
export const ROLES: readonly Role[] = ['intake', 'gate', 'projector'];

/** A route plugin with the ports it is given, ready to be registered. */
export type Registration = (app: Http) => Promise<unknown>;

const plugin =
  <O extends FastifyPluginOptions>(
    routes: FastifyPluginAsyncTypebox<O> | FastifyPluginCallbackTypebox<O>,
    options: O,
  ): Registration =>
  async (app) =>
    app.register(routes, options);

/** The system view `name` this process runs, or not_found naming the ones it does. */
function systemOf(systems: readonly SystemEntry[], name: string): SystemEntry {
  const system = systems.find((s) => s.view.name === name);
  if (system !== undefined) return system;
  const names = systems.map((s) => s.view.name);
  throw new LedgerError(
    'not_found',
    `no view named ${name} in this process (${names.length === 0 ? 'it runs no system views' : `views: ${names.join(', ')}`}); GET /v1/views lists them`,
  );
}

/**
 * The route plugins a process in `roles` serves, each given only the ports it needs: intake (writes,
 * reviews), gate (checks, audit), projector (the system views, checks against them, their
 * maintenance); views, export and health everywhere.
 */
export function routesFor(ledger: Ledger, roles: readonly Role[]): Registration[] {
  const { config, gate, intake, metrics, systems } = ledger;
  const serves = (role: Role): boolean => roles.includes(role);
  const names = requestNames(config.defaultRegion, config.directory.defaultBrand);
  const central = serves('intake') || serves('gate');
  const routes: Registration[] = [];
  if (serves('intake')) {
    routes.push(
      plugin(eventRoutes, { intake, names }),
      plugin(inboundRoutes, { intake, names, directory: config.directory }),
      plugin(twilioWebhook, {
        intake,
        authToken: config.twilioAuthToken,
        publicUrl: config.publicUrl,
        keysConfigured: Object.keys(config.apiKeys).length > 0,
      }),
      plugin(reviewRoutes, { intake, queue: ledger.reads }),
    );
  }
  if (serves('gate') || serves('projector')) {
    routes.push(
      plugin(checkRoutes, {
        names,
        central: serves('gate') ? { gate, view: ledger.view } : undefined,
        systemGate: (name) => systemOf(systems, name).gate,
        observeCheck: (...args) => metrics.observeCheck(...args),
        bodyLimitBytes: config.bodyLimitBytes,
        batchCheckMax: config.batchCheckMax,
      }),
      plugin(auditRoutes, { names, history: ledger.history, views: ledger.views }),
    );
  }
  // The views this process runs: the central one for intake and gate, the system views for projector.
  routes.push(
    plugin(viewRoutes, {
      served: () => [
        ...(central ? ledger.runners.slice(0, 1) : []),
        ...(serves('projector') ? systems.map((s) => s.runner) : []),
      ],
    }),
  );
  if (serves('projector')) {
    routes.push(
      plugin(maintenanceRoutes, { maintenance: ledger.maintenance }),
      plugin(deadLetterRoutes, { deadLetterView: (name) => deadLetterView(systems, name) }),
    );
  }
  routes.push(
    plugin(exportRoutes, { exportLog: () => exportLog(ledger.log) }),
    plugin(healthRoutes, { readiness: () => readinessOf(ledger, roles), registry: metrics.registry }),
  );
  return routes;
}
