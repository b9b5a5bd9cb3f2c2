import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { assertBrands } from '../../access/index.js';
import type { CheckQuery, CheckStatus, Gate, SystemGate } from '../../gate/index.js';
import { LedgerError, type E164 } from '../../ledger/index.js';
import { cursorToken, type Cursor } from '../../log/index.js';
import type { Metrics } from '../../telemetry/index.js';
import {
  BatchBody,
  BatchQuery,
  BatchReply,
  CheckQuery as CheckQuerySchema,
  CheckReply,
  PhoneParams,
} from '../schemas/index.js';
import { errors, iso, notFound, positionOf, type RequestNames } from './common.js';

/** The central view's gate, and the view's cursor for the asOf token. */
export interface CentralChecks {
  readonly gate: Pick<Gate, 'check' | 'checkNow' | 'statusMany'>;
  /** `version` changes whenever the view applies something: the token is rebuilt only then. */
  readonly view: { readonly version: number; readonly cursor: Cursor };
}

export interface ChecksOptions {
  readonly names: RequestNames;
  /** Undefined in a process that runs the projector role only: checks must then name a system view. */
  readonly central: CentralChecks | undefined;
  /** The gate of the system view `name` this process runs; throws not_found for any other name. */
  readonly systemGate: (name: string) => Pick<SystemGate, 'check' | 'statusMany'>;
  readonly observeCheck: Metrics['observeCheck'];
  readonly bodyLimitBytes: number;
  readonly batchCheckMax: number;
}

/** A phone as the batch body carries it: up to 64 characters (PhoneInput), quoted, with ", ". */
const BATCH_BYTES_PER_PHONE = 64 + 4;

/**
 * The batch check's body limit, derived from its maximum size: a batch of LEDGER_BATCH_CHECK_MAX
 * phones of any spelling the schema takes fits (never less than the general limit), so one more phone
 * is refused by count with a 400 that says the maximum, not by size.
 */
export function batchBodyLimit(config: { bodyLimitBytes: number; batchCheckMax: number }): number {
  return Math.max(config.bodyLimitBytes, config.batchCheckMax * BATCH_BYTES_PER_PHONE + 4096);
}

const projectorOnly = () =>
  new LedgerError(
    'invalid_request',
    'this process runs the projector role only: name a view with ?system=, or ask a gate process',
  );

/** The central gate, or the refusal a projector-only process gives for a check that names no view. */
function centralOf(central: CentralChecks | undefined): CentralChecks {
  if (central === undefined) throw projectorOnly();
  return central;
}

/** The central view's cursor as a token, rebuilt only when the view has applied something. */
function cachedToken(view: CentralChecks['view'] | undefined): () => string {
  let version = -1;
  let token = '';
  return () => {
    if (view === undefined) return '';
    if (view.version !== version) {
      token = cursorToken(view.cursor);
      version = view.version;
    }
    return token;
  };
}

type App = Parameters<FastifyPluginCallbackTypebox<ChecksOptions>>[0];

/** GET /v1/suppressions/:phone and POST /v1/suppressions/check: may I send? */
export const checkRoutes: FastifyPluginCallbackTypebox<ChecksOptions> = (app, options, done) => {
  const centralToken = cachedToken(options.central?.view);
  singleCheck(app, options, centralToken);
  batchCheck(app, options, centralToken);
  done();
};

/** The single check: synchronous on the central view, or waiting (minPosition, a system view). */
function singleCheck(app: App, options: ChecksOptions, centralToken: () => string): void {
  const { names, central, systemGate, observeCheck } = options;
  /** A check that may wait: for the caller's own write (minPosition), or on a system view's store. */
  const checkWaiting = async (phone: E164, query: CheckQuery, system: string | undefined) => {
    const gate = system === undefined ? centralOf(central).gate : systemGate(system);
    const started = performance.now();
    const result = await gate.check(phone, query);
    if (system === undefined) observeCheck('single', (performance.now() - started) / 1000);
    return { ...result, since: iso(result.since), asOf: cursorToken(result.asOf) };
  };

  app.get(
    '/v1/suppressions/:phone',
    {
      schema: {
        summary: 'May I send to this number?',
        params: PhoneParams,
        querystring: CheckQuerySchema,
        response: { 200: CheckReply, ...notFound, ...errors },
      },
    },
    (request) => {
      const phone = names.phoneOf(request.params.phone);
      const { program, minPosition, system } = request.query;
      const brand = names.brandOf(request.query.brand);
      assertBrands(request, [brand]);
      if (system !== undefined || minPosition !== undefined) {
        const min = positionOf(minPosition);
        const query = {
          brand,
          ...(program !== undefined && { program }),
          ...(min !== undefined && { minPosition: min }),
        };
        return checkWaiting(phone, query, system);
      }
      const { gate } = centralOf(central);
      // The hot path: synchronous, no promise, the asOf token cached per view version.
      const started = performance.now();
      const result = gate.checkNow(phone, brand, program);
      observeCheck('single', (performance.now() - started) / 1000);
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
}

/** The batch check: many phones against one view state. */
function batchCheck(app: App, options: ChecksOptions, centralToken: () => string): void {
  const { names, central, systemGate, observeCheck } = options;
  app.post(
    '/v1/suppressions/check',
    {
      // The body a full batch needs: LEDGER_BATCH_CHECK_MAX phones could not fit the general limit.
      bodyLimit: batchBodyLimit(options),
      schema: {
        summary: 'Check many numbers at once',
        querystring: BatchQuery,
        body: BatchBody,
        response: { 200: BatchReply, ...notFound, ...errors },
      },
    },
    async (request) => {
      const { phones, program, minPosition } = request.body;
      const { system: systemName } = request.query;
      const system = systemName === undefined ? undefined : systemGate(systemName);
      const gate = system === undefined ? centralOf(central).gate : undefined;
      if (phones.length > options.batchCheckMax) {
        throw new LedgerError(
          'invalid_request',
          `phones has ${phones.length} items; at most ${options.batchCheckMax} per request`,
        );
      }
      const brand = names.brandOf(request.body.brand);
      assertBrands(request, [brand]);
      const min = positionOf(minPosition);
      const started = performance.now();
      const parsed = parsePhones(phones, names);
      const valid = parsed.filter((p): p is E164 => typeof p === 'string');
      const query = {
        brand,
        ...(program !== undefined && { program }),
        ...(min !== undefined && { minPosition: min }),
      };
      const through = system === undefined ? undefined : await system.statusMany(valid, query);
      const answers = through?.answers ?? (await gate?.statusMany(valid, query)) ?? [];
      const results = batchResults(phones, parsed, answers);
      if (through !== undefined) return { results, asOf: cursorToken(through.asOf) };
      observeCheck('batch', (performance.now() - started) / 1000, phones.length);
      return { results, asOf: centralToken() };
    },
  );
}

/** Invalid numbers get their own error in place; the rest are answered against one view state. */
function parsePhones(phones: readonly string[], names: RequestNames): (E164 | LedgerError)[] {
  return phones.map((raw) => {
    try {
      return names.phoneOf(raw);
    } catch (error) {
      return error instanceof LedgerError ? error : new LedgerError('invalid_phone', String(error));
    }
  });
}

/** Each phone's answer in the order asked, the invalid ones with their error and unknown. */
function batchResults(
  phones: readonly string[],
  parsed: readonly (E164 | LedgerError)[],
  answers: readonly { readonly allowed: boolean; readonly status: CheckStatus }[],
) {
  let next = 0;
  return parsed.map((p, i) => {
    if (p instanceof LedgerError) {
      return { phone: phones[i] ?? '', allowed: false, status: 'unknown' as const, error: p.code };
    }
    const answer = answers[next++];
    return { phone: p, allowed: answer?.allowed ?? false, status: answer?.status ?? 'unknown' };
  });
}
