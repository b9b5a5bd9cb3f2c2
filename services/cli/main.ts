#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { createKey, isScope, SCOPES } from '../access/index.js';
import { classifyReply } from '../classifier/index.js';
import { CHANNELS, LedgerError, parseSource, SOURCES } from '../ledger/index.js';
import { authHeaders, call, useApiKey } from './client.js';

const baseUrl = (): string => process.env.LEDGER_URL ?? 'http://127.0.0.1:8080';
useApiKey(process.env.LEDGER_API_KEY);

/** Prints the reply; a 4xx/5xx becomes a non-zero exit with the server's message. */
function show(reply: { status: number; body: unknown }, exitCode = 0): void {
  console.log(JSON.stringify(reply.body, null, 2));
  if (reply.status >= 400) process.exitCode = reply.status >= 500 ? 2 : 1;
  else process.exitCode = exitCode;
}

const isoTime = (value: string): string => {
  if (Number.isNaN(Date.parse(value)))
    throw new InvalidArgumentError('expected an ISO 8601 time such as 2026-01-31T12:00:00Z');
  return new Date(value).toISOString();
};

/** A source as the server takes it: any case, call_center for call_centre; the canonical name is sent. */
const sourceName = (value: string): string => {
  try {
    return parseSource(value);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
};
const SOURCE_HELP = `${SOURCES.join(', ')} (any case; call_center accepted)`;

const program = new Command()
  .name('ledger')
  .description('suppression-ledger: every opt-out on one immutable log, checked before every send')
  .showHelpAfterError();

program
  .command('start')
  .description('run the ledger (all roles in one process on the embedded log)')
  .addOption(
    new Option('--role <role>', 'run one role only (Kafka mode)')
      .choices(['all', 'intake', 'gate', 'projector'])
      .default('all'),
  )
  .action(async (options: { role: 'all' | 'intake' | 'gate' | 'projector' }) => {
    // Loaded here so the client commands below start without fastify and SQLite.
    const [{ loadConfig }, { startServer }] = await Promise.all([
      import('../config/index.js'),
      import('../api/index.js'),
    ]);
    const config = loadConfig(process.env);
    if (options.role !== 'all' && config.kafka === undefined) {
      throw new LedgerError(
        'invalid_config',
        `--role ${options.role} needs Kafka mode (LEDGER_KAFKA_BROKERS): the embedded log belongs to one process, which runs every role`,
      );
    }
    if (options.role === 'projector' && config.views.length === 0) {
      throw new LedgerError(
        'invalid_config',
        '--role projector runs the system views declared under "views" in LEDGER_CONFIG_FILE, and none are declared',
      );
    }
    const roles =
      options.role === 'all' ? (['intake', 'gate', 'projector'] as const) : ([options.role] as const);
    const server = await startServer(config, { roles });
    const where =
      config.kafka === undefined
        ? `embedded log in ${config.dataDir}`
        : `Kafka topic ${config.kafka.topic} on ${config.kafka.brokers.join(',')}`;
    console.log(`suppression-ledger listening on ${server.url} (${where}; roles: ${roles.join(', ')})`);
    console.log(
      `  API docs: ${server.url}/docs   health: ${server.url}/readyz   metrics: ${server.url}/metrics`,
    );
  });

program
  .command('record')
  .description('record an opt-out or opt-in on a running ledger')
  .addOption(
    new Option('--type <type>', 'what the person asked').choices(['opt_out', 'opt_in']).makeOptionMandatory(),
  )
  .requiredOption('--phone <phone>', 'the number, e.g. +14155550123')
  .option('--brand <brand>', "brand (default: the ledger's default brand)")
  .option('--program <program>', 'program within the brand')
  .addOption(new Option('--scope <scope>', 'width of the decision').choices(['global', 'brand', 'program']))
  .addOption(
    new Option('--source <source>', `where it came from: ${SOURCE_HELP}`)
      .argParser(sourceName)
      .default('api'),
  )
  .option('--source-system <name>', 'the system that captured it')
  .addOption(new Option('--channel <channel>').choices(CHANNELS))
  .option('--occurred-at <time>', 'when the person asked (ISO 8601; default now)', isoTime)
  .option('--event-id <id>', 'idempotency key')
  .option('--note <text>', 'evidence: a note for the auditor')
  .option('--raw-text <text>', 'evidence: what the person wrote or agreed to (opt-in proof)')
  .option('--consent-reference <ref>', 'evidence: where the proof of consent is kept (opt-in proof)')
  .option('--form-url <url>', 'evidence: the web form (web_form opt-in proof, with --ip)')
  .option('--ip <ip>', 'evidence: the address the form was sent from')
  .option(
    '--agent-id <id>',
    'evidence: the call-centre agent (call_centre opt-in proof, with --call-reference)',
  )
  .option('--call-reference <ref>', 'evidence: the call in the call system')
  .action(async (o: Record<string, string | undefined>) => {
    const evidence = Object.fromEntries(
      (['note', 'rawText', 'consentReference', 'formUrl', 'ip', 'agentId', 'callReference'] as const).flatMap(
        (key) => (o[key] === undefined ? [] : [[key, o[key]]]),
      ),
    );
    const body = {
      type: o.type,
      phone: o.phone,
      source: o.source,
      ...(o.brand !== undefined && { brand: o.brand }),
      ...(o.program !== undefined && { program: o.program }),
      ...(o.scope !== undefined && { scope: o.scope }),
      ...(o.sourceSystem !== undefined && { sourceSystem: o.sourceSystem }),
      ...(o.channel !== undefined && { channel: o.channel }),
      ...(o.occurredAt !== undefined && { occurredAt: o.occurredAt }),
      ...(o.eventId !== undefined && { eventId: o.eventId }),
      ...(Object.keys(evidence).length > 0 && { evidence }),
    };
    show(await call(baseUrl(), 'POST', '/v1/events', body));
  });

program
  .command('check')
  .description('may I send to this number? exit 0 when allowed, 3 when not')
  .argument('<phone>')
  .option('--brand <brand>')
  .option('--program <program>')
  .option('--min-position <token>', 'wait until the view has applied this position')
  .action(async (phone: string, o: { brand?: string; program?: string; minPosition?: string }) => {
    const query = new URLSearchParams();
    if (o.brand !== undefined) query.set('brand', o.brand);
    if (o.program !== undefined) query.set('program', o.program);
    if (o.minPosition !== undefined) query.set('minPosition', o.minPosition);
    const reply = await call(
      baseUrl(),
      'GET',
      `/v1/suppressions/${encodeURIComponent(phone)}?${query.toString()}`,
    );
    const allowed =
      typeof reply.body === 'object' &&
      reply.body !== null &&
      'allowed' in reply.body &&
      reply.body.allowed === true;
    show(reply, allowed ? 0 : 3);
  });

program
  .command('audit')
  .description('every event of a number, with evidence and the effective state')
  .argument('<phone>')
  .option('--at <time>', 'the state as the ledger knew it at this time', isoTime)
  .action(async (phone: string, o: { at?: string }) => {
    const query = o.at === undefined ? '' : `?at=${encodeURIComponent(o.at)}`;
    show(await call(baseUrl(), 'GET', `/v1/audit/${encodeURIComponent(phone)}${query}`));
  });

program
  .command('views')
  .description('each view: position, lag, health')
  .action(async () => show(await call(baseUrl(), 'GET', '/v1/views')));

program
  .command('import')
  .description(
    'record a file of opt-outs (CSV with a header row, or .jsonl) on a running ledger, with a progress bar',
  )
  .argument(
    '<file>',
    'columns: phone (required), type, brand, program, scope, source, sourceSystem, occurredAt, eventId, note',
  )
  .addOption(
    new Option('--type <type>', 'type of rows that name none')
      .choices(['opt_out', 'opt_in'])
      .default('opt_out'),
  )
  .addOption(
    new Option('--source <source>', `source of rows that name none: ${SOURCE_HELP}`)
      .argParser(sourceName)
      .default('import'),
  )
  .option('--brand <brand>', "brand of rows that name none (default: the ledger's default brand)")
  .option(
    '--concurrency <n>',
    'requests in flight',
    (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 256)
        throw new InvalidArgumentError('a whole number from 1 to 256');
      return n;
    },
    16,
  )
  .action(
    async (
      file: string,
      o: { type: 'opt_out' | 'opt_in'; source: string; brand?: string; concurrency: number },
    ) => {
      const [{ importFile }, { SingleBar, Presets }] = await Promise.all([
        import('./import.js'),
        import('cli-progress'),
      ]);
      const bar = new SingleBar(
        {
          format:
            'import |{bar}| {percentage}% | {recorded} recorded, {rejected} rejected | {eta_formatted} left',
          stream: process.stderr,
          noTTYOutput: true,
          notTTYSchedule: 2000,
        },
        Presets.shades_classic,
      );
      const report = await importFile(file, {
        baseUrl: baseUrl(),
        concurrency: o.concurrency,
        defaults: { type: o.type, source: o.source, ...(o.brand !== undefined && { brand: o.brand }) },
        progress: {
          start: (total) => bar.start(Math.max(total, 1), 0, { recorded: 0, rejected: 0 }),
          update: (bytes, counts) => bar.update(bytes, counts),
          stop: () => bar.stop(),
        },
      });
      console.log(JSON.stringify(report, null, 2));
      process.exitCode = report.rejected > 0 ? 1 : 0;
    },
  );

program
  .command('export')
  .description(
    'the whole log as JSON Lines ({position, event} a line), with a progress bar when written to a file',
  )
  .option('--out <file>', 'write to this file instead of standard output')
  .action(async (o: { out?: string }) => {
    const [{ createWriteStream }, { Readable, Transform }, { pipeline }, { SingleBar, Presets }] =
      await Promise.all([
        import('node:fs'),
        import('node:stream'),
        import('node:stream/promises'),
        import('cli-progress'),
      ]);
    let response: Response;
    try {
      response = await fetch(new URL('/v1/export', baseUrl()), { headers: authHeaders() });
    } catch (error) {
      throw new Error(
        `cannot reach the ledger at ${baseUrl()} (${(error as Error).message}); start it or set LEDGER_URL`,
      );
    }
    if (!response.ok || response.body === null) {
      console.error(await response.text());
      process.exitCode = response.status >= 500 ? 2 : 1;
      return;
    }
    const total = Number(response.headers.get('x-ledger-records') ?? 0);
    const bar =
      o.out === undefined
        ? undefined
        : new SingleBar(
            {
              format: 'export |{bar}| {percentage}% {value}/{total} records',
              stream: process.stderr,
              noTTYOutput: true,
              notTTYSchedule: 2000,
            },
            Presets.shades_classic,
          );
    bar?.start(Math.max(total, 1), 0);
    let lines = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        for (const byte of chunk) if (byte === 10) lines += 1;
        bar?.update(lines);
        callback(null, chunk);
      },
    });
    await pipeline(
      Readable.fromWeb(response.body),
      counter,
      o.out === undefined ? process.stdout : createWriteStream(o.out),
    );
    bar?.stop();
    if (lines !== total) {
      console.error(`ledger: the export ended after ${lines} of ${total} records`);
      process.exitCode = 2;
    }
  });

program
  .command('rebuild')
  .description('rebuild a view from the start of the log into a fresh store and switch to it (progress bar)')
  .argument('<view>', 'the view name, as `ledger views` lists it')
  .action(async (name: string) => {
    const path = `/v1/views/${encodeURIComponent(name)}/rebuild`;
    let reply = await call(baseUrl(), 'POST', path);
    if (reply.status >= 400) return show(reply);
    const { SingleBar, Presets } = await import('cli-progress');
    const bar = new SingleBar(
      {
        format: `rebuild ${name} |{bar}| {percentage}% {value}/{total} events | {state} | {speed} events/s`,
        stream: process.stderr,
        noTTYOutput: true,
        notTTYSchedule: 2000,
      },
      Presets.shades_classic,
    );
    type Progress = {
      state: string;
      applied: number;
      target: number;
      eventsPerSecond: number | null;
      error: string | null;
      startedAt: string;
    };
    let progress = reply.body as Progress;
    bar.start(Math.max(progress.target, 1), progress.applied, { state: progress.state, speed: 0 });
    while (progress.state === 'replaying' || progress.state === 'switching') {
      await new Promise((resolve) => setTimeout(resolve, 250));
      reply = await call(baseUrl(), 'GET', path);
      if (reply.status >= 400) break;
      progress = reply.body as Progress;
      const seconds = Math.max(0.001, (Date.now() - Date.parse(progress.startedAt)) / 1000);
      bar.setTotal(Math.max(progress.target, progress.applied, 1));
      bar.update(progress.applied, { state: progress.state, speed: Math.round(progress.applied / seconds) });
    }
    bar.stop();
    show(reply, progress.state === 'done' ? 0 : 1);
  });

program
  .command('reconcile')
  .description('compare every view with the fold of the log; exit 0 when they agree, 3 when not')
  .option('--repair', 'rewrite each differing phone in the view from the log')
  .option('--view <name>', 'only this view')
  .action(async (o: { repair?: boolean; view?: string }) => {
    const reply = await call(
      baseUrl(),
      'POST',
      '/v1/reconcile',
      { ...(o.repair === true && { repair: true }), ...(o.view !== undefined && { view: o.view }) },
      30 * 60_000,
    );
    const views = (reply.body as { views?: { differences: number; repaired: number }[] }).views ?? [];
    const unrepaired = views.some((v) => v.differences > 0 && v.repaired === 0);
    show(reply, unrepaired ? 3 : 0);
  });

const deadletters = program
  .command('deadletters')
  .description("a webhook view's dead letters: changes its receiver never accepted");

deadletters
  .command('list')
  .description('list them, oldest first; exit 0 when there are none, 3 when some are owed')
  .argument('<view>', 'the webhook view name, as `ledger views` lists it')
  .option('--limit <n>', 'at most this many', (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 100_000)
      throw new InvalidArgumentError('a whole number from 1 to 100000');
    return n;
  })
  .action(async (name: string, o: { limit?: number }) => {
    const query = o.limit === undefined ? '' : `?limit=${o.limit}`;
    const reply = await call(baseUrl(), 'GET', `/v1/views/${encodeURIComponent(name)}/deadletters${query}`);
    const pending = (reply.body as { pending?: number }).pending ?? 0;
    show(reply, pending > 0 ? 3 : 0);
  });

deadletters
  .command('replay')
  .description(
    'resend them with their original idempotency keys after fixing the receiver; exit 0 when none is left, 3 when some still are',
  )
  .argument('<view>', 'the webhook view name, as `ledger views` lists it')
  .action(async (name: string) => {
    const reply = await call(
      baseUrl(),
      'POST',
      `/v1/views/${encodeURIComponent(name)}/deadletters/replay`,
      undefined,
      30 * 60_000,
    );
    const body = reply.body as { sent?: number; failed?: number; remaining?: number };
    if (reply.status < 400) {
      console.error(
        `replay ${name}: ${body.sent ?? 0} sent, ${body.failed ?? 0} failed, ${body.remaining ?? 0} remaining`,
      );
    }
    show(reply, (body.remaining ?? 0) > 0 ? 3 : 0);
  });

program
  .command('classify')
  .description('what a reply means (runs locally)')
  .argument('<text>')
  .action((text: string) => {
    const { intent, confidence, matched, language } = classifyReply(text);
    console.log(JSON.stringify({ intent, confidence, matched, language }, null, 2));
  });

const keys = program.command('keys').description('API keys: callers send "Authorization: Bearer <secret>"');
keys
  .command('create')
  .description('a new secret (printed once) and the entry to add under "apiKeys" in LEDGER_CONFIG_FILE')
  .requiredOption('--id <keyId>', 'the key id: who acts, in logs and on every event it records')
  .requiredOption('--scopes <scopes>', `comma-separated: ${SCOPES.join(', ')}`)
  .option('--brands <brands>', 'comma-separated brands the key may act on, or * for every brand', '*')
  .action((o: { id: string; scopes: string; brands: string }) => {
    const list = (value: string): string[] =>
      value
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
    const scopes = list(o.scopes);
    const unknown = scopes.filter((s) => !isScope(s));
    if (scopes.length === 0 || unknown.length > 0) {
      throw new InvalidArgumentError(
        `--scopes: ${unknown.join(', ') || '(none)'} not among ${SCOPES.join(', ')}`,
      );
    }
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(o.id)) {
      throw new InvalidArgumentError("--id: 1-64 letters, digits, '.', '_' or '-'");
    }
    const brands = list(o.brands);
    const { secret, entry } = createKey(scopes.filter(isScope), brands.includes('*') ? ['*'] : brands);
    console.log(`secret (shown once; give it to the caller as LEDGER_API_KEY or "Authorization: Bearer"):`);
    console.log(secret);
    console.log('add under "apiKeys" in LEDGER_CONFIG_FILE, then restart the ledger:');
    console.log(JSON.stringify({ [o.id]: entry }, null, 2));
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`ledger: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = error instanceof LedgerError && error.code === 'invalid_config' ? 78 : 1;
});
