import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { assertBrands, maySee } from '../../access/index.js';
import type { Intake } from '../../intake/index.js';
import { pointToken } from '../../log/index.js';
import type { ReviewItem } from '../../projector/index.js';
import { actorOf } from '../actor.js';
import { ReviewBody, ReviewParams, ReviewReply, ReviewsQuery, ReviewsReply } from '../schemas/index.js';
import { conflict, errors, iso, notFound } from './common.js';

/** The review queue as intake reads it. */
export interface ReviewQueue {
  reviews(status: 'pending' | 'decided' | 'all'): readonly ReviewItem[];
}

export interface ReviewsOptions {
  readonly intake: Pick<Intake, 'review'>;
  readonly queue: ReviewQueue;
}

/** GET /v1/reviews and POST /v1/reviews/:id: suspected opt-outs awaiting a person's decision. */
export const reviewRoutes: FastifyPluginCallbackTypebox<ReviewsOptions> = (app, { intake, queue }, done) => {
  app.get(
    '/v1/reviews',
    {
      schema: {
        summary: 'Suspected opt-outs awaiting a decision (they suppress meanwhile)',
        querystring: ReviewsQuery,
        response: { 200: ReviewsReply, ...errors },
      },
    },
    (request) => {
      const items = queue
        .reviews(request.query.status ?? 'pending')
        .filter((item) => maySee(request, item.event.brand));
      const limit = request.query.limit ?? 100;
      return { total: items.length, reviews: items.slice(0, limit).map(reviewJson) };
    },
  );

  app.post(
    '/v1/reviews/:id',
    {
      schema: {
        summary: 'Confirm or dismiss a suspected opt-out; the decision is recorded on the log',
        params: ReviewParams,
        body: ReviewBody,
        response: { 200: ReviewReply, 201: ReviewReply, ...notFound, ...conflict, ...errors },
      },
    },
    async (request, reply) => {
      const { decision, reviewer, note } = request.body;
      if (request.principal !== undefined && request.principal.brands !== '*') {
        const item = queue.reviews('all').find((r) => r.event.eventId === request.params.id);
        // Unknown ids go on to intake, which answers 404 as it does for every caller.
        if (item !== undefined) assertBrands(request, [item.event.brand]);
      }
      const answer = await intake.review({
        id: request.params.id,
        decision,
        ...(reviewer !== undefined && { reviewer }),
        ...(note !== undefined && { note }),
        actor: actorOf(request),
      });
      return reply.code(answer.duplicate ? 200 : 201).send({
        id: answer.id,
        outcome: answer.outcome,
        eventId: answer.eventId,
        position: pointToken(answer),
        recordedAt: iso(answer.recordedAt) ?? '',
        duplicate: answer.duplicate,
        confirmation: answer.confirmation,
      });
    },
  );
  done();
};

function reviewJson({ partition, position, event, decision }: ReviewItem) {
  return {
    id: event.eventId,
    phone: event.phone,
    brand: event.brand,
    program: event.program ?? null,
    scope: event.scope,
    text: event.evidence.rawText ?? null,
    matchedRule: event.evidence.matchedRule ?? null,
    confidence: event.evidence.confidence ?? null,
    language: event.evidence.language ?? null,
    receivedAt: iso(event.occurredAt) ?? '',
    position: pointToken({ partition, position }),
    status: decision?.event.outcome ?? 'pending',
    decidedAt: iso(decision?.event.recordedAt),
    reviewer: decision?.event.evidence.agentId ?? null,
    actor: decision?.event.evidence.actor ?? null,
    note: decision?.event.evidence.note ?? null,
  };
}
