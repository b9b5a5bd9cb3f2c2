import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { auditPhone, type ViewProgress } from '../../audit/index.js';
import { LedgerError } from '../../ledger/index.js';
import { pointToken, type PhoneHistorySource } from '../../log/index.js';
import { AuditQuery, AuditReply, PhoneParams } from '../schemas/index.js';
import { errors, eventJson, iso, type RequestNames } from './common.js';

export interface AuditOptions {
  readonly names: RequestNames;
  /** Every event of a phone; undefined where this process has no per-phone source (see the refusal). */
  readonly history: PhoneHistorySource | undefined;
  /** Which views have applied each event, and when. */
  readonly views: readonly ViewProgress[];
}

const NO_HISTORY =
  'per-number audit on Kafka reads the per-phone projection in PostgreSQL: declare a postgres view in LEDGER_CONFIG_FILE and ask a process that runs it (role all or projector)';

/** GET /v1/audit/:phone: every event of a number, with its evidence, and the effective state. */
export const auditRoutes: FastifyPluginCallbackTypebox<AuditOptions> = (app, options, done) => {
  const { names, history, views } = options;
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
      const phone = names.phoneOf(request.params.phone);
      const at = request.query.at === undefined ? undefined : Date.parse(request.query.at);
      if (history === undefined) throw new LedgerError('unavailable', NO_HISTORY);
      const report = await auditPhone(history, views, phone, at);
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
  done();
};
