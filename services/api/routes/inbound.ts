import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { assertBrands } from '../../access/index.js';
import { routeInbound, type BrandDirectory, type Intake } from '../../intake/index.js';
import type { E164 } from '../../ledger/index.js';
import { pointToken } from '../../log/index.js';
import { actorOf } from '../actor.js';
import { ClassifyBody, ClassifyReply, InboundBody, InboundReply } from '../schemas/index.js';
import { conflict, errors, type RequestNames } from './common.js';

export interface InboundOptions {
  readonly intake: Pick<Intake, 'inbound' | 'classify'>;
  readonly names: RequestNames;
  /** Which brand a reply is for, by the number it was sent to: a brand-limited key is held to it. */
  readonly directory: BrandDirectory;
}

type InboundFields = { to: string; brand?: string; program?: string };

/** POST /v1/inbound/sms (a reply from any SMS provider) and POST /v1/classify (what a reply means). */
export const inboundRoutes: FastifyPluginCallbackTypebox<InboundOptions> = (app, options, done) => {
  const { intake, names } = options;
  /** A brand-limited key may pass on replies only to its own brands' numbers. */
  const assertInboundBrand = (request: FastifyRequest, body: InboundFields): void => {
    if (request.principal === undefined || request.principal.brands === '*') return;
    let to: E164 | undefined;
    try {
      to = names.phoneOf(body.to);
    } catch {
      // A short code or an unparsable number: routed by its text.
    }
    const named = {
      ...(body.brand !== undefined && { brand: body.brand }),
      ...(body.program !== undefined && { program: body.program }),
    };
    assertBrands(request, [routeInbound(options.directory, body.to, to, named).brand]);
  };

  app.post(
    '/v1/inbound/sms',
    {
      schema: {
        summary: 'A reply from a phone, from any SMS provider',
        body: InboundBody,
        response: { 200: InboundReply, ...conflict, ...errors },
      },
    },
    async (request) => {
      const body = request.body;
      assertInboundBrand(request, body);
      const result = await intake.inbound({
        from: body.from,
        to: body.to,
        body: body.body,
        ...(body.messageId !== undefined && { messageId: body.messageId }),
        ...(body.receivedAt !== undefined && { receivedAt: Date.parse(body.receivedAt) }),
        ...(body.brand !== undefined && { brand: body.brand }),
        ...(body.program !== undefined && { program: body.program }),
        actor: actorOf(request),
      });
      const consent = result.appended.find((a) => a.event.type !== 'ConfirmationSent');
      const recorded =
        result.original ??
        (consent === undefined ? undefined : { ...consent, eventId: consent.event.eventId });
      return {
        intent: result.classification.intent,
        eventId: recorded?.eventId ?? null,
        position: recorded === undefined ? null : pointToken(recorded),
        reply: result.reply,
        confirmation: result.confirmation,
        duplicate: result.original !== undefined || (consent?.duplicate ?? false),
      };
    },
  );

  app.post(
    '/v1/classify',
    {
      schema: {
        summary: 'What a reply means: opt_out, opt_in, help, none, or review',
        body: ClassifyBody,
        response: { 200: ClassifyReply, ...errors },
      },
    },
    (request) => {
      const brand = names.brandOf(request.body.brand);
      assertBrands(request, [brand]);
      const { intent, confidence, matched, language } = intake.classify(request.body.text, brand);
      return { intent, confidence, matched, language };
    },
  );
  done();
};
