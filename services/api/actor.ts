import type { FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, set by the authentication hook: the API key id. Unset when no keys are configured. */
    actor?: string;
  }
}

/**
 * Who records what this request writes: the server decides it, never the caller's body (docs/design.md §9).
 * Without keys configured the ledger listens on loopback only, so the writer is `local`.
 */
export function actorOf(request: FastifyRequest): string {
  return request.actor ?? 'local';
}
