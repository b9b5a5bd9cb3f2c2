import type { FastifyError, FastifyInstance } from 'fastify';
import { LedgerError, type ErrorCode } from '../ledger/index.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The body a route takes, when not JSON: named in its 415 answer. */
    readonly bodyMediaType?: string;
  }
}

const STATUS: Readonly<Record<ErrorCode, number>> = {
  invalid_phone: 400,
  invalid_request: 400,
  invalid_scope: 400,
  consent_evidence_required: 400,
  invalid_config: 500,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  event_id_conflict: 409,
  review_decided: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  undecodable_record: 500,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

/**
 * What a 503 tells the caller: the same request may succeed in a moment (a leader moved, a broker back,
 * a full disk freed), so retry it, not give up — an opt-out refused this way is not recorded until it
 * is retried.
 */
export const RETRY_AFTER_SECONDS = 1;

/** Fastify's own client errors, mapped onto our stable codes. */
const FASTIFY_CODES: Readonly<Record<string, { code: ErrorCode; message?: string }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: 'payload_too_large',
    message: 'the request body is larger than allowed',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'invalid_request',
    message: 'Content-Length does not match the body',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'invalid_request', message: 'the JSON body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'invalid_request', message: 'the body is not valid JSON' },
};

/** One error shape for every failure: `{error, message}`; internals never leak in a 5xx body. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | LedgerError, request, reply) => {
    if (error instanceof LedgerError) {
      const status = STATUS[error.code];
      if (status >= 500) request.log.error({ err: error }, 'request failed');
      if (error.code === 'unavailable') void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      return reply.code(status).send({ error: error.code, message: error.message });
    }
    if (error.validation) {
      const context = error.validationContext ?? 'request';
      return reply
        .code(400)
        .send({ error: 'invalid_request', message: `${context}: ${describeValidation(error)}` });
    }
    const known = FASTIFY_CODES[error.code];
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      const mediaType = request.routeOptions.config.bodyMediaType ?? 'application/json';
      return reply
        .code(STATUS.unsupported_media_type)
        .send({ error: 'unsupported_media_type', message: `send the body as ${mediaType}` });
    }
    if (known !== undefined || (error instanceof SyntaxError && error.statusCode === 400)) {
      const code = known?.code ?? 'invalid_request';
      return reply
        .code(STATUS[code])
        .send({ error: code, message: known?.message ?? 'the body is not valid JSON' });
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ error: 'invalid_request', message: error.message });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({
      error: 'internal',
      message: `internal error; the server log has the details (request ${request.id})`,
    });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
}

function describeValidation(error: FastifyError): string {
  const first = error.validation?.[0];
  if (first === undefined) return error.message;
  const path = first.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const params = first.params;
  if (first.keyword === 'additionalProperties') {
    // The full path (evidence.actor, not actor): the caller sees which object to fix.
    const field = [path, String(params.additionalProperty)].filter((part) => part !== '').join('.');
    return `unknown field "${field}"`;
  }
  if (first.keyword === 'required') return `${String(params.missingProperty)} is required`;
  if (first.keyword === 'enum') {
    return `${path || 'value'} must be one of ${(params.allowedValues as string[]).join(', ')}`;
  }
  return `${path || 'value'} ${first.message ?? 'is invalid'}`;
}
