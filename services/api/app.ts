import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { assertBrands, assertScope, installAccess, KeyRing, maySee } from '../access/index.js';
import { auditPhone } from '../audit/index.js';
import {
  LedgerError,
  memoisedPhoneParser,
  parseSource,
  type E164,
  type LedgerEvent,
} from '../ledger/index.js';
import { cursorToken, parseToken, pointToken, type LogPoint } from '../log/index.js';
import { deadLetterView, exportLog, type Ledger, type RebuildProgress } from '../runtime/index.js';
import { actorOf } from './actor.js';
import { routeInbound } from '../intake/index.js';
import { accessOf } from './access.js';
import { installErrorHandling } from './errors.js';
import { readinessOf } from './readiness.js';
import { installJsonBody } from './json-body.js';
import { capConnectionsPerClient, serverOptions } from './limits.js';
import { coerceQueryStrings } from './query.js';
import {
  AuditQuery,
  AuditReply,
  BatchBody,
  BatchQuery,
  BatchReply,
  CheckQuery,
  CheckReply,
  ClassifyBody,
  ClassifyReply,
  DeadLettersQuery,
  DeadLettersReply,
  ErrorBody,
  InboundBody,
  InboundReply,
  PhoneParams,
  RecordBody,
  RecordReply,
  ReviewBody,
  ReviewParams,
  ReviewReply,
  ReviewsQuery,
  ReviewsReply,
  RebuildReply,
  ReconcileBody,
  ReconcileReply,
  ReplayReply,
  ViewParams,
  ViewsReply,
} from './schemas.js';
import { twilioWebhook } from './twilio.js';

export type Role = 'intake' | 'gate' | 'projector';
export const ROLES: readonly Role[] = ['intake', 'gate', 'projector'];

export interface AppOptions {
  readonly logger?: FastifyServerOptions['logger'];
  /**
   * Which routes this process serves: intake (writes, reviews), gate (checks, audit), projector (the
   * system views and checks against them). Default all.
   */
  readonly roles?: readonly Role[];
}

const iso = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();
const errors = { 400: { $ref: 'Error#' }, 413: { $ref: 'Error#' } } as const;

/** The HTTP surface as a function of the ledger's ports; `server.ts` owns listening and signals. */
export async function buildApp(ledger: Ledger, options: AppOptions = {}): Promise<FastifyInstance> {
  const { config, gate, intake, metrics } = ledger;
  const roles = options.roles ?? ROLES;
  const app = Fastify({
    logger: options.logger ?? false,
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

  const phoneOf = memoisedPhoneParser(config.defaultRegion);
  const brandOf = (brand: string | undefined): string => brand ?? config.directory.defaultBrand;
  const positionOf = (token: string | undefined): readonly LogPoint[] | undefined =>
    token === undefined ? undefined : parseToken(token);

  if (roles.includes('intake')) {
    app.post(
      '/v1/events',
      {
        schema: {
          summary: 'Record an opt-out or opt-in from any source',
          body: RecordBody,
          response: { 200: RecordReply, 201: RecordReply, 409: { $ref: 'Error#' }, ...errors },
        },
      },
      async (request, reply) => {
        const body = request.body;
        if (body.type === 'opt_in') assertScope(request, 'consent:write', 'to record an opt-in');
        const brand = brandOf(body.brand);
        assertBrands(request, [brand]);
        const appended = await intake.record({
          type: body.type,
          phone: phoneOf(body.phone),
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

    app.post(
      '/v1/inbound/sms',
      {
        schema: {
          summary: 'A reply from a phone, from any SMS provider',
          body: InboundBody,
          response: { 200: InboundReply, 409: { $ref: 'Error#' }, ...errors },
        },
      },
      async (request) => {
        const body = request.body;
        if (request.principal !== undefined && request.principal.brands !== '*') {
          let to: E164 | undefined;
          try {
            to = phoneOf(body.to);
          } catch {
            // A short code or an unparsable number: routed by its text.
          }
          const named = {
            ...(body.brand !== undefined && { brand: body.brand }),
            ...(body.program !== undefined && { program: body.program }),
          };
          assertBrands(request, [routeInbound(config.directory, body.to, to, named).brand]);
        }
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

    await app.register(twilioWebhook, {
      intake,
      authToken: config.twilioAuthToken,
      publicUrl: config.publicUrl,
      keysConfigured: keyCount > 0,
    });

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
        const items = ledger.view
          .reviews(request.query.status ?? 'pending')
          .filter((item) => maySee(request, item.event.brand));
        const limit = request.query.limit ?? 100;
        return {
          total: items.length,
          reviews: items.slice(0, limit).map(({ partition, position, event, decision }) => ({
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
          })),
        };
      },
    );

    app.post(
      '/v1/reviews/:id',
      {
        schema: {
          summary: 'Confirm or dismiss a suspected opt-out; the decision is recorded on the log',
          params: ReviewParams,
          body: ReviewBody,
          response: {
            200: ReviewReply,
            201: ReviewReply,
            404: { $ref: 'Error#' },
            409: { $ref: 'Error#' },
            ...errors,
          },
        },
      },
      async (request, reply) => {
        const { decision, reviewer, note } = request.body;
        if (request.principal !== undefined && request.principal.brands !== '*') {
          const item = ledger.view.reviews('all').find((r) => r.event.eventId === request.params.id);
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
        const brand = brandOf(request.body.brand);
        assertBrands(request, [brand]);
        const { intent, confidence, matched, language } = intake.classify(request.body.text, brand);
        return { intent, confidence, matched, language };
      },
    );
  }

  const systemOf = (name: string) => {
    const system = ledger.systems.find((s) => s.view.name === name);
    if (system === undefined) {
      const names = ledger.systems.map((s) => s.view.name);
      throw new LedgerError(
        'not_found',
        `no view named ${name} in this process (${names.length === 0 ? 'it runs no system views' : `views: ${names.join(', ')}`}); GET /v1/views lists them`,
      );
    }
    return system;
  };

  const projectorOnly = () =>
    new LedgerError(
      'invalid_request',
      'this process runs the projector role only: name a view with ?system=, or ask a gate process',
    );
  let tokenVersion = -1;
  let token = '';
  /** The central view's cursor as a token, rebuilt only when the view has applied something. */
  const centralToken = (): string => {
    if (ledger.view.version !== tokenVersion) {
      token = cursorToken(ledger.view.cursor);
      tokenVersion = ledger.view.version;
    }
    return token;
  };
  /** A check that may wait: for the caller's own write (minPosition), or on a system view's store. */
  const checkWaiting = async (
    phone: E164,
    brand: string,
    program: string | undefined,
    min: readonly LogPoint[] | undefined,
    system: string | undefined,
  ) => {
    const query = {
      brand,
      ...(program !== undefined && { program }),
      ...(min !== undefined && { minPosition: min }),
    };
    if (system === undefined && !roles.includes('gate')) throw projectorOnly();
    const started = performance.now();
    const result = await (system === undefined ? gate : systemOf(system).gate).check(phone, query);
    if (system === undefined) metrics.observeCheck('single', (performance.now() - started) / 1000);
    return { ...result, since: iso(result.since), asOf: cursorToken(result.asOf) };
  };

  if (roles.includes('gate') || roles.includes('projector')) {
    app.get(
      '/v1/suppressions/:phone',
      {
        schema: {
          summary: 'May I send to this number?',
          params: PhoneParams,
          querystring: CheckQuery,
          response: { 200: CheckReply, 404: { $ref: 'Error#' }, ...errors },
        },
      },
      (request) => {
        const phone = phoneOf(request.params.phone);
        const { brand, program, minPosition, system } = request.query;
        assertBrands(request, [brandOf(brand)]);
        if (system !== undefined || minPosition !== undefined) {
          return checkWaiting(phone, brandOf(brand), program, positionOf(minPosition), system);
        }
        if (!roles.includes('gate')) throw projectorOnly();
        // The hot path: synchronous, no promise, the asOf token cached per view version.
        const started = performance.now();
        const result = gate.checkNow(phone, brandOf(brand), program);
        metrics.observeCheck('single', (performance.now() - started) / 1000);
        return {
          phone: result.phone,
          allowed: result.allowed,
          status: result.status,
          reason: result.reason,
          since: iso(result.since),
          eventId: result.eventId,
          asOf: centralToken(),
        };
      },
    );

    app.get(
      '/v1/audit/:phone',
      {
        schema: {
          summary: 'Every event of a number, with evidence and the effective state',
          params: PhoneParams,
          querystring: AuditQuery,
          response: { 200: AuditReply, ...errors },
        },
      },
      async (request) => {
        const phone = phoneOf(request.params.phone);
        const at = request.query.at === undefined ? undefined : Date.parse(request.query.at);
        if (ledger.history === undefined) {
          throw new LedgerError(
            'unavailable',
            'per-number audit on Kafka reads the per-phone projection in PostgreSQL: declare a postgres view in LEDGER_CONFIG_FILE and ask a process that runs it (role all or projector)',
          );
        }
        const report = await auditPhone(ledger.history, ledger.views, phone, at);
        return {
          phone: report.phone,
          at: iso(report.at),
          events: report.events.map((entry) => ({
            position: pointToken(entry),
            event: eventJson(entry.event),
            views: entry.views.map((v) => ({ ...v, appliedAt: iso(v.appliedAt) })),
          })),
          effective: report.effective.map((s) => ({ ...s, since: iso(s.since) })),
        };
      },
    );
  }

  if (roles.includes('gate') || roles.includes('projector')) {
    app.post(
      '/v1/suppressions/check',
      {
        // The body a full batch needs: LEDGER_BATCH_CHECK_MAX phones could not fit the general limit.
        bodyLimit: batchBodyLimit(config),
        schema: {
          summary: 'Check many numbers at once',
          querystring: BatchQuery,
          body: BatchBody,
          response: { 200: BatchReply, 404: { $ref: 'Error#' }, ...errors },
        },
      },
      async (request) => {
        const { phones, program, minPosition } = request.body;
        const { system: systemName } = request.query;
        const system = systemName === undefined ? undefined : systemOf(systemName);
        if (system === undefined && !roles.includes('gate')) throw projectorOnly();
        if (phones.length > config.batchCheckMax) {
          throw new LedgerError(
            'invalid_request',
            `phones has ${phones.length} items; at most ${config.batchCheckMax} per request`,
          );
        }
        assertBrands(request, [brandOf(request.body.brand)]);
        const min = positionOf(minPosition);
        const started = performance.now();
        // Invalid numbers get their own error in place; the rest are answered against one view state.
        const parsed = phones.map((raw) => {
          try {
            return phoneOf(raw);
          } catch (error) {
            return error instanceof LedgerError ? error : new LedgerError('invalid_phone', String(error));
          }
        });
        const valid = parsed.filter((p): p is E164 => typeof p === 'string');
        const query = {
          brand: brandOf(request.body.brand),
          ...(program !== undefined && { program }),
          ...(min !== undefined && { minPosition: min }),
        };
        const through = system === undefined ? undefined : await system.gate.statusMany(valid, query);
        const answers = through?.answers ?? (await gate.statusMany(valid, query));
        let next = 0;
        const results = parsed.map((p, i) => {
          if (p instanceof LedgerError) {
            return { phone: phones[i] ?? '', allowed: false, status: 'unknown' as const, error: p.code };
          }
          const answer = answers[next++];
          return { phone: p, allowed: answer?.allowed ?? false, status: answer?.status ?? 'unknown' };
        });
        if (through !== undefined) return { results, asOf: cursorToken(through.asOf) };
        metrics.observeCheck('batch', (performance.now() - started) / 1000, phones.length);
        return { results, asOf: centralToken() };
      },
    );
  }

  // The views this process runs: the central one for intake and gate, the system views for projector.
  const central = roles.includes('intake') || roles.includes('gate');
  const served = () => [
    ...(central ? ledger.runners.slice(0, 1) : []),
    ...(roles.includes('projector') ? ledger.systems.map((s) => s.runner) : []),
  ];
  app.get(
    '/v1/views',
    { schema: { summary: 'Each view: position, lag, health', response: { 200: ViewsReply } } },
    () => ({
      views: served().map((runner) => {
        const s = runner.status();
        return {
          name: s.name,
          kind: s.kind,
          position: cursorToken(s.position),
          head: cursorToken(s.head),
          lag: { events: s.lagEvents, ms: s.lagMs },
          ready: s.ready,
          healthy: s.healthy,
          ...(s.lastError !== undefined && { lastError: s.lastError }),
          ...(s.deadLetters !== undefined && { deadLetters: s.deadLetters }),
        };
      }),
    }),
  );

  if (roles.includes('projector')) {
    const rebuildJson = (p: RebuildProgress) => ({
      view: p.view,
      state: p.state,
      applied: p.applied,
      target: p.target,
      startedAt: iso(p.startedAt) ?? '',
      finishedAt: iso(p.finishedAt),
      eventsPerSecond: p.eventsPerSecond ?? null,
      error: p.error ?? null,
    });
    app.post(
      '/v1/views/:name/rebuild',
      {
        schema: {
          summary: 'Rebuild a view from the start of the log into a fresh store, then switch to it',
          params: ViewParams,
          response: { 202: RebuildReply, 404: { $ref: 'Error#' }, ...errors },
        },
      },
      (request, reply) => reply.code(202).send(rebuildJson(ledger.maintenance.rebuild(request.params.name))),
    );
    app.get(
      '/v1/views/:name/rebuild',
      {
        schema: {
          summary: "A rebuild's progress",
          params: ViewParams,
          response: { 200: RebuildReply, 404: { $ref: 'Error#' }, ...errors },
        },
      },
      (request) => {
        const progress = ledger.maintenance.progress(request.params.name);
        if (progress === undefined) {
          throw new LedgerError(
            'not_found',
            `view ${request.params.name} has not been rebuilt by this process`,
          );
        }
        return rebuildJson(progress);
      },
    );
    app.post(
      '/v1/reconcile',
      {
        schema: {
          summary: 'Compare every view with the fold of the log; repair what differs on request',
          body: ReconcileBody,
          response: { 200: ReconcileReply, 404: { $ref: 'Error#' }, ...errors },
        },
      },
      async (request) => {
        const reports = await ledger.maintenance.reconcile({
          ...(request.body.repair !== undefined && { repair: request.body.repair }),
          ...(request.body.view !== undefined && { view: request.body.view }),
        });
        return { views: reports.map((r) => ({ ...r, asOf: cursorToken(r.asOf) })) };
      },
    );
    app.get(
      '/v1/views/:name/deadletters',
      {
        schema: {
          summary: "A webhook view's dead letters: changes its receiver never accepted, oldest first",
          params: ViewParams,
          querystring: DeadLettersQuery,
          response: { 200: DeadLettersReply, 404: { $ref: 'Error#' }, ...errors },
        },
      },
      (request) => {
        const letters = deadLetterView(ledger.systems, request.params.name).deadLetters();
        return {
          view: request.params.name,
          pending: letters.length,
          phones: new Set(letters.map((l) => l.body?.phone)).size,
          deadLetters: letters.slice(0, request.query.limit ?? 1000).map((l) => ({
            idempotencyKey: l.idempotencyKey,
            at: l.at,
            attempts: l.attempts,
            status: l.status ?? null,
            lastError: l.lastError,
            phone: l.body?.phone ?? null,
            scope: l.body?.scope ?? null,
            superseded: l.superseded,
            change: l.body === null ? null : { ...l.body },
          })),
        };
      },
    );
    app.post(
      '/v1/views/:name/deadletters/replay',
      {
        schema: {
          summary:
            "Resend a webhook view's dead letters (original idempotency keys) after fixing the receiver",
          params: ViewParams,
          response: { 200: ReplayReply, 404: { $ref: 'Error#' }, 503: { $ref: 'Error#' }, ...errors },
        },
      },
      async (request) => {
        const report = await deadLetterView(ledger.systems, request.params.name).replayDeadLetters();
        return { ...report, stoppedEarly: report.stoppedEarly ?? null };
      },
    );
  }

  app.get(
    '/v1/export',
    {
      schema: {
        summary: 'The whole log as JSON Lines ({position, event} a line), as it stood when asked',
        produces: ['application/x-ndjson'],
      },
    },
    async (_request, reply) => {
      const { stream, records, head } = await exportLog(ledger.log);
      return reply
        .type('application/x-ndjson')
        .header('x-ledger-records', String(records))
        .header('x-ledger-head', cursorToken(head))
        .send(stream);
    },
  );

  app.get('/healthz', { schema: { hide: true } }, () => ({ status: 'ok' }));
  // Per role: 503 only when a role this process serves cannot do its core work (see readiness.ts).
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const readiness = await readinessOf(ledger, roles);
    if (readiness.status === 'unavailable') {
      return reply.code(503).send({ error: 'unavailable', ...readiness });
    }
    return readiness;
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  return app;
}

/** A phone as the batch body carries it: up to 64 characters (PhoneInput), quoted, with ", ". */
const BATCH_BYTES_PER_PHONE = 64 + 4;

/**
 * The batch check's body limit, derived from its maximum size: a batch of LEDGER_BATCH_CHECK_MAX
 * phones of any spelling the schema takes fits (never less than the general limit), so one more phone
 * is refused by count with a 400 that says the maximum, not by size.
 */
function batchBodyLimit(config: { bodyLimitBytes: number; batchCheckMax: number }): number {
  return Math.max(config.bodyLimitBytes, config.batchCheckMax * BATCH_BYTES_PER_PHONE + 4096);
}

/** Events as clients read them: times as ISO 8601. */
function eventJson(event: LedgerEvent): Record<string, unknown> {
  return {
    ...event,
    occurredAt: iso(event.occurredAt),
    recordedAt: iso(event.recordedAt),
    // Who recorded it; null for events written before the ledger recorded actors (schema v1/v2).
    actor: event.evidence.actor ?? null,
  };
}
