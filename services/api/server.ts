import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { LedgerError } from '../ledger/index.js';
import { openEmbeddedLedger, openKafkaLedger, type Ledger } from '../runtime/index.js';
import { buildApp, ROLES, type Role } from './app.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly ledger: Ledger;
  readonly url: string;
  close(): Promise<void>;
}

/** Opens the ledger, serves it, and closes both in order on SIGINT/SIGTERM. */
export async function startServer(
  config: Config,
  {
    roles = ROLES,
    onSignalClosed = () => process.exit(0),
  }: { roles?: readonly Role[]; onSignalClosed?: () => void } = {},
): Promise<RunningServer> {
  const keyed = Object.keys(config.apiKeys).length > 0;
  // Secure by default: an open ledger may be reachable by anyone only when it asks for keys.
  if (!keyed && !isLoopback(config.host)) {
    throw new LedgerError(
      'invalid_config',
      `HOST=${config.host} would let anyone on the network record and check opt-outs, and no API keys are configured: create one with "ledger keys create --id <name> --scopes checks:read,events:write" and add the printed entry under "apiKeys" in LEDGER_CONFIG_FILE, or listen on 127.0.0.1`,
    );
  }
  // Kafka talks while connecting, before the app (and its logger) exists: those lines go to stderr.
  const served: { app?: FastifyInstance } = {};
  const logError = (extra: object, message: string): void => {
    if (served.app === undefined) {
      process.stderr.write(`${JSON.stringify({ level: 'error', msg: message, ...extra })}\n`);
    } else {
      served.app.log.error(extra, message);
    }
  };
  const clock = {
    onProjectorError: (error: unknown, view: string) =>
      logError({ err: error, view }, 'projector failed; retrying'),
    onWarning: (message: string, detail: object) => served.app?.log.warn(detail, message),
    onLog: (level: string, message: string, extra: object) => {
      if (level === 'error') logError(extra, `kafka: ${message}`);
      else served.app?.log.warn(extra, `kafka: ${message}`);
    },
  };
  const ledger =
    config.kafka === undefined
      ? openEmbeddedLedger(config, clock)
      : await openKafkaLedger(config, clock, { createTopic: roles.includes('intake') });
  const app = await buildApp(ledger, { logger: { level: config.logLevel }, roles });
  served.app = app;
  if (!keyed) {
    app.log.warn(
      { host: config.host },
      'no API keys configured: listening on loopback only, every caller acts as "local"; "ledger keys create" makes one',
    );
  }
  await app.listen({ port: config.port, host: config.host });
  // Checks are served from the first moment, failing closed until the replay is done.
  ledger.start({
    central: roles.includes('intake') || roles.includes('gate'),
    systems: roles.includes('projector'),
  });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  void ledger
    .ready()
    .then(() => app.log.info({ asOf: ledger.gate.asOf }, 'views replayed; checks are served'));
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await app.close();
      await ledger.close();
    })());
  const onSignal = (signal: NodeJS.Signals): void => {
    app.log.info({ signal }, 'shutting down');
    void close().then(onSignalClosed);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { app, ledger, url, close };
}

/** 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  return (
    h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h)
  );
}
