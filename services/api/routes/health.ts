import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import type { Registry } from 'prom-client';
import type { Readiness } from '../readiness.js';

export interface HealthOptions {
  /** This process's readiness per role it serves, from what it knows now (no store is called). */
  readonly readiness: () => Promise<Readiness>;
  readonly registry: Pick<Registry, 'contentType' | 'metrics'>;
}

/** /healthz (the process answers), /readyz (its roles can do their work) and /metrics. */
export const healthRoutes: FastifyPluginCallbackTypebox<HealthOptions> = (
  app,
  { readiness, registry },
  done,
) => {
  app.get('/healthz', { schema: { hide: true } }, () => ({ status: 'ok' }));
  // Per role: 503 only when a role this process serves cannot do its core work (see readiness.ts).
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const answer = await readiness();
    if (answer.status === 'unavailable') return reply.code(503).send({ error: 'unavailable', ...answer });
    return answer;
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );
  done();
};
