import { createHmac, timingSafeEqual } from 'node:crypto';
import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Intake, ProviderIntent } from '../intake/index.js';
import { LedgerError } from '../ledger/index.js';
import { actorOf } from './actor.js';
import { TwilioBody } from './schemas/index.js';

export interface TwilioWebhookOptions {
  readonly intake: Intake;
  /** Checks X-Twilio-Signature when set; unsigned requests are accepted when not. */
  readonly authToken: string | undefined;
  /** The base URL Twilio calls, when a proxy in front changes it; taken from the request otherwise. */
  readonly publicUrl: string | undefined;
  /**
   * API keys are configured: the ledger is meant to be reachable by others, so an unsigned request is
   * never accepted, and without a token the route refuses everything.
   */
  readonly keysConfigured?: boolean;
}

/** Form parameters as a form-urlencoded parser yields them: a repeated name gives a list. */
export type FormParams = Readonly<Record<string, string | readonly string[]>>;

const FORM = 'application/x-www-form-urlencoded';
const TWIML = 'text/xml; charset=utf-8';
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/** Twilio's OptOutType: the keyword Twilio acted on, and answered, before calling us. */
const OPT_OUT_TYPES: ReadonlyMap<string, ProviderIntent> = new Map([
  ['STOP', 'opt_out'],
  ['START', 'opt_in'],
  ['HELP', 'help'],
]);

/**
 * X-Twilio-Signature: base64 HMAC-SHA1, keyed by the auth token, of the URL Twilio called followed by
 * every POST parameter's name and value, sorted by name. A repeated name contributes each distinct value
 * once, in sorted order, as Twilio's own helper library computes it.
 */
export function twilioSignature(authToken: string, url: string, params: FormParams): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name] ?? '';
    const values = typeof value === 'string' ? [value] : [...new Set(value)].sort();
    for (const v of values) data += name + v;
  }
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/**
 * Whether `signature` is Twilio's for this request. Twilio signs the URL as configured, which may or may
 * not spell out the scheme's default port: both spellings are accepted.
 */
export function isTwilioSignatureValid(
  authToken: string,
  signature: string,
  url: string,
  params: FormParams,
): boolean {
  const given = Buffer.from(signature);
  return portSpellings(url).some((candidate) => {
    const expected = Buffer.from(twilioSignature(authToken, candidate, params));
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/** The URL without its port, and with the scheme's default port when it names none. */
function portSpellings(url: string): string[] {
  const match = /^(https?:\/\/)([^/?#]*?)(:\d+)?([/?#].*)?$/i.exec(url);
  if (match === null) return [url];
  const [, scheme = '', host = '', port, rest = ''] = match;
  const defaultPort = scheme.toLowerCase() === 'https://' ? ':443' : ':80';
  return [scheme + host + rest, scheme + host + (port ?? defaultPort) + rest];
}

/** A TwiML answer: the reply as one message, or an empty response (send nothing). */
export function twiml(message: string | null): string {
  return message === null
    ? `${XML_DECLARATION}<Response/>`
    : `${XML_DECLARATION}<Response><Message>${escapeXml(message)}</Message></Response>`;
}

// Characters XML 1.0 cannot carry at all, even escaped: dropped rather than sent as a broken document.
const NOT_XML_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const XML_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

export function escapeXml(text: string): string {
  return text.replace(NOT_XML_CHAR, '').replace(/[&<>"']/g, (c) => XML_ENTITIES[c] ?? c);
}

/** The body as parsed, reduced to what is signed: string values, or lists of them. */
function formParams(body: unknown): FormParams {
  const params: Record<string, string | string[]> = {};
  if (typeof body !== 'object' || body === null) return params;
  const entries: [string, unknown][] = Object.entries(body);
  for (const [name, value] of entries) {
    if (typeof value === 'string') params[name] = value;
    else if (Array.isArray(value)) params[name] = value.filter((v): v is string => typeof v === 'string');
  }
  return params;
}

function calledUrl(request: FastifyRequest, publicUrl: string | undefined): string {
  return `${publicUrl ?? `${request.protocol}://${request.host}`}${request.originalUrl}`;
}

function signatureProblem(
  request: FastifyRequest,
  authToken: string | undefined,
  publicUrl: string | undefined,
  keysConfigured: boolean,
): LedgerError | undefined {
  if (authToken === undefined) {
    if (keysConfigured) {
      return new LedgerError(
        'forbidden',
        "this ledger has API keys but no TWILIO_AUTH_TOKEN: set it so Twilio's signature can be checked; until then this route refuses every request",
      );
    }
    // No keys, no token: a local try-out. A browser page must still not record consent through the
    // user's browser (a cross-site form POST needs no preflight), and browsers say where a POST came from.
    const site = request.headers['sec-fetch-site'];
    if (request.headers.origin !== undefined || (site !== undefined && site !== 'none')) {
      return new LedgerError(
        'forbidden',
        'a browser request (Origin or Sec-Fetch-Site) is refused: without TWILIO_AUTH_TOKEN only non-browser callers may use this route',
      );
    }
    return undefined;
  }
  const signature = request.headers['x-twilio-signature'];
  if (typeof signature !== 'string' || signature === '') {
    return new LedgerError('forbidden', 'X-Twilio-Signature is missing: only Twilio may call this route');
  }
  const url = calledUrl(request, publicUrl);
  if (isTwilioSignatureValid(authToken, signature, url, formParams(request.body))) {
    request.actor = 'twilio';
    return undefined;
  }
  return new LedgerError(
    'forbidden',
    `X-Twilio-Signature does not match a request to ${url}: check TWILIO_AUTH_TOKEN, and set LEDGER_PUBLIC_URL when a proxy in front changes the URL`,
  );
}

/**
 * POST /v1/inbound/twilio: Twilio's inbound-message webhook, answered in TwiML. A plugin of its own so
 * that form bodies are parsed here only; every other route stays JSON-only.
 */
export const twilioWebhook: FastifyPluginAsyncTypebox<TwilioWebhookOptions> = async (
  scope,
  { intake, authToken, publicUrl, keysConfigured = false },
) => {
  await scope.register(formbody);
  scope.removeContentTypeParser('application/json');
  if (authToken === undefined && keysConfigured) {
    scope.log.warn(
      'TWILIO_AUTH_TOKEN is not set and API keys are configured: POST /v1/inbound/twilio refuses every request (403) until it is set',
    );
  } else if (authToken === undefined) {
    scope.log.warn(
      'TWILIO_AUTH_TOKEN is not set: POST /v1/inbound/twilio accepts unsigned requests, except from browsers',
    );
  }

  scope.post(
    '/v1/inbound/twilio',
    {
      config: { bodyMediaType: FORM },
      schema: {
        summary: "Twilio's inbound-message webhook (form-encoded); answers TwiML",
        consumes: [FORM],
        body: TwilioBody,
        response: {
          200: { description: 'TwiML', content: { 'text/xml': { schema: { type: 'string' } } } },
          400: { $ref: 'Error#' },
          403: { $ref: 'Error#' },
          409: { $ref: 'Error#' },
          413: { $ref: 'Error#' },
          415: { $ref: 'Error#' },
        },
      },
      // Before validation: a caller who cannot sign learns nothing about what the body should hold.
      preValidation: (request, _reply, done) =>
        done(signatureProblem(request, authToken, publicUrl, keysConfigured)),
    },
    async (request, reply) => {
      const { From, To, Body, MessageSid, OptOutType } = request.body;
      const acted = OptOutType === undefined ? undefined : OPT_OUT_TYPES.get(OptOutType.toUpperCase());
      if (OptOutType !== undefined && acted === undefined) {
        request.log.warn({ OptOutType }, 'unknown Twilio OptOutType; the message is classified instead');
      }
      const result = await intake.inbound({
        from: From,
        to: To,
        body: Body,
        ...(MessageSid !== undefined && { messageId: MessageSid }),
        sourceSystem: 'twilio',
        // A checked signature vouches for Twilio; without a token configured, only the caller's key does.
        actor: authToken === undefined ? actorOf(request) : 'twilio',
        // Twilio answered the person already: record what it did, and send nothing of our own.
        ...(acted !== undefined && { providerIntent: acted, providerHandled: true }),
      });
      return reply.type(TWIML).send(twiml(result.reply));
    },
  );
};
