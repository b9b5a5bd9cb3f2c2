import { eventually } from '../support/eventually.js';
import { removeDir, startChild, tempDir, type ChildLedger } from '../support/ledger-harness.js';

const WEB_PROOF = { formUrl: 'https://acme.example/join', ip: '192.0.2.1' };

let dir: string;
let ledger: ChildLedger;
let serial = 0;

/** A fresh number per test: scenarios never see each other's events. */
const nextPhone = (): string => `+1201555${String(2000 + (serial += 1)).padStart(4, '0')}`;

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${ledger.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function check(phone: string, query: string): Promise<{ status: string; allowed: boolean }> {
  const response = await fetch(`${ledger.url}/v1/suppressions/${phone}?${query}`);
  return (await response.json()) as { status: string; allowed: boolean };
}

async function record(body: Record<string, unknown>): Promise<string> {
  const { status, json } = await post('/v1/events', body);
  expect({ status, json }).toMatchObject({ status: 201 });
  return json.position as string;
}

beforeAll(async () => {
  dir = tempDir();
  ledger = await startChild(dir);
});

afterAll(async () => {
  await ledger.kill('SIGTERM');
  removeDir(dir);
});

describe('who recorded each event (ledger start, no keys configured: the actor is local)', () => {
  it('the server writes the actor; audit and export show it', async () => {
    const phone = nextPhone();
    await record({
      type: 'opt_out',
      phone,
      brand: 'acme',
      source: 'crm',
      eventId: `actor-${phone.slice(1)}`,
    });

    const audit = (await (await fetch(`${ledger.url}/v1/audit/${phone}`)).json()) as {
      events: { event: { actor: string | null; evidence: Record<string, unknown> } }[];
    };
    expect(audit.events).toHaveLength(1);
    expect(audit.events[0]?.event).toMatchObject({ actor: 'local', evidence: { actor: 'local' } });

    const lines = (await (await fetch(`${ledger.url}/v1/export`)).text())
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { actor: string | null; event: { eventId: string } });
    expect(lines.find((line) => line.event.eventId === `actor-${phone.slice(1)}`)).toMatchObject({
      actor: 'local',
    });
  });

  it('a caller cannot say who recorded it: evidence.actor is refused, naming the field', async () => {
    const { status, json } = await post('/v1/events', {
      type: 'opt_out',
      phone: nextPhone(),
      brand: 'acme',
      source: 'crm',
      evidence: { actor: 'someone-else' },
    });
    expect(status).toBe(400);
    expect(json).toMatchObject({ error: 'invalid_request' });
    expect(json.message).toContain('evidence.actor');
  });
});

describe('an opt-in must carry proof of consent', () => {
  it('without it: 400 consent_evidence_required naming exactly the fields to add', async () => {
    const phone = nextPhone();
    const web = await post('/v1/events', { type: 'opt_in', phone, brand: 'acme', source: 'web_form' });
    expect(web.status).toBe(400);
    expect(web.json).toMatchObject({ error: 'consent_evidence_required' });
    expect(web.json.message).toMatch(/add evidence\.formUrl and evidence\.ip$/);

    const call = await post('/v1/events', {
      type: 'opt_in',
      phone,
      brand: 'acme',
      source: 'call_centre',
      evidence: { agentId: 'agent-7' },
    });
    expect(call.status).toBe(400);
    expect(call.json.message).toMatch(/add evidence\.callReference$/);

    const unknown = await post('/v1/events', {
      type: 'opt_in',
      phone,
      brand: 'acme',
      source: 'web_form',
      evidence: { ...WEB_PROOF, formURL: 'x' },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json.message).toContain('evidence.formURL');

    const audit = (await (await fetch(`${ledger.url}/v1/audit/${phone}`)).json()) as { events: unknown[] };
    expect(audit.events).toHaveLength(0);
  });

  it('with it: recorded, the proof kept in the evidence', async () => {
    const phone = nextPhone();
    await record({ type: 'opt_in', phone, brand: 'acme', source: 'web_form', evidence: WEB_PROOF });
    const audit = (await (await fetch(`${ledger.url}/v1/audit/${phone}`)).json()) as {
      events: { event: { evidence: Record<string, unknown> } }[];
    };
    expect(audit.events[0]?.event.evidence).toEqual({ ...WEB_PROOF, actor: 'local' });
  });
});

describe('an opt-in never lifts an opt-out recorded at a narrower scope than its own', () => {
  it('STOPALL and a brand STOP, then a global opt-in: the brand and its programs stay suppressed', async () => {
    const phone = nextPhone();
    const t = Date.now() - 60_000;
    await record({
      type: 'opt_out',
      phone,
      brand: 'acme',
      scope: 'global',
      source: 'crm',
      occurredAt: new Date(t).toISOString(),
    });
    await record({
      type: 'opt_out',
      phone,
      brand: 'acme',
      source: 'crm',
      occurredAt: new Date(t).toISOString(),
    });
    const position = await record({
      type: 'opt_in',
      phone,
      brand: 'acme',
      scope: 'global',
      source: 'web_form',
      evidence: WEB_PROOF,
    });
    const at = `minPosition=${position}`;
    expect(await check(phone, `brand=acme&${at}`)).toMatchObject({ status: 'opted_out', allowed: false });
    expect(await check(phone, `brand=acme&program=promo&${at}`)).toMatchObject({ allowed: false });
    // The STOPALL itself was lifted: another brand may message again.
    expect(await check(phone, `brand=globex&${at}`)).toMatchObject({ status: 'opted_in', allowed: true });
  });

  it('a brand opt-in leaves a program opt-out standing', async () => {
    const phone = nextPhone();
    const t = Date.now() - 60_000;
    await record({
      type: 'opt_out',
      phone,
      brand: 'acme',
      program: 'promo',
      scope: 'program',
      source: 'crm',
      occurredAt: new Date(t).toISOString(),
    });
    const position = await record({
      type: 'opt_in',
      phone,
      brand: 'acme',
      source: 'call_centre',
      evidence: { agentId: 'agent-7', callReference: 'call-42' },
    });
    await eventually(async () =>
      expect(await check(phone, `brand=acme&program=promo&minPosition=${position}`)).toMatchObject({
        status: 'opted_out',
        allowed: false,
      }),
    );
    expect(await check(phone, `brand=acme&program=alerts&minPosition=${position}`)).toMatchObject({
      status: 'opted_in',
      allowed: true,
    });
  });
});
