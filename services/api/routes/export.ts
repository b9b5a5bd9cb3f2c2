import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { cursorToken, type LogExport } from '../../log/index.js';

export interface ExportOptions {
  /** The whole log as it stands when asked, streamed as JSON Lines. */
  readonly exportLog: () => Promise<LogExport>;
}

/** GET /v1/export: what legal teams replay, every event with its evidence, in log order per phone. */
export const exportRoutes: FastifyPluginCallbackTypebox<ExportOptions> = (app, { exportLog }, done) => {
  app.get(
    '/v1/export',
    {
      schema: {
        summary: 'The whole log as JSON Lines ({position, event} a line), as it stood when asked',
        produces: ['application/x-ndjson'],
      },
    },
    async (_request, reply) => {
      const { stream, records, head } = await exportLog();
      return reply
        .type('application/x-ndjson')
        .header('x-ledger-records', String(records))
        .header('x-ledger-head', cursorToken(head))
        .send(stream);
    },
  );
  done();
};
