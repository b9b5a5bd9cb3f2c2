import type { Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpLimits } from '../config/index.js';

/**
 * Fastify's server options for the limits: without them a client that trickles its body (or its
 * headers) holds a connection forever. Node checks the request and headers timeouts on a timer, every
 * `connectionsCheckingInterval`; a quarter of the shorter one bounds how late a slow client is cut off.
 * All of this is per connection or per timer tick: a request does no extra work.
 */
export function serverOptions(limits: HttpLimits): {
  requestTimeout: number;
  connectionTimeout: number;
  keepAliveTimeout: number;
  http: ServerOptions;
} {
  return {
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: Math.max(
        50,
        Math.min(30_000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4)),
      ),
    },
  };
}

/**
 * At most `max` open connections per remote address (0: no cap); one more is answered 503 and closed.
 * Counted when a connection opens and closes, never per request.
 */
export function capConnectionsPerClient(server: Server, max: number): void {
  if (max === 0) return;
  const open = new Map<string, number>();
  const refusal = JSON.stringify({
    error: 'unavailable',
    message: `this client already holds ${max} connections, the most allowed (LEDGER_MAX_CONNECTIONS_PER_CLIENT): reuse them with keep-alive`,
  });
  const response = [
    'HTTP/1.1 503 Service Unavailable',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(refusal)}`,
    'Retry-After: 1',
    'Connection: close',
    '',
    refusal,
  ].join('\r\n');
  server.on('connection', (socket: Socket) => {
    const client = socket.remoteAddress ?? '';
    const count = (open.get(client) ?? 0) + 1;
    if (count > max) {
      socket.end(response, () => socket.destroy());
      return;
    }
    open.set(client, count);
    socket.once('close', () => {
      const left = (open.get(client) ?? 1) - 1;
      if (left === 0) open.delete(client);
      else open.set(client, left);
    });
  });
}
