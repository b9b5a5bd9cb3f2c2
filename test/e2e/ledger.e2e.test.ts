import { userInfo } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LedgerEvent } from '../../services/ledger/index.js';
import {
  openInProcess,
  removeDir,
  runCli,
  startChild,
  tempDir,
  type ChildLedger,
  type InProcessLedger,
} from '../support/ledger-harness.js';

const PHONE = '+12015550123';

interface Check {
  phone: string;
  allowed: boolean;
  status: string;
  reason: string;
  asOf: string;
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: (await response.json()) as T };
}

async function postJson<T>(url: string, body: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: (await response.json()) as T };
}

describe('a STOP is honoured end to end, across a crash', () => {
  let dir: string;
  let child: ChildLedger | undefined;

  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    await child?.kill('SIGKILL');
    child = undefined;
    removeDir(dir);
  });

  it('STOP → read-your-write check is suppressed → SIGKILL and restart → still suppressed → START → allowed', async () => {
    child = await startChild(dir);
    const stop = await postJson<{ intent: string; eventId: string; position: string; reply: string | null }>(
      `${child.url}/v1/inbound/sms`,
      { from: '(201) 555-0123', to: '12345', body: 'Stop.', messageId: 'SM-e2e-1' },
    );
    expect(stop.status).toBe(200);
    expect(stop.body).toMatchObject({ intent: 'opt_out', eventId: `sms:inbound-sms:${PHONE}:SM-e2e-1` });
    expect(stop.body.reply).toMatch(/unsubscribed/);

    const check = await getJson<Check>(
      `${child.url}/v1/suppressions/${PHONE}?minPosition=${stop.body.position}`,
    );
    expect(check.body).toMatchObject({ phone: PHONE, allowed: false, status: 'opted_out' });

    await child.kill('SIGKILL');
    child = await startChild(dir);
    // The restarted view replays before it answers; minPosition makes the check wait for that.
    const afterCrash = await getJson<Check>(
      `${child.url}/v1/suppressions/${PHONE}?minPosition=${stop.body.position}`,
    );
    expect(afterCrash.body).toMatchObject({ allowed: false, status: 'opted_out' });

    const start = await postJson<{ intent: string; position: string }>(`${child.url}/v1/inbound/sms`, {
      from: PHONE,
      to: '12345',
      body: 'START',
      messageId: 'SM-e2e-2',
    });
    expect(start.body.intent).toBe('opt_in');
    const resubscribed = await getJson<Check>(
      `${child.url}/v1/suppressions/${PHONE}?minPosition=${start.body.position}`,
    );
    expect(resubscribed.body).toMatchObject({ allowed: true, status: 'opted_in' });
  });

  it('the CLI records, checks and audits against a running ledger', async () => {
    child = await startChild(dir);
    const env = { LEDGER_URL: child.url };
    const recorded = await runCli(
      [
        'record',
        '--type',
        'opt_out',
        '--phone',
        '201-555-0124',
        '--brand',
        'acme',
        '--source',
        'call_centre',
        '--note',
        'caller asked',
      ],
      env,
    );
    expect(recorded.code).toBe(0);
    const { position } = JSON.parse(recorded.stdout) as { position: string };

    const blocked = await runCli(
      ['check', '+12015550124', '--brand', 'acme', '--min-position', position],
      env,
    );
    expect(blocked.code).toBe(3);
    expect(JSON.parse(blocked.stdout)).toMatchObject({ allowed: false, status: 'opted_out' });
    const otherBrand = await runCli(['check', '+12015550124', '--brand', 'other'], env);
    expect(otherBrand.code).toBe(0);

    const audit = await runCli(['audit', '+12015550124'], env);
    expect(audit.code).toBe(0);
    const report = JSON.parse(audit.stdout) as { events: { event: LedgerEvent }[] };
    expect(report.events).toHaveLength(1);
    expect(report.events[0]?.event).toMatchObject({
      source: 'call_centre',
      // Without keys, the local user who ran the command is the actor.
      evidence: { note: 'caller asked', actor: `cli:${userInfo().username}` },
    });

    const invalid = await runCli(['check', 'not-a-number'], env);
    expect(invalid.code).toBe(1);
    expect(JSON.parse(invalid.stdout)).toMatchObject({ error: 'invalid_phone' });
  });

  it('refuses to start with a confirmation template that is not a bare confirmation, saying what to fix', async () => {
    const file = join(dir, 'brands.json');
    writeFileSync(
      file,
      JSON.stringify({ brands: { acme: { confirmation: 'Bye! Get 20% off at acme.com before you go' } } }),
    );
    const start = await runCli(['start'], { LEDGER_DATA_DIR: dir, PORT: '0', LEDGER_CONFIG_FILE: file });
    expect(start.code).toBe(78);
    expect(start.stderr).toMatch(/brands\.acme\.confirmation: say that the person is unsubscribed/);
    expect(start.stderr).toMatch(/brands\.acme\.confirmation: remove the link/);
    expect(start.stderr).toMatch(/brands\.acme\.confirmation: remove marketing words/);
  });

  it("classifies with a brand's own keywords from configuration", async () => {
    const file = join(dir, 'brands.json');
    writeFileSync(file, JSON.stringify({ brands: { acme: { keywords: { optOut: ['ZAPIT'] } } } }));
    child = await startChild(dir, { LEDGER_CONFIG_FILE: file });
    const acme = await postJson<{ intent: string }>(`${child.url}/v1/classify`, {
      text: 'zapit!',
      brand: 'acme',
    });
    const other = await postJson<{ intent: string }>(`${child.url}/v1/classify`, {
      text: 'zapit!',
      brand: 'globex',
    });
    expect([acme.body.intent, other.body.intent]).toEqual(['opt_out', 'none']);
  });

  it('refuses to start on a misspelt setting, saying which', async () => {
    await expect(startChild(dir, { LEDGER_MAX_STALENES_MS: '10' })).rejects.toThrow(
      /LEDGER_MAX_STALENES_MS is not a setting/,
    );
  });
});

describe('the HTTP API', () => {
  let dir: string;
  let ledger: InProcessLedger;

  beforeEach(async () => {
    dir = tempDir();
    ledger = await openInProcess(dir, { LEDGER_BODY_LIMIT_BYTES: '4096', LEDGER_READ_WAIT_MS: '200' });
    await ledger.ledger.ready();
  });
  afterEach(async () => {
    await ledger.close();
    removeDir(dir);
  });

  const inject = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
    ledger.app.inject({ method, url, ...(payload !== undefined && { payload: payload as object }) });

  it('applies a repeated eventId once and answers it with the original', async () => {
    const body = { type: 'opt_out', phone: PHONE, brand: 'acme', source: 'crm', eventId: 'crm-42' };
    const first = await inject('POST', '/v1/events', body);
    const second = await inject('POST', '/v1/events', body);
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(200);
    expect(second.json()).toEqual({ ...first.json(), duplicate: true });
    const audit = (await inject('GET', `/v1/audit/${PHONE}`)).json<{ events: unknown[] }>();
    expect(audit.events).toHaveLength(1);
    expect(ledger.ledger.view.history(PHONE as never)).toHaveLength(1);
  });

  it('refuses to hide a different event behind a reused eventId', async () => {
    await inject('POST', '/v1/events', {
      type: 'opt_in',
      phone: PHONE,
      source: 'crm',
      eventId: 'crm-43',
      evidence: { consentReference: 'crm:consent/43' },
    });
    const reused = await inject('POST', '/v1/events', {
      type: 'opt_out',
      phone: PHONE,
      source: 'crm',
      eventId: 'crm-43',
    });
    expect(reused.statusCode).toBe(409);
    expect(reused.json()).toMatchObject({ error: 'event_id_conflict' });
  });

  it.each([
    ['an invalid number', { type: 'opt_out', phone: '+1201555012', source: 'api' }, 400, 'invalid_phone'],
    [
      'letters for a number',
      { type: 'opt_out', phone: 'call me maybe', source: 'api' },
      400,
      'invalid_phone',
    ],
    ['an unknown type', { type: 'unsubscribe', phone: PHONE, source: 'api' }, 400, 'invalid_request'],
    ['a missing phone', { type: 'opt_out', source: 'api' }, 400, 'invalid_request'],
    [
      'an unknown source',
      { type: 'opt_out', phone: PHONE, source: 'carrier pigeon' },
      400,
      'invalid_request',
    ],
    ['an unknown field', { type: 'opt_out', phone: PHONE, source: 'api', phnoe: 1 }, 400, 'invalid_request'],
    [
      'a program scope without a program',
      { type: 'opt_out', phone: PHONE, source: 'api', scope: 'program' },
      400,
      'invalid_scope',
    ],
    [
      'a bad brand name',
      { type: 'opt_out', phone: PHONE, source: 'api', brand: 'a b' },
      400,
      'invalid_request',
    ],
    [
      'an occurredAt far in the future',
      { type: 'opt_out', phone: PHONE, source: 'api', occurredAt: '2999-01-01T00:00:00Z' },
      400,
      'invalid_request',
    ],
    [
      'an oversized body',
      {
        type: 'opt_out',
        phone: PHONE,
        source: 'api',
        evidence: { note: 'x'.repeat(1900), rawText: 'y'.repeat(1900), formUrl: 'z'.repeat(1900) },
      },
      413,
      'payload_too_large',
    ],
  ])('rejects %s with a clear error and records nothing', async (_name, body, status, code) => {
    const response = await inject('POST', '/v1/events', body);
    expect(response.statusCode).toBe(status);
    const error = response.json<{ error: string; message: string }>();
    expect(error.error).toBe(code);
    expect(error.message.length).toBeGreaterThan(10);
    expect(await ledger.ledger.log.head()).toEqual([0]);
  });

  it('rejects malformed JSON and non-JSON bodies, recording nothing', async () => {
    const malformed = await ledger.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json' },
      payload: '{"type": "opt_out",',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toEqual({ error: 'invalid_request', message: 'the body is not valid JSON' });
    const text = await ledger.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'text/plain' },
      payload: 'STOP',
    });
    expect(text.statusCode).toBe(415);
    expect(text.json()).toMatchObject({ error: 'unsupported_media_type' });
    const sms = await inject('POST', '/v1/inbound/sms', { from: 'nobody', to: '12345', body: 'STOP' });
    expect(sms.statusCode).toBe(400);
    expect(sms.json()).toMatchObject({ error: 'invalid_phone' });
    expect(await ledger.ledger.log.head()).toEqual([0]);
  });

  it('classifies a reply without recording anything', async () => {
    const polite = await inject('POST', '/v1/classify', { text: 'Stop. Thank you' });
    expect(polite.statusCode).toBe(200);
    expect(polite.json()).toEqual({
      intent: 'opt_out',
      confidence: 0.95,
      matched: 'keyword:stop+filler',
      language: 'en',
    });
    expect((await inject('POST', '/v1/classify', { text: 'stop by the store' })).json()).toMatchObject({
      intent: 'none',
    });
    expect((await inject('POST', '/v1/classify', { text: 'ALTO' })).json()).toMatchObject({
      intent: 'opt_out',
      language: 'es',
    });
    expect((await inject('POST', '/v1/classify', {})).statusCode).toBe(400);
    expect(await ledger.ledger.log.head()).toEqual([0]);
  });

  it('gives one confirmation per opt-out transition, and none to a retried webhook', async () => {
    const first = await inject('POST', '/v1/inbound/sms', {
      from: PHONE,
      to: '12345',
      body: 'stop',
      messageId: 'SM1',
    });
    const retried = await inject('POST', '/v1/inbound/sms', {
      from: PHONE,
      to: '12345',
      body: 'stop',
      messageId: 'SM1',
    });
    const again = await inject('POST', '/v1/inbound/sms', {
      from: PHONE,
      to: '12345',
      body: 'STOP!',
      messageId: 'SM2',
    });
    expect(first.json<{ reply: string | null }>().reply).toMatch(/unsubscribed/);
    expect(retried.json<{ reply: string | null }>().reply).toBeNull();
    expect(again.json<{ reply: string | null }>().reply).toBeNull();
    const audit = (await inject('GET', `/v1/audit/${PHONE}`)).json<{ events: { event: LedgerEvent }[] }>();
    expect(audit.events.map((e) => e.event.type)).toEqual([
      'OptOutRecorded',
      'ConfirmationSent',
      'OptOutRecorded',
    ]);
  });

  it('two STOPs racing each other still yield exactly one confirmation', async () => {
    const replies = await Promise.all(
      ['STOP', 'stop', 'Stop.', 'QUIT'].map((body, i) =>
        inject('POST', '/v1/inbound/sms', { from: PHONE, to: '12345', body, messageId: `race-${i}` }),
      ),
    );
    const confirmations = replies.filter((r) => r.json<{ reply: string | null }>().reply !== null);
    expect(confirmations).toHaveLength(1);
  });

  it('answers HELP with the help text and records nothing', async () => {
    const help = await inject('POST', '/v1/inbound/sms', { from: PHONE, to: '12345', body: 'help' });
    expect(help.json()).toMatchObject({ intent: 'help', eventId: null, position: null });
    expect(help.json<{ reply: string }>().reply).toMatch(/STOP/);
    expect(await ledger.ledger.log.head()).toEqual([0]);
  });

  it('fails closed when the caller waits for a position the view has not reached', async () => {
    const response = await inject('GET', `/v1/suppressions/${PHONE}?minPosition=999`);
    expect(response.json()).toMatchObject({ allowed: false, status: 'unknown' });
    expect(response.json<Check>().reason).toMatch(/has not applied position 0:999/);
    const bad = await inject('GET', `/v1/suppressions/${PHONE}?minPosition=soon`);
    expect(bad.statusCode).toBe(400);
  });

  it('checks a batch, flagging invalid numbers in place', async () => {
    await inject('POST', '/v1/events', { type: 'opt_out', phone: PHONE, brand: 'acme', source: 'api' });
    const response = await inject('POST', '/v1/suppressions/check', {
      phones: [PHONE, '201-555-0124', 'garbage'],
      brand: 'acme',
      minPosition: '1',
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      results: [
        { phone: PHONE, allowed: false, status: 'opted_out' },
        { phone: '+12015550124', allowed: true, status: 'no_record' },
        { phone: 'garbage', allowed: false, status: 'unknown', error: 'invalid_phone' },
      ],
      asOf: '0:1',
    });
  });

  it('audits a number: every event with evidence, the state per scope, now and at a past time', async () => {
    const optOut = await inject('POST', '/v1/events', {
      type: 'opt_out',
      phone: PHONE,
      brand: 'acme',
      source: 'web_form',
      evidence: { formUrl: 'https://acme.example/prefs', ip: '203.0.113.9' },
    });
    const optedOutAt = optOut.json<{ recordedAt: string }>().recordedAt;
    await new Promise((r) => setTimeout(r, 5)); // distinct recordedAt for the `at` query
    await inject('POST', '/v1/events', {
      type: 'opt_in',
      phone: PHONE,
      brand: 'acme',
      source: 'web_form',
      evidence: { formUrl: 'https://acme.example/join', ip: '192.0.2.1' },
    });
    const now = (await inject('GET', `/v1/audit/${PHONE}`)).json<{
      events: { event: LedgerEvent; views: { view: string; applied: boolean }[] }[];
      effective: { brand: string | null; status: string }[];
    }>();
    expect(now.events).toHaveLength(2);
    expect(now.events[0]?.event).toMatchObject({ type: 'OptOutRecorded', evidence: { ip: '203.0.113.9' } });
    expect(now.events[0]?.views[0]).toMatchObject({ view: 'memory', applied: true });
    expect(now.effective.find((s) => s.brand === 'acme')?.status).toBe('opted_in');
    const then = (await inject('GET', `/v1/audit/${PHONE}?at=${encodeURIComponent(optedOutAt)}`)).json<{
      effective: { brand: string | null; status: string }[];
    }>();
    expect(then.effective.find((s) => s.brand === 'acme')?.status).toBe('opted_out');
  });

  it('serves health, readiness, views, metrics and OpenAPI docs', async () => {
    await inject('POST', '/v1/events', { type: 'opt_out', phone: PHONE, source: 'api' });
    await inject('GET', `/v1/suppressions/${PHONE}?minPosition=1`);
    expect((await inject('GET', '/healthz')).statusCode).toBe(200);
    expect((await inject('GET', '/readyz')).statusCode).toBe(200);
    const views = (await inject('GET', '/v1/views')).json<{
      views: { name: string; position: string; healthy: boolean }[];
    }>();
    expect(views.views).toEqual([
      expect.objectContaining({ name: 'memory', position: '0:1', healthy: true }),
    ]);
    const metrics = (await inject('GET', '/metrics')).body;
    expect(metrics).toMatch(/ledger_events_recorded_total\{source="api",type="OptOutRecorded"\} 1/);
    expect(metrics).toMatch(/ledger_check_duration_seconds_bucket\{le="0\.000001",kind="single"\}/);
    expect(metrics).toMatch(/ledger_view_lag_events\{view="memory",kind="memory"\} 0/);
    const openapi = (await inject('GET', '/docs/json')).json<{ paths: Record<string, unknown> }>();
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        '/v1/events',
        '/v1/inbound/sms',
        '/v1/suppressions/{phone}',
        '/v1/suppressions/check',
        '/v1/audit/{phone}',
        '/v1/views',
      ]),
    );
    expect((await inject('GET', '/nowhere')).json()).toMatchObject({ error: 'not_found' });
  });
});

describe('while the view replays', () => {
  it('fails closed until the replay is done', async () => {
    const dir = tempDir();
    const seeded = await openInProcess(dir);
    await Promise.all(
      Array.from({ length: 2000 }, (_, i) =>
        seeded.ledger.intake.record({
          type: 'opt_out',
          phone: `+1201555${String(1000 + (i % 9000)).padStart(4, '0')}` as never,
          brand: 'acme',
          source: 'import',
          actor: 'local',
        }),
      ),
    );
    await seeded.close();

    const reopened = await openInProcess(dir, {}, { start: false });
    try {
      const during = await reopened.app.inject({
        method: 'GET',
        url: `/v1/suppressions/+12015551000?brand=acme`,
      });
      expect(during.json()).toMatchObject({ allowed: false, status: 'unknown' });
      expect(during.json<Check>().reason).toMatch(/replaying/);
      expect((await reopened.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
      reopened.ledger.start();
      await reopened.ledger.ready();
      const after = await reopened.app.inject({
        method: 'GET',
        url: `/v1/suppressions/+12015551000?brand=acme`,
      });
      expect(after.json()).toMatchObject({ allowed: false, status: 'opted_out' });
    } finally {
      await reopened.close();
      removeDir(dir);
    }
  });
});

describe('ledger import', () => {
  let dir: string;
  let child: ChildLedger | undefined;

  beforeAll(async () => {
    dir = tempDir();
    child = await startChild(join(dir, 'data'));
  });
  afterAll(async () => {
    await child?.kill('SIGTERM');
    removeDir(dir);
  });

  it('records a CSV of opt-outs with a progress bar, reports bad lines by number, and is harmless to run twice', async () => {
    const rows = Array.from({ length: 60 }, (_, i) => `+1201555${3000 + i},acme`);
    rows[10] = 'not a number,acme';
    rows[20] = '+12015553020,acme,stop';
    const file = join(dir, 'dnc list.csv');
    writeFileSync(
      file,
      ['phone,brand,type', ...rows.map((r) => (r.split(',').length === 2 ? `${r},` : r))].join('\n'),
    );
    const env = { LEDGER_URL: child?.url ?? '' };
    const first = await runCli(['import', file], env);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/import \|.*\| 100% \| 58 recorded, 2 rejected/);
    const report = JSON.parse(first.stdout) as {
      lines: number;
      recorded: number;
      rejected: number;
      rejects: { line: number; error: string }[];
    };
    expect(report).toMatchObject({ lines: 60, recorded: 58, rejected: 2 });
    expect(report.rejects.map((r) => r.line).sort((a, b) => a - b)).toEqual([12, 22]);
    expect(report.rejects.find((r) => r.line === 22)?.error).toMatch(/type "stop"/);
    expect(report.rejects.find((r) => r.line === 12)?.error).toMatch(/not a valid phone number|phone/i);

    const again = await runCli(['import', file], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ recorded: 0, duplicates: 58, rejected: 2 });
    const check = await runCli(['check', '+12015553059', '--brand', 'acme'], env);
    expect(check.code).toBe(3);

    // The log comes back out, whole, for whoever has to replay it.
    const out = join(dir, 'export.jsonl');
    const exported = await runCli(['export', '--out', out], env);
    expect(exported.code).toBe(0);
    expect(exported.stderr).toMatch(/export \|.*\| 100% 58\/58 records/);
    const records = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { position: string; event: LedgerEvent });
    expect(records).toHaveLength(58);
    expect(records.map((r) => r.position)).toEqual(records.map((_, i) => `0:${i + 1}`));
    expect(records[0]?.event).toMatchObject({
      type: 'OptOutRecorded',
      phone: '+12015553000',
      brand: 'acme',
      source: 'import',
    });

    const jsonl = join(dir, 'more.jsonl');
    writeFileSync(jsonl, `${JSON.stringify({ phone: '+12015553100', brand: 'acme', note: 'web' })}\n{oops\n`);
    const lines = await runCli(['import', jsonl, '--source', 'web_form'], env);
    expect(JSON.parse(lines.stdout)).toMatchObject({
      recorded: 1,
      rejected: 1,
      rejects: [{ line: 2, error: expect.stringMatching(/not JSON/) as string }],
    });
  }, 60_000);
});
