// Appends opt-outs to the embedded log in the directory given as the only argument, from several
// concurrent writers, and prints "<eventId> <partition>:<position>" for each event once its append
// resolved, i.e. once the log acknowledged it as durable. The crash test SIGKILLs it mid-stream. Plain Node: it runs
// the compiled log from dist/ (`make build`). It stops by itself after 30 s so it can never outlive a
// test that failed to kill it.
'use strict';
const { randomUUID } = require('node:crypto');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const WRITERS = 4;
const GIVE_UP_AFTER_MS = 30_000;

function optOut(writer, n) {
  const now = Date.now();
  return {
    type: 'OptOutRecorded',
    eventId: `crash-${writer}-${n}-${randomUUID()}`,
    phone: `+1201555${String(writer * 1000 + (n % 1000)).padStart(4, '0')}`,
    brand: 'acme',
    scope: 'brand:acme',
    occurredAt: now,
    recordedAt: now,
    source: 'sms_reply',
    sourceSystem: 'crash-test',
    channel: 'sms',
    evidence: { rawText: 'STOP' },
  };
}

async function main() {
  const dataDir = process.argv[2];
  if (dataDir === undefined) throw new Error('usage: node append-until-killed.cjs <data-dir>');
  const compiledLog = join(__dirname, '../../dist/services/log/index.js');
  if (!existsSync(compiledLog)) throw new Error(`${compiledLog} is missing: run "make build" first`);
  // dist/ is ESM: a CommonJS script reaches it through import().
  const { EmbeddedEventLog } = await import(pathToFileURL(compiledLog).href);
  const log = EmbeddedEventLog.open(dataDir);
  const giveUpAt = Date.now() + GIVE_UP_AFTER_MS;

  async function write(writer) {
    for (let n = 0; Date.now() < giveUpAt; n += 1) {
      // Groups of 1-3 events, so both whole groups and group commits are cut by the kill.
      const group = Array.from({ length: 1 + (n % 3) }, (_, i) => optOut(writer, n * 3 + i));
      const appended = await log.append(group);
      process.stdout.write(appended.map((a) => `${a.event.eventId} ${a.partition}:${a.position}\n`).join(''));
    }
  }

  await Promise.all(Array.from({ length: WRITERS }, (_, writer) => write(writer)));
  await log.close();
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
