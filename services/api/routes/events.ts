import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { assertBrands, assertScope } from '../../access/index.js';
import type { Intake } from '../../intake/index.js';
import { parseSource } from '../../ledger/index.js';
import { pointToken } from '../../log/index.js';
import { actorOf } from '../actor.js';
import { RecordBody, RecordReply } from '../schemas/index.js';
import { conflict, errors, iso, type RequestNames } from './common.js';

export interface EventsOptions {
  readonly intake: Pick<Intake, 'record'>;
  readonly names: RequestNames;
}

/** POST /v1/events: an opt-out or opt-in from any source (a form, a call centre, a CRM). */
export const eventRoutes: FastifyPluginCallbackTypebox<EventsOptions> = (app, { intake, names }, done) => {
  app.post(
    '/v1/events',
    {
      schema: {
        summary: 'Record an opt-out or opt-in from any source',
        body: RecordBody,
        response: { 200: RecordReply, 201: RecordReply, ...conflict, ...errors },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (body.type === 'opt_in') assertScope(request, 'consent:write', 'to record an opt-in');
      const brand = names.brandOf(body.brand);
      assertBrands(request, [brand]);
      const appended = await intake.record({
        type: body.type,
        phone: names.phoneOf(body.phone),
        brand,
        ...(body.program !== undefined && { program: body.program }),
        ...(body.scope !== undefined && { scope: body.scope }),
        source: parseSource(body.source),
        ...(body.sourceSystem !== undefined && { sourceSystem: body.sourceSystem }),
        ...(body.channel !== undefined && { channel: body.channel }),
        ...(body.occurredAt !== undefined && { occurredAt: Date.parse(body.occurredAt) }),
        ...(body.eventId !== undefined && { eventId: body.eventId }),
        ...(body.evidence !== undefined && { evidence: body.evidence }),
        actor: actorOf(request),
      });
      return reply.code(appended.duplicate ? 200 : 201).send({
        eventId: appended.eventId,
        phone: appended.phone,
        position: pointToken(appended),
        recordedAt: iso(appended.recordedAt) ?? '',
        duplicate: appended.duplicate,
      });
    },
  );
  done();
};
