import Fastify from 'fastify';

/**
 * The reference of the HTTP figures: fastify with one route per figure, answering a body of the size
 * and shape ours has without doing the work (constant JSON for a check and a record; the batch route
 * parses the phones and answers each with a constant status). What fastify itself costs on this
 * machine, in this run.
 */
const CHECK = {
  phone: '+12012000001',
  allowed: false,
  status: 'opted_out',
  reason: 'opted out at brand:acme (event 00000000-0000-4000-8000-000000000001)',
  since: '2026-01-01T00:00:00.000Z',
  eventId: '00000000-0000-4000-8000-000000000001',
  asOf: '0:10000',
};
const RECORDED = {
  eventId: '00000000-0000-4000-8000-000000000001',
  phone: '+12012000001',
  position: '0:1',
  recordedAt: '2026-01-01T00:00:00.000Z',
  duplicate: false,
};

const app = Fastify({ logger: false });
app.get('/v1/suppressions/:phone', () => CHECK);
app.post('/v1/events', (_request, reply) => reply.code(201).send(RECORDED));
// The batch check without the checks: parse the same body, answer the same shape and size.
app.post<{ Body: { phones: string[] } }>('/v1/suppressions/check', (request) => ({
  results: request.body.phones.map((phone) => ({ phone, allowed: true, status: 'no_record' })),
  asOf: '0:10000',
}));
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`reference listening on ${url}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
