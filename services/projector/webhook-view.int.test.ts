import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  asPosition,
  foldHistory,
  START,
  type E164,
  type LedgerEvent,
  type Position,
} from '../ledger/index.js';
import { EmbeddedEventLog, type LogPoint } from '../log/index.js';
import { ProjectorRunner, type ScopeRow } from './index.js';
import {
  WebhookView,
  type DeadLetter,
  type WebhookAttemptError,
  type WebhookChange,
  type WebhookViewOptions,
} from './webhook-view.js';
import { caught } from '../../test/support/caught.js';
import { eventually } from '../../test/support/eventually.js';
import { freshDir, phoneNo } from '../../test/support/event-log-contract.js';
import { confirmation, optIn, optOut, PHONE, reviewed, suspected, T0 } from '../../test/support/given.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';

interface Answer {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

interface Received {
  readonly key: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: WebhookChange;
  /** When the request arrived (epoch ms). */
  readonly at: number;
  /** What the receiver answered; undefined while it hangs. */
  status?: number;
}

/**
 * A CRM endpoint on 127.0.0.1 that records every POST and answers as `answer` says (by default 200);
 * 'hang' never answers, so the caller times out.
 */
class Receiver {
  readonly requests: Received[] = [];
  answer: (request: Received, index: number) => Answer | 'hang' = () => ({ status: 200 });
  private server: Server | undefined;
  private readonly hanging = new Set<ServerResponse>();
  port = 0;

  async start(): Promise<void> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const received: Received = {
          key: String(request.headers['idempotency-key']),
          headers: request.headers,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookChange,
          at: Date.now(),
        };
        const answer = this.answer(received, this.requests.length);
        this.requests.push(received);
        if (answer === 'hang') {
          this.hanging.add(response);
          return;
        }
        received.status = answer.status;
        response.writeHead(answer.status, answer.headers).end(answer.body ?? '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    for (const response of this.hanging) response.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/suppressions`;
  }

  /** The requests it answered with 2xx, in arrival order. */
  get delivered(): Received[] {
    return this.requests.filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300);
  }
}

const BRAND = 'acme';
const FAST_RETRY = { initialMs: 1, maxMs: 10 };
const WAIT_MS = 10_000;
const iso = (epochMs: number): string => new Date(epochMs).toISOString();

/** An opt-out from another phone: its own event id (the default id names only kind, scope and time). */
const stopFrom = (phone: E164, fields: Parameters<typeof optOut>[0] = {}): LedgerEvent =>
  optOut({ ...fields, phone, eventId: `out-${phone}` });

describe('WebhookView pushes every change of suppression state to a CRM', () => {
  let dir: string;
  let log: EmbeddedEventLog;
  let receiver: Receiver;
  let views: WebhookView[];
  let runners: ProjectorRunner[];
  let runnerErrors: unknown[];
  let attemptFailures: WebhookAttemptError[];
  let deadLetters: DeadLetter[];

  beforeEach(async () => {
    dir = freshDir('ledger-webhook-');
    log = EmbeddedEventLog.open(join(dir, 'log'));
    receiver = new Receiver();
    await receiver.start();
    views = [];
    runners = [];
    runnerErrors = [];
    attemptFailures = [];
    deadLetters = [];
  });

  afterEach(async () => {
    // Views first (or together): closing one aborts its retries, so the runner's stop does not wait.
    await Promise.all([...views.map((v) => v.close()), ...runners.map((r) => r.stop())]);
    await log.close();
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function webhook(options: Partial<WebhookViewOptions> = {}): WebhookView {
    const view = new WebhookView({
      name: 'crm',
      url: receiver.url,
      dataDir: dir,
      headers: { authorization: 'Bearer crm-token' },
      initialBackoffMs: 1,
      maxBackoffMs: 10,
      onAttemptFailed: (error) => attemptFailures.push(error),
      onDeadLetter: (entry) => deadLetters.push(entry),
      ...options,
    });
    views.push(view);
    return view;
  }

  async function run(view: WebhookView): Promise<ProjectorRunner> {
    await view.open();
    const runner = new ProjectorRunner(log, view, {
      retry: FAST_RETRY,
      onError: (error) => runnerErrors.push(error),
    });
    runners.push(runner);
    runner.start();
    await runner.whenReady();
    return runner;
  }

  /** Appends and waits until the runner has applied it: every POST of those records has been made. */
  async function appendApplied(runner: ProjectorRunner, ...events: LedgerEvent[]): Promise<Position> {
    const appended = await log.append(events);
    const points: LogPoint[] = appended.map(({ partition, position }) => ({ partition, position }));
    expect(await runner.waitFor(points, WAIT_MS)).toBe(true);
    return appended[appended.length - 1]?.position ?? START;
  }

  function deadLetterFile(): DeadLetter[] {
    const file = join(dir, 'views', 'crm.dead-letter.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as DeadLetter);
  }

  function checkpointFile(name = 'crm.checkpoint.json'): unknown {
    return JSON.parse(readFileSync(join(dir, 'views', name), 'utf8'));
  }

  describe('what is pushed', () => {
    it('pushes a STOP once, with the body and idempotency key the CRM relies on; an opt-in is a second push', async () => {
      const runner = await run(webhook());

      await appendApplied(runner, optOut());

      expect(receiver.requests).toHaveLength(1);
      const [stop] = receiver.requests;
      expect(stop?.body).toEqual({
        view: 'crm',
        phone: PHONE,
        scope: `brand:${BRAND}`,
        status: 'opted_out',
        allowed: false,
        since: iso(T0),
        eventId: `out@brand:${BRAND}@${T0}`,
        eventType: 'OptOutRecorded',
        position: '0:1',
        occurredAt: iso(T0),
        recordedAt: iso(T0),
      });
      expect(stop?.headers).toMatchObject({
        'content-type': 'application/json',
        'idempotency-key': `crm:0:1:brand:${BRAND}`,
        authorization: 'Bearer crm-token',
      });

      const optInAt = T0 + 60_000;
      await appendApplied(runner, optIn({ occurredAt: optInAt, recordedAt: optInAt + 5 }));

      expect(receiver.requests).toHaveLength(2);
      expect(receiver.requests[1]?.key).toBe(`crm:0:2:brand:${BRAND}`);
      expect(receiver.requests[1]?.body).toMatchObject({
        scope: `brand:${BRAND}`,
        status: 'opted_in',
        allowed: true,
        since: iso(optInAt),
        eventId: `in@brand:${BRAND}@${optInAt}`,
        eventType: 'OptInRecorded',
        position: '0:2',
        occurredAt: iso(optInAt),
        recordedAt: iso(optInAt + 5),
      });
      expect(runnerErrors).toEqual([]);
    });

    it('pushes nothing for an event that changes no state: a second opt-out at the same scope, a confirmation', async () => {
      const runner = await run(webhook());
      await appendApplied(runner, optOut());

      await appendApplied(
        runner,
        optOut({ eventId: 'out-again', occurredAt: T0 + 1000 }),
        confirmation(),
        optOut({ eventId: 'out-again' }),
      );

      expect(receiver.requests.map((r) => r.key)).toEqual([`crm:0:1:brand:${BRAND}`]);
      // A change after them is pushed: the view was not stuck, it had nothing to say.
      const next = await appendApplied(runner, stopFrom(phoneNo(1)));
      expect(receiver.requests.map((r) => r.key)).toEqual([
        `crm:0:1:brand:${BRAND}`,
        `crm:0:${next}:brand:${BRAND}`,
      ]);
    });

    it('pushes every row a wider-scope event changes, and the review that decides a suspected opt-out', async () => {
      const runner = await run(webhook());
      await appendApplied(runner, optIn({ occurredAt: T0 }));

      await appendApplied(runner, optOut({ scope: 'global', occurredAt: T0 + 1000 }));

      expect(receiver.requests.slice(1).map((r) => [r.key, r.body.status])).toEqual([
        [`crm:0:2:brand:${BRAND}`, 'opted_out'],
        ['crm:0:2:global', 'opted_out'],
      ]);

      const other = phoneNo(2);
      await appendApplied(runner, suspected({ phone: other }));
      await appendApplied(runner, reviewed({ phone: other, outcome: 'dismissed' }));

      expect(receiver.requests.slice(3).map((r) => [r.key, r.body.status, r.body.eventType])).toEqual([
        [`crm:0:3:brand:${BRAND}`, 'pending_review', 'OptOutSuspected'],
        [`crm:0:4:brand:${BRAND}`, 'no_record', 'ReviewResolved'],
      ]);
      expect(receiver.requests[4]?.body).toMatchObject({ allowed: true, since: null, eventId: null });
    });

    it('answers checks and rows from what it has told the CRM; replaying a batch twice pushes nothing more', async () => {
      const view = webhook();
      const runner = await run(view);
      await appendApplied(runner, optOut(), stopFrom(phoneNo(3), { scope: `program:${BRAND}/promo` }));

      await expect(view.check(PHONE, BRAND)).resolves.toEqual({
        status: 'opted_out',
        allowed: false,
        since: T0,
        eventId: `out@brand:${BRAND}@${T0}`,
      });
      await expect(view.check(phoneNo(3), BRAND)).resolves.toMatchObject({
        status: 'no_record',
        allowed: true,
      });
      await expect(view.check(phoneNo(3), BRAND, 'promo')).resolves.toMatchObject({ status: 'opted_out' });
      const rows: ScopeRow[] = [];
      for await (const row of view.rows()) rows.push(row);
      expect(rows.map((r) => [r.phone, r.scope, r.status])).toEqual([
        [PHONE, `brand:${BRAND}`, 'opted_out'],
        [phoneNo(3), `program:${BRAND}/promo`, 'opted_out'],
      ]);
      expect(view.readable).toBe(false);
      expect(view.kind).toBe('webhook');

      await view.applyBatch(await log.read(START, 100));
      expect(receiver.requests).toHaveLength(2);
    });
  });

  describe('retries', () => {
    it('retries a 503 inside the batch and delivers on the 4th attempt with the same key and body; the runner never sees a failure', async () => {
      receiver.answer = (_, index) => (index < 3 ? { status: 503 } : { status: 200 });
      const runner = await run(webhook());

      await appendApplied(runner, optOut());

      expect(receiver.requests.map((r) => r.status)).toEqual([503, 503, 503, 200]);
      expect(new Set(receiver.requests.map((r) => r.key))).toEqual(new Set([`crm:0:1:brand:${BRAND}`]));
      expect(new Set(receiver.requests.map((r) => JSON.stringify(r.body))).size).toBe(1);
      expect(attemptFailures.map((e) => [e.attempt, e.status, e.retryInMs !== null])).toEqual([
        [1, 503, true],
        [2, 503, true],
        [3, 503, true],
      ]);
      // Retries are the view's own: the runner stayed healthy and applied the batch once.
      expect(runnerErrors).toEqual([]);
      expect(runner.healthy).toBe(true);
      expect(deadLetterFile()).toEqual([]);
    });

    it("waits as long as a 429's Retry-After says", async () => {
      receiver.answer = (_, index) =>
        index === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 };
      const runner = await run(webhook({ maxBackoffMs: 5_000 }));

      await appendApplied(runner, optOut());

      const [first, second] = receiver.requests;
      expect(second?.status).toBe(200);
      expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(900);
      expect(attemptFailures[0]?.retryInMs).toBe(1000);
    });

    it('caps a long Retry-After at maxBackoffMs', async () => {
      receiver.answer = (_, index) =>
        index === 0 ? { status: 503, headers: { 'retry-after': '3600' } } : { status: 200 };
      const runner = await run(webhook({ maxBackoffMs: 20 }));

      await appendApplied(runner, optOut());

      expect(receiver.requests.map((r) => r.status)).toEqual([503, 200]);
      expect(attemptFailures[0]?.retryInMs).toBe(20);
    });

    it('retries an attempt that gets no answer within timeoutMs', async () => {
      receiver.answer = (_, index) => (index === 0 ? 'hang' : { status: 200 });
      const runner = await run(webhook({ timeoutMs: 200 }));

      await appendApplied(runner, optOut());

      expect(receiver.requests).toHaveLength(2);
      expect(receiver.delivered.map((r) => r.key)).toEqual([`crm:0:1:brand:${BRAND}`]);
      expect(attemptFailures[0]?.message).toContain('no answer within 200 ms');
    });

    it('loses nothing while the receiver is down: once it is back every change arrives, in log order', async () => {
      const proxy = new TcpProxy(receiver.port);
      await proxy.up();
      await proxy.down();
      const runner = await run(
        webhook({
          url: `http://${proxy.url}/hooks`,
          maxAttempts: 10_000,
          initialBackoffMs: 5,
          maxBackoffMs: 20,
        }),
      );
      try {
        const appended = await log.append([optOut(), stopFrom(phoneNo(1)), stopFrom(phoneNo(2))]);
        await eventually(() => expect(attemptFailures.length).toBeGreaterThanOrEqual(3), {
          timeoutMs: WAIT_MS,
        });
        expect(attemptFailures[0]?.message).toMatch(/ECONNREFUSED/);
        expect(receiver.requests).toEqual([]);

        await proxy.up();

        const points = appended.map(({ partition, position }) => ({ partition, position }));
        expect(await runner.waitFor(points, WAIT_MS)).toBe(true);
        expect(receiver.delivered.map((r) => r.key)).toEqual([
          `crm:0:1:brand:${BRAND}`,
          `crm:0:2:brand:${BRAND}`,
          `crm:0:3:brand:${BRAND}`,
        ]);
        expect(receiver.delivered.map((r) => r.body.phone)).toEqual([PHONE, phoneNo(1), phoneNo(2)]);
        expect(deadLetterFile()).toEqual([]);
        expect(runnerErrors).toEqual([]);
      } finally {
        await proxy.down();
      }
    });
  });

  describe('dead letters', () => {
    it('dead-letters a permanent 400 at once, on disk, and goes on with later changes', async () => {
      receiver.answer = ({ body }) =>
        body.phone === PHONE ? { status: 400, body: '{"error":"unknown contact"}' } : { status: 200 };
      const runner = await run(webhook());

      await appendApplied(runner, optOut());
      await appendApplied(runner, stopFrom(phoneNo(1)));

      expect(receiver.requests.map((r) => [r.key, r.status])).toEqual([
        [`crm:0:1:brand:${BRAND}`, 400],
        [`crm:0:2:brand:${BRAND}`, 200],
      ]);
      const onDisk = deadLetterFile();
      expect(onDisk).toEqual([
        {
          at: expect.any(String) as unknown,
          idempotencyKey: `crm:0:1:brand:${BRAND}`,
          url: receiver.url,
          body: receiver.requests[0]?.body,
          attempts: 1,
          status: 400,
          lastError: 'HTTP 400: {"error":"unknown contact"}',
        },
      ]);
      expect(deadLetters).toEqual(onDisk);
      expect(attemptFailures.map((e) => e.retryInMs)).toEqual([null]);
      expect(runnerErrors).toEqual([]);
    });

    it('dead-letters a change after maxAttempts retriable failures', async () => {
      receiver.answer = ({ body }) => (body.phone === PHONE ? { status: 502 } : { status: 200 });
      const view = webhook({ maxAttempts: 3 });
      const runner = await run(view);

      await appendApplied(runner, optOut(), stopFrom(phoneNo(1)));

      expect(receiver.requests.map((r) => r.status)).toEqual([502, 502, 502, 200]);
      expect(deadLetterFile()).toEqual([
        expect.objectContaining({ idempotencyKey: `crm:0:1:brand:${BRAND}`, attempts: 3, status: 502 }),
      ]);
      expect(deadLetters).toHaveLength(1);
      // What the CRM was not told is on disk for an operator; the view moved on.
      expect(checkpointFile()).toMatchObject({ sent: [{ position: 2 }] });
      // … and says it owes it: a receiver down longer than the retry budget is not "healthy, lag 0".
      expect(runner.status()).toMatchObject({ healthy: false, deadLetters: 1, lagEvents: 0 });
      await expect(view.check(PHONE, BRAND)).resolves.toMatchObject({ status: 'unknown', allowed: false });
    });
  });

  describe('a dead letter is owed to the CRM until it is replayed', () => {
    const archiveFile = (): DeadLetter[] => {
      const file = join(dir, 'views', 'crm.dead-letter.replayed.jsonl');
      if (!existsSync(file)) return [];
      return readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as DeadLetter);
    };

    it('a 401 dead-letters the change: the view says so (unhealthy, lastError, count) and the phone answers unknown; other phones answer as before', async () => {
      receiver.answer = ({ body }) =>
        body.phone === PHONE ? { status: 401, body: 'bad token' } : { status: 200 };
      const view = webhook();
      const runner = await run(view);

      await appendApplied(runner, optOut(), stopFrom(phoneNo(1)));

      expect(deadLetterFile()).toHaveLength(1);
      expect(runner.status()).toMatchObject({
        healthy: false,
        lastError: expect.stringMatching(/1 change .*dead-letter.*HTTP 401: bad token/) as unknown,
        deadLetters: 1,
        lagEvents: 0,
      });
      await expect(view.check(PHONE, BRAND)).resolves.toMatchObject({
        status: 'unknown',
        allowed: false,
        reason: expect.stringMatching(/never accepted.*crm:0:1:brand:acme/) as unknown,
      });
      // The CRM has every other phone's changes: they answer what it was told.
      await expect(view.check(phoneNo(1), BRAND)).resolves.toMatchObject({
        status: 'opted_out',
        allowed: false,
      });
      // Applying the log still works: the runner itself is not failing, so checks are not all unknown.
      expect(runner.healthy).toBe(true);
    });

    it('a redirect is not a delivery: a 3xx is dead-lettered at once and its Location is never followed', async () => {
      receiver.answer = () => ({ status: 307, headers: { location: `${receiver.url}/elsewhere` } });
      const view = webhook();
      const runner = await run(view);

      await appendApplied(runner, optOut());

      // One request: the redirect was not followed (a followed 307 would arrive as a second one).
      expect(receiver.requests.map((r) => r.status)).toEqual([307]);
      expect(deadLetterFile()).toEqual([
        expect.objectContaining({ idempotencyKey: `crm:0:1:brand:${BRAND}`, status: 307, attempts: 1 }),
      ]);
      expect(runner.status()).toMatchObject({ healthy: false, deadLetters: 1 });
      await expect(view.check(PHONE, BRAND)).resolves.toMatchObject({ status: 'unknown', allowed: false });
    });

    it('receiver fixed, replay resends the change with its original key and body; the view is healthy and the phone answers again', async () => {
      receiver.answer = () => ({ status: 401 });
      const view = webhook();
      const runner = await run(view);
      await appendApplied(runner, optOut());
      const refused = receiver.requests[0];

      receiver.answer = () => ({ status: 200 });
      const report = await view.replayDeadLetters();

      expect(report).toMatchObject({ sent: 1, failed: 0, superseded: 0, remaining: 0 });
      expect(receiver.delivered.map((r) => [r.key, r.body])).toEqual([[refused?.key, refused?.body]]);
      expect(receiver.delivered[0]?.headers.authorization).toBe('Bearer crm-token');
      expect(runner.status()).toMatchObject({ healthy: true, deadLetters: 0 });
      expect(runner.status().lastError).toBeUndefined();
      await expect(view.check(PHONE, BRAND)).resolves.toMatchObject({ status: 'opted_out', allowed: false });
      expect(deadLetterFile()).toEqual([]);
      expect(archiveFile()).toEqual([
        expect.objectContaining({ idempotencyKey: `crm:0:1:brand:${BRAND}`, outcome: 'sent' }),
      ]);
      // Nothing is left to send: a second replay sends nothing.
      await expect(view.replayDeadLetters()).resolves.toMatchObject({ sent: 0, remaining: 0 });
      expect(receiver.delivered).toHaveLength(1);
    });

    it('the debt survives a restart: derived from the dead-letter file, the phone is unknown until the replay after it', async () => {
      receiver.answer = () => ({ status: 404 });
      const first = webhook();
      const before = await run(first);
      await appendApplied(before, optOut());
      await Promise.all([first.close(), before.stop()]);

      const second = webhook();
      const after = await run(second);

      expect(receiver.requests).toHaveLength(1);
      expect(after.status()).toMatchObject({ healthy: false, deadLetters: 1 });
      await expect(second.check(PHONE, BRAND)).resolves.toMatchObject({ status: 'unknown', allowed: false });
      expect(second.deadLetters()).toEqual([
        expect.objectContaining({ idempotencyKey: `crm:0:1:brand:${BRAND}`, status: 404, superseded: false }),
      ]);

      receiver.answer = () => ({ status: 200 });
      await expect(second.replayDeadLetters()).resolves.toMatchObject({ sent: 1, remaining: 0 });
      expect(receiver.delivered.map((r) => r.key)).toEqual([`crm:0:1:brand:${BRAND}`]);
      expect(after.status()).toMatchObject({ healthy: true, deadLetters: 0 });

      const third = webhook();
      const again = await run(third);
      expect(again.status()).toMatchObject({ healthy: true, deadLetters: 0 });
      await expect(third.check(PHONE, BRAND)).resolves.toMatchObject({ status: 'opted_out' });
    });

    it('a replay before the view has re-applied the log judges nothing: no letter is retired on an empty memory', async () => {
      receiver.answer = () => ({ status: 401 });
      const first = webhook();
      const before = await run(first);
      await appendApplied(before, optOut());
      await Promise.all([first.close(), before.stop()]);
      receiver.answer = () => ({ status: 200 });

      const second = webhook();
      await second.open();
      await expect(second.replayDeadLetters()).rejects.toMatchObject({
        code: 'unavailable',
        message: expect.stringMatching(/has not re-applied the log/) as unknown,
      });

      expect(deadLetterFile()).toHaveLength(1);
      expect(archiveFile()).toEqual([]);
      const runner = await run(second);
      await expect(second.replayDeadLetters()).resolves.toMatchObject({ sent: 1, remaining: 0 });
      expect(runner.status()).toMatchObject({ healthy: true, deadLetters: 0 });
    });

    it('a replay that fails again keeps the change dead-lettered, with the new attempt and error; a receiver still down ends the replay early', async () => {
      receiver.answer = () => ({ status: 403 });
      const view = webhook();
      const runner = await run(view);
      await appendApplied(runner, optOut(), stopFrom(phoneNo(1)), stopFrom(phoneNo(2)));
      expect(deadLetterFile()).toHaveLength(3);

      receiver.answer = ({ body }) =>
        body.phone === PHONE ? { status: 422, body: 'no such contact' } : { status: 200 };
      const partly = await view.replayDeadLetters();

      expect(partly).toMatchObject({ sent: 2, failed: 1, remaining: 1 });
      expect(deadLetterFile()).toEqual([
        expect.objectContaining({
          idempotencyKey: `crm:0:1:brand:${BRAND}`,
          attempts: 2,
          status: 422,
          lastError: 'HTTP 422: no such contact',
        }),
      ]);
      expect(runner.status()).toMatchObject({ healthy: false, deadLetters: 1 });
      await expect(view.check(PHONE, BRAND)).resolves.toMatchObject({ status: 'unknown' });
      await expect(view.check(phoneNo(1), BRAND)).resolves.toMatchObject({ status: 'opted_out' });

      await receiver.stop();
      const down = await view.replayDeadLetters();
      expect(down).toMatchObject({ sent: 0, failed: 1, remaining: 1 });
      expect(down.errors[0]?.lastError).toMatch(/ECONNREFUSED|fetch failed/);
      expect(deadLetterFile()).toEqual([expect.objectContaining({ attempts: 3 })]);
    });

    it('replay never resurrects an old state: a dead-lettered opt-in superseded by a delivered opt-out is not resent', async () => {
      receiver.answer = () => ({ status: 200 });
      const view = webhook();
      const runner = await run(view);
      await appendApplied(runner, optOut());
      receiver.answer = () => ({ status: 400 });
      await appendApplied(runner, optIn({ occurredAt: T0 + 1000 }));
      receiver.answer = () => ({ status: 200 });
      await appendApplied(runner, optOut({ eventId: 'out-again', occurredAt: T0 + 2000 }));
      expect(receiver.requests.map((r) => [r.key, r.body.status, r.status])).toEqual([
        [`crm:0:1:brand:${BRAND}`, 'opted_out', 200],
        [`crm:0:2:brand:${BRAND}`, 'opted_in', 400],
        [`crm:0:3:brand:${BRAND}`, 'opted_out', 200],
      ]);
      expect(view.deadLetters()).toEqual([expect.objectContaining({ superseded: true })]);

      const report = await view.replayDeadLetters();

      expect(report).toMatchObject({ sent: 0, superseded: 1, failed: 0, remaining: 0 });
      expect(receiver.requests).toHaveLength(3);
      expect(archiveFile()).toEqual([
        expect.objectContaining({ idempotencyKey: `crm:0:2:brand:${BRAND}`, outcome: 'superseded' }),
      ]);
      await expect(view.check(PHONE, BRAND)).resolves.toMatchObject({ status: 'opted_out', allowed: false });
    });

    it('an unreadable record without a phone cannot be attributed: every check through the view is unknown until a replay acknowledges it', async () => {
      const view = webhook();
      const runner = await run(view);
      const head = await appendApplied(runner, stopFrom(phoneNo(1)));

      await view.quarantine({
        partition: 0,
        position: asPosition(head + 1),
        key: null,
        reason: 'no schema 42',
      });

      expect(runner.status()).toMatchObject({ healthy: false, deadLetters: 1 });
      await expect(view.check(phoneNo(1), BRAND)).resolves.toMatchObject({
        status: 'unknown',
        allowed: false,
      });
      await expect(view.check(phoneNo(2), BRAND)).resolves.toMatchObject({
        status: 'unknown',
        reason: expect.stringMatching(/without a phone/) as unknown,
      });

      await expect(view.replayDeadLetters()).resolves.toMatchObject({ unsendable: 1, remaining: 0 });

      expect(receiver.requests).toHaveLength(1);
      await expect(view.check(phoneNo(2), BRAND)).resolves.toMatchObject({
        status: 'no_record',
        allowed: true,
      });
      expect(archiveFile()).toEqual([expect.objectContaining({ body: null, outcome: 'unsendable' })]);
    });

    it("a rebuild's dead letters join the live view's: one file, nothing dropped by the next replay", async () => {
      receiver.answer = ({ body }) => (body.phone === PHONE ? { status: 401 } : { status: 200 });
      const live = webhook();
      const runner = await run(live);
      await appendApplied(runner, optOut(), stopFrom(phoneNo(1)));
      expect(live.deadLetters()).toHaveLength(1);

      receiver.answer = ({ body }) => (body.phone === phoneNo(1) ? { status: 404 } : { status: 200 });
      const staged = await live.staging();
      views.push(staged);
      await run(staged);

      expect(live.deadLetters().map((d) => d.idempotencyKey)).toEqual([
        `crm:0:1:brand:${BRAND}`,
        `crm:0:2:brand:${BRAND}`,
      ]);
      expect(runner.status()).toMatchObject({ deadLetters: 2 });
      await expect(live.check(phoneNo(1), BRAND)).resolves.toMatchObject({ status: 'unknown' });

      receiver.answer = () => ({ status: 200 });
      await expect(live.replayDeadLetters()).resolves.toMatchObject({ sent: 2, remaining: 0 });
      expect(deadLetterFile()).toEqual([]);
    });

    it('a replay waits for the live batch in hand: a newer change is never overtaken by an older one', async () => {
      receiver.answer = () => ({ status: 401 });
      const view = webhook({ maxAttempts: 10_000 });
      const runner = await run(view);
      await appendApplied(runner, optOut());
      receiver.answer = () => ({ status: 503 });
      await log.append([optIn({ occurredAt: T0 + 1000 })]);
      await eventually(() => expect(attemptFailures.length).toBeGreaterThanOrEqual(1));

      const replay = view.replayDeadLetters();
      const failuresBefore = attemptFailures.length;
      await eventually(() => expect(attemptFailures.length).toBeGreaterThanOrEqual(failuresBefore + 3));
      // Only the live opt-in was tried meanwhile; the replay had not started.
      expect(new Set(receiver.requests.slice(1).map((r) => r.key))).toEqual(
        new Set([`crm:0:2:brand:${BRAND}`]),
      );

      receiver.answer = () => ({ status: 200 });
      // The live opt-in got through first, so the older opt-out is superseded: not sent after it.
      await expect(replay).resolves.toMatchObject({ sent: 0, superseded: 1, remaining: 0 });
      expect(receiver.delivered.map((r) => [r.key, r.body.status])).toEqual([
        [`crm:0:2:brand:${BRAND}`, 'opted_in'],
      ]);
    });

    it('reads back a dead-letter file a crash left with a torn last line, and refuses one damaged in the middle', async () => {
      const letter = {
        at: iso(T0),
        idempotencyKey: `crm:0:1:brand:${BRAND}`,
        url: receiver.url,
        body: { view: 'crm', phone: PHONE, scope: `brand:${BRAND}`, status: 'opted_out', allowed: false },
        attempts: 1,
        status: 401,
        lastError: 'HTTP 401',
      };
      const file = join(dir, 'views', 'crm.dead-letter.jsonl');
      mkdirSync(join(dir, 'views'), { recursive: true });
      writeFileSync(file, `${JSON.stringify(letter)}\n{"at":"2025-01-0`);

      const view = webhook();
      await view.open();

      expect(view.deadLetters()).toEqual([
        expect.objectContaining({ idempotencyKey: letter.idempotencyKey }),
      ]);
      expect(readFileSync(file, 'utf8')).toBe(`${JSON.stringify(letter)}\n`);
      await view.close();

      writeFileSync(file, `not json\n${JSON.stringify(letter)}\n`);
      await expect(webhook().open()).rejects.toMatchObject({
        code: 'invalid_config',
        message: expect.stringMatching(/line 1 is not a dead letter/) as unknown,
      });
    });

    it('of two dead letters for one phone and scope, only the one the log still says is resent', async () => {
      receiver.answer = () => ({ status: 401 });
      const view = webhook();
      const runner = await run(view);
      await appendApplied(runner, optIn(), optOut({ occurredAt: T0 + 1000 }));
      expect(deadLetterFile().map((d) => d.body?.status)).toEqual(['opted_in', 'opted_out']);

      receiver.answer = () => ({ status: 200 });
      await expect(view.replayDeadLetters()).resolves.toMatchObject({ sent: 1, superseded: 1, remaining: 0 });

      expect(receiver.delivered.map((r) => [r.key, r.body.status])).toEqual([
        [`crm:0:2:brand:${BRAND}`, 'opted_out'],
      ]);
    });
  });

  describe('restarts', () => {
    it('re-sends nothing after a restart, then pushes only what is new', async () => {
      const first = webhook();
      const before = await run(first);
      await appendApplied(before, optOut(), stopFrom(phoneNo(1)), optIn({ occurredAt: T0 + 1 }));
      expect(receiver.requests).toHaveLength(3);
      await Promise.all([first.close(), before.stop()]);
      expect(checkpointFile()).toMatchObject({
        view: 'crm',
        sent: [{ position: 3, eventId: `in@brand:${BRAND}@${T0 + 1}` }],
      });

      const second = webhook();
      const after = await run(second);

      expect(receiver.requests).toHaveLength(3);
      // Memory was rebuilt by the replay.
      await expect(second.check(PHONE, BRAND)).resolves.toMatchObject({ status: 'opted_in' });
      await expect(second.check(phoneNo(1), BRAND)).resolves.toMatchObject({ status: 'opted_out' });

      await appendApplied(after, stopFrom(phoneNo(2)));

      expect(receiver.requests.map((r) => r.key)).toHaveLength(4);
      expect(receiver.requests[3]?.key).toBe(`crm:0:4:brand:${BRAND}`);
    });

    it('refuses a checkpoint written for another log instead of silently skipping its pushes', async () => {
      const first = webhook();
      const runner = await run(first);
      await appendApplied(runner, optOut(), stopFrom(phoneNo(1)));
      await Promise.all([first.close(), runner.stop()]);

      const otherLog = EmbeddedEventLog.open(join(dir, 'other-log'));
      try {
        await otherLog.append([stopFrom(phoneNo(5)), stopFrom(phoneNo(6))]);
        const second = webhook();
        await second.open();
        const projector = new ProjectorRunner(otherLog, second, { retry: FAST_RETRY });
        runners.push(projector);
        projector.start();

        await eventually(() => expect(projector.status().lastError).toMatch(/written for another log/));
        expect(projector.healthy).toBe(false);
        expect(receiver.requests).toHaveLength(2);
        await Promise.all([second.close(), projector.stop()]);
      } finally {
        await otherLog.close();
      }
    });

    it('close() during a long backoff returns within a second, and the change is sent after the restart', async () => {
      receiver.answer = () => ({ status: 503, headers: { 'retry-after': '30' } });
      const view = webhook({ maxBackoffMs: 30_000 });
      const runner = await run(view);
      await log.append([optOut()]);
      await eventually(() => expect(attemptFailures).toHaveLength(1));
      expect(attemptFailures[0]?.retryInMs).toBe(30_000);

      const started = Date.now();
      await Promise.all([view.close(), runner.stop()]);

      expect(Date.now() - started).toBeLessThan(1000);
      expect(deadLetterFile()).toEqual([]);
      expect(existsSync(join(dir, 'views', 'crm.checkpoint.json'))).toBe(false);

      receiver.answer = () => ({ status: 200 });
      const restarted = await run(webhook());
      expect(restarted.ready).toBe(true);
      expect(receiver.delivered.map((r) => r.key)).toEqual([`crm:0:1:brand:${BRAND}`]);
    });
  });

  describe('rebuild, repair and unreadable records', () => {
    it('a staging view re-sends every change with its original key; promote makes its checkpoint the live one', async () => {
      const live = webhook();
      const liveRunner = await run(live);
      await appendApplied(liveRunner, optOut(), stopFrom(phoneNo(1)), optIn({ occurredAt: T0 + 1 }));
      const sentLive = receiver.requests.map((r) => [r.key, r.body]);
      expect(sentLive).toHaveLength(3);
      await Promise.all([live.close(), liveRunner.stop()]);

      const staged = await live.staging();
      views.push(staged);
      await run(staged);

      expect(receiver.requests.slice(3).map((r) => [r.key, r.body])).toEqual(sentLive);
      expect(checkpointFile('crm.staging.checkpoint.json')).toMatchObject({ sent: [{ position: 3 }] });

      await staged.promote();

      expect(existsSync(join(dir, 'views', 'crm.staging.checkpoint.json'))).toBe(false);
      expect(checkpointFile()).toMatchObject({ view: 'crm', sent: [{ position: 3 }] });
      await run(webhook());
      expect(receiver.requests).toHaveLength(6);
    });

    it('a fresh staging view ignores what an abandoned rebuild left behind', async () => {
      const live = webhook();
      const runner = await run(live);
      await appendApplied(runner, optOut());
      await Promise.all([live.close(), runner.stop()]);
      const abandoned = await live.staging();
      views.push(abandoned);
      await run(abandoned);
      await abandoned.close();

      const staged = await live.staging();
      views.push(staged);
      await run(staged);

      expect(receiver.requests.map((r) => r.key)).toEqual(
        Array.from({ length: 3 }, () => `crm:0:1:brand:${BRAND}`),
      );
    });

    it('repair pushes every row of the history with repair keys and makes it memory', async () => {
      const view = webhook();
      const runner = await run(view);
      await appendApplied(runner, optOut({ scope: `program:${BRAND}/promo` }));
      const truth = foldHistory([
        { position: asPosition(1), event: optOut() },
        { position: asPosition(2), event: optOut({ scope: 'global', occurredAt: T0 + 5 }) },
      ]);

      await view.repair(PHONE, truth);

      expect(
        receiver.requests.slice(1).map((r) => [r.key, r.body.status, r.body.allowed, r.body.position]),
      ).toEqual([
        [`crm:repair:${PHONE}:brand:${BRAND}:out@brand:${BRAND}@${T0}`, 'opted_out', false, null],
        [`crm:repair:${PHONE}:global:out@global@${T0 + 5}`, 'opted_out', false, null],
        [`crm:repair:${PHONE}:program:${BRAND}/promo:none`, 'no_record', true, null],
      ]);
      // The program row is gone from memory: the check falls back to the brand row.
      await expect(view.check(PHONE, BRAND, 'promo')).resolves.toMatchObject({
        status: 'opted_out',
        eventId: `out@brand:${BRAND}@${T0}`,
      });
    });

    it('repair rejects when a row could not be delivered, after dead-lettering it', async () => {
      receiver.answer = () => ({ status: 422 });
      const view = webhook();
      await view.open();

      await expect(
        view.repair(PHONE, foldHistory([{ position: asPosition(1), event: optOut() }])),
      ).rejects.toThrow(/1 of 1 rows .* could not be pushed/);
      expect(deadLetterFile()).toHaveLength(1);
    });

    it('an unreadable record fails closed for its phone at the CRM: unknown at global and at every row it has', async () => {
      const view = webhook();
      const runner = await run(view);
      const head = await appendApplied(runner, optIn());

      await view.quarantine({
        partition: 0,
        position: asPosition(head + 1),
        key: PHONE,
        reason: 'unknown schema id 99',
      });

      expect(
        receiver.requests.slice(1).map((r) => [r.key, r.body.status, r.body.allowed, r.body.quarantined]),
      ).toEqual([
        ['crm:0:2:global', 'unknown', false, 'unknown schema id 99'],
        [`crm:0:2:brand:${BRAND}`, 'unknown', false, 'unknown schema id 99'],
      ]);
      await expect(view.check(PHONE, BRAND)).resolves.toEqual({
        status: 'unknown',
        allowed: false,
        since: null,
        eventId: null,
        quarantined: 'unknown schema id 99',
      });
      expect(checkpointFile()).toMatchObject({ sent: [{ position: head + 1, eventId: null }] });
    });
  });

  describe('configuration', () => {
    it('refuses names and URLs it cannot use, saying what to fix', () => {
      expect(caught(() => webhook({ name: '../crm' }))).toMatchObject({ code: 'invalid_config' });
      expect(caught(() => webhook({ url: 'ftp://crm.example.com' })).message).toMatch(/http or https/);
      expect(caught(() => webhook({ url: 'https://user:secret@crm.example.com' })).message).toMatch(
        /authorization header/,
      );
      expect(caught(() => webhook({ maxAttempts: 0 })).message).toMatch(/maxAttempts/);
      expect(caught(() => webhook({ headers: { 'bad header': 'x' } })).code).toBe('invalid_config');
    });

    it('refuses to be fed before open()', async () => {
      const view = webhook();
      await log.append([optOut()]);
      await expect(view.applyBatch(await log.read(START, 1))).rejects.toThrow(/not open/);
    });
  });
});
