import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { LedgerError } from '../../ledger/index.js';
import { cursorToken } from '../../log/index.js';
import type { ProjectorStatus, WebhookView } from '../../projector/index.js';
import type { Maintenance, RebuildProgress } from '../../views/index.js';
import {
  DeadLettersQuery,
  DeadLettersReply,
  RebuildReply,
  ReconcileBody,
  ReconcileReply,
  ReplayReply,
  ViewParams,
  ViewsReply,
} from '../schemas/index.js';
import { errors, iso, notFound } from './common.js';

export interface ViewsOptions {
  /** The runners of the views this process serves: the central one, the system views, or both. */
  readonly served: () => readonly { status(): ProjectorStatus }[];
}

/** GET /v1/views: each view this process runs, with its position, lag and health. */
export const viewRoutes: FastifyPluginCallbackTypebox<ViewsOptions> = (app, { served }, done) => {
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
  done();
};

export interface MaintenanceOptions {
  readonly maintenance: Pick<Maintenance, 'rebuild' | 'progress' | 'reconcile'>;
}

export interface DeadLetterOptions {
  /** The webhook view `name` run by this process; throws not_found or invalid_request otherwise. */
  readonly deadLetterView: (name: string) => Pick<WebhookView, 'deadLetters' | 'replayDeadLetters'>;
}

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

/** Rebuild and reconcile of the system views: the projector role's repairs. */
export const maintenanceRoutes: FastifyPluginCallbackTypebox<MaintenanceOptions> = (
  app,
  { maintenance },
  done,
) => {
  app.post(
    '/v1/views/:name/rebuild',
    {
      schema: {
        summary: 'Rebuild a view from the start of the log into a fresh store, then switch to it',
        params: ViewParams,
        response: { 202: RebuildReply, ...notFound, ...errors },
      },
    },
    (request, reply) => reply.code(202).send(rebuildJson(maintenance.rebuild(request.params.name))),
  );
  app.get(
    '/v1/views/:name/rebuild',
    {
      schema: {
        summary: "A rebuild's progress",
        params: ViewParams,
        response: { 200: RebuildReply, ...notFound, ...errors },
      },
    },
    (request) => {
      const progress = maintenance.progress(request.params.name);
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
        response: { 200: ReconcileReply, ...notFound, ...errors },
      },
    },
    async (request) => {
      const reports = await maintenance.reconcile({
        ...(request.body.repair !== undefined && { repair: request.body.repair }),
        ...(request.body.view !== undefined && { view: request.body.view }),
      });
      return { views: reports.map((r) => ({ ...r, asOf: cursorToken(r.asOf) })) };
    },
  );
  done();
};

/** A webhook view's dead letters: listed, and resent once its receiver is fixed. */
export const deadLetterRoutes: FastifyPluginCallbackTypebox<DeadLetterOptions> = (
  app,
  { deadLetterView },
  done,
) => {
  app.get(
    '/v1/views/:name/deadletters',
    {
      schema: {
        summary: "A webhook view's dead letters: changes its receiver never accepted, oldest first",
        params: ViewParams,
        querystring: DeadLettersQuery,
        response: { 200: DeadLettersReply, ...notFound, ...errors },
      },
    },
    (request) => {
      const letters = deadLetterView(request.params.name).deadLetters();
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
        summary: "Resend a webhook view's dead letters (original idempotency keys) after fixing the receiver",
        params: ViewParams,
        response: { 200: ReplayReply, ...notFound, 503: { $ref: 'Error#' }, ...errors },
      },
    },
    async (request) => {
      const report = await deadLetterView(request.params.name).replayDeadLetters();
      return { ...report, stoppedEarly: report.stoppedEarly ?? null };
    },
  );
  done();
};
