import Fastify from 'fastify';
import { LedgerError } from '../ledger/index.js';
import { installErrorHandling, RETRY_AFTER_SECONDS } from './errors.js';

/** A bare app with our error handling and one route that throws what it is given. */
async function throwing(error: unknown) {
  const app = Fastify();
  installErrorHandling(app);
  app.get('/boom', () => {
    throw error;
  });
  await app.ready();
  return app;
}

describe('an error the caller may retry', () => {
  it('any LedgerError `unavailable` (a full disk, Kafka down) answers 503 with Retry-After and {error, message}', async () => {
    const app = await throwing(
      new LedgerError('unavailable', 'the event log cannot write (the disk is full)'),
    );
    const response = await app.inject({ method: 'GET', url: '/boom' });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
    expect(response.json()).toEqual({
      error: 'unavailable',
      message: 'the event log cannot write (the disk is full)',
    });
    await app.close();
  });

  it('a 500 carries no Retry-After: retrying a bug does not help', async () => {
    const app = await throwing(new Error('a bug'));
    const response = await app.inject({ method: 'GET', url: '/boom' });
    expect(response.statusCode).toBe(500);
    expect(response.headers['retry-after']).toBeUndefined();
    expect(response.json()).toMatchObject({ error: 'internal' });
    await app.close();
  });
});
