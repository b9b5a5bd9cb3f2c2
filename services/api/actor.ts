import type { FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, set by the authentication hook: the API key id. Unset when no keys are configured. */
    actor?: string;
  }
}

/** The header the `ledger` command sends with the operating-system user running it. */
export const CLI_USER_HEADER = 'x-ledger-cli-user';
const CLI_USER = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Who records what this request writes: the server decides it, never the caller's body (docs/design.md §9).
 * With keys it is the key id. Without keys the ledger listens on loopback only and the writer is `local`,
 * or `cli:<user>` when the `ledger` command names the local user running it — a name every loopback
 * caller is trusted to give, as it is trusted to write at all; give each operator a key where that is
 * not enough.
 */
export function actorOf(request: FastifyRequest): string {
  if (request.actor !== undefined) return request.actor;
  const user = request.headers[CLI_USER_HEADER];
  return typeof user === 'string' && CLI_USER.test(user) ? `cli:${user}` : 'local';
}
