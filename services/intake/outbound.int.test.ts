import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { E164 } from '../ledger/index.js';
import { GatewayError, HttpGateway, type HttpGatewayOptions, type OutboundMessage } from './outbound.js';

interface Answer {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** An SMS provider on 127.0.0.1 answering the n-th POST as `answer` says; records when each came. */
class Provider {
  readonly received: { at: number; key: string | undefined }[] = [];
  answer: (index: number) => Answer = () => ({ status: 200 });
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const answer = this.answer(this.received.length);
        const key = request.headers['idempotency-key'];
        this.received.push({ at: Date.now(), key: typeof key === 'string' ? key : undefined });
        response.writeHead(answer.status, answer.headers).end(answer.body ?? '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/send`;
    this.server = server;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

const MESSAGE: OutboundMessage = {
  to: '+14155550100' as E164,
  from: undefined,
  brand: 'acme',
  text: 'You are unsubscribed.',
  idempotencyKey: 'confirm-1',
};

async function gatewayError(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a GatewayError');
}

describe('HttpGateway (confirmation texts): the shared sender and retry policy', () => {
  let provider: Provider;
  const gateways: HttpGateway[] = [];
  const gateway = (options: Partial<HttpGatewayOptions> = {}): HttpGateway => {
    const made = new HttpGateway({ url: provider.url, initialBackoffMs: 5, maxBackoffMs: 20, ...options });
    gateways.push(made);
    return made;
  };

  beforeEach(async () => {
    provider = new Provider();
    await provider.start();
  });
  afterEach(async () => {
    for (const made of gateways.splice(0)) made.close();
    await provider.stop();
  });

  it('retries 503s with the same idempotency key and reports the attempts and the provider id', async () => {
    provider.answer = (i) => (i < 2 ? { status: 503 } : { status: 201, body: '{"sid":"SM123"}' });
    await expect(gateway().send(MESSAGE)).resolves.toEqual({
      status: 201,
      attempts: 3,
      providerId: 'SM123',
    });
    expect(provider.received.map((r) => r.key)).toEqual(['confirm-1', 'confirm-1', 'confirm-1']);
  });

  it('a 4xx refusal is final at once, with its status and the start of the answer', async () => {
    provider.answer = () => ({ status: 400, body: '{"error":"bad number"}' });
    const error = await gatewayError(gateway().send(MESSAGE));
    expect([error.attempts, error.status]).toEqual([1, 400]);
    expect(error.message).toBe('the gateway refused the message: HTTP 400: {"error":"bad number"}');
    expect(provider.received).toHaveLength(1);
  });

  it('honours a Retry-After given as an HTTP-date (no longer only as seconds)', async () => {
    const inOneSecond = new Date(Date.now() + 1_000).toUTCString();
    provider.answer = (i) =>
      i === 0 ? { status: 429, headers: { 'retry-after': inOneSecond } } : { status: 200 };
    await gateway({ maxBackoffMs: 5_000 }).send(MESSAGE);
    const [first, second] = provider.received;
    // toUTCString drops the milliseconds: the date may be up to a second nearer than asked.
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(50);
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeLessThan(2_500);
  });

  it('waits out a Retry-After in seconds in full, not jittered below it', async () => {
    provider.answer = (i) => (i === 0 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 });
    await gateway({ maxBackoffMs: 5_000 }).send(MESSAGE);
    const [first, second] = provider.received;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('gives up at the deadline with the last failure', async () => {
    provider.answer = () => ({ status: 503 });
    const error = await gatewayError(gateway({ deadlineMs: 100 }).send(MESSAGE));
    expect(error.message).toBe('the gateway did not accept the message before the deadline: HTTP 503');
    expect(error.status).toBe(503);
    expect(error.attempts).toBe(provider.received.length);
    expect(error.attempts).toBeGreaterThan(1);
  });

  it('retries when nothing listens (connection refused), naming the reason', async () => {
    const closed = provider.url;
    await provider.stop();
    const error = await gatewayError(gateway({ url: closed, deadlineMs: 60 }).send(MESSAGE));
    expect(error.message).toMatch(/before the deadline: fetch failed: .*ECONNREFUSED/);
    expect(error.attempts).toBeGreaterThan(1);
    provider = new Provider();
    await provider.start();
  });

  it('close() ends a long backoff at once', async () => {
    provider.answer = () => ({ status: 503, headers: { 'retry-after': '30' } });
    const sender = gateway({ maxBackoffMs: 30_000 });
    const sending = gatewayError(sender.send(MESSAGE));
    while (provider.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const started = Date.now();
    sender.close();
    const error = await sending;
    expect(error.message).toBe('the gateway was closed while sending');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
