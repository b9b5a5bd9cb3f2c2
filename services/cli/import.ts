import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import { call } from './client.js';

/** One line of an import file, as `POST /v1/events` takes it. */
export interface ImportRecord {
  readonly type: 'opt_out' | 'opt_in';
  readonly phone: string;
  readonly source: string;
  readonly eventId: string;
  readonly brand?: string;
  readonly program?: string;
  readonly scope?: string;
  readonly sourceSystem?: string;
  readonly occurredAt?: string;
  readonly evidence?: Readonly<Partial<Record<(typeof EVIDENCE_COLUMNS)[number], string>>>;
}

/** Evidence a file may carry, one column each: opt-in rows need their proof of consent (see CONSENT_EVIDENCE). */
const EVIDENCE_COLUMNS = [
  'note',
  'rawText',
  'consentReference',
  'formUrl',
  'ip',
  'agentId',
  'callReference',
] as const;

const COLUMNS = [
  'phone',
  'type',
  'brand',
  'program',
  'scope',
  'source',
  'sourceSystem',
  'occurredAt',
  'eventId',
  ...EVIDENCE_COLUMNS,
];

export interface ImportDefaults {
  readonly type: 'opt_out' | 'opt_in';
  readonly source: string;
  readonly brand?: string;
}

/**
 * A row of the file → the request for it, or what is wrong with it. Only `phone` is required; each
 * row's event id defaults to `import:<hash of what the row says>`, which makes re-running an import
 * harmless. It once was `import:<file name>:<line>`: another file of the same name then reused the ids,
 * the ledger refused its rows as conflicts (409), and the numbers in them stayed allowed. A row repeated
 * word for word (in this file or another) is the same fact and is recorded once.
 */
export function importRecord(
  row: Readonly<Record<string, string | undefined>>,
  defaults: ImportDefaults,
): ImportRecord | string {
  const unknown = Object.keys(row).filter((key) => !COLUMNS.includes(key));
  if (unknown.length > 0) return `unknown column ${unknown.join(', ')} (known: ${COLUMNS.join(', ')})`;
  const value = (key: string): string | undefined => {
    const v = row[key]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const phone = value('phone');
  if (phone === undefined) return 'phone is empty';
  const type = value('type') ?? defaults.type;
  if (type !== 'opt_out' && type !== 'opt_in') return `type "${type}" must be opt_out or opt_in`;
  const occurredAt = value('occurredAt');
  if (occurredAt !== undefined && Number.isNaN(Date.parse(occurredAt))) {
    return `occurredAt "${occurredAt}" is not an ISO 8601 time`;
  }
  const brand = value('brand') ?? defaults.brand;
  const program = value('program');
  const scope = value('scope');
  const sourceSystem = value('sourceSystem');
  const evidence = Object.fromEntries(
    EVIDENCE_COLUMNS.flatMap((key) => {
      const v = value(key);
      return v === undefined ? [] : [[key, v]];
    }),
  );
  return {
    type,
    phone,
    source: value('source') ?? defaults.source,
    eventId:
      value('eventId') ??
      contentId([
        type,
        phone,
        brand,
        program,
        scope,
        value('source') ?? defaults.source,
        sourceSystem,
        occurredAt === undefined ? undefined : new Date(occurredAt).toISOString(),
        ...EVIDENCE_COLUMNS.map((key) => evidence[key]),
      ]),
    ...(brand !== undefined && { brand }),
    ...(program !== undefined && { program }),
    ...(scope !== undefined && { scope }),
    ...(sourceSystem !== undefined && { sourceSystem }),
    ...(occurredAt !== undefined && { occurredAt: new Date(occurredAt).toISOString() }),
    ...(Object.keys(evidence).length > 0 && { evidence }),
  };
}

/** The fields as one unambiguous string (JSON: no two lists of values give the same text), hashed. */
function contentId(fields: readonly (string | undefined)[]): string {
  const digest = createHash('sha256').update(JSON.stringify(fields.map((f) => f ?? null)));
  return `import:${digest.digest('hex').slice(0, 32)}`;
}

export interface ImportReport {
  readonly file: string;
  readonly lines: number;
  readonly recorded: number;
  readonly duplicates: number;
  readonly rejected: number;
  /** The first rejected lines with why (at most 100). */
  readonly rejects: readonly { readonly line: number; readonly error: string }[];
}

export interface ImportProgress {
  start(totalBytes: number): void;
  update(bytesRead: number, counts: { recorded: number; rejected: number }): void;
  stop(): void;
}

/** The last eight ASCII digits: the same for every spelling of one number (an E.164 ends like it). */
function orderKey(phone: string): string {
  return phone.replace(/[^0-9]/g, '').slice(-8);
}

/**
 * Streams a CSV (header row; or JSON Lines when the file ends in .jsonl) to a running ledger through
 * `POST /v1/events`, `concurrency` requests at a time, and reports every line it could not record.
 */
export async function importFile(
  file: string,
  options: {
    readonly baseUrl: string;
    readonly concurrency: number;
    readonly defaults: ImportDefaults;
    readonly progress?: ImportProgress;
  },
): Promise<ImportReport> {
  const size = statSync(file).size;
  const stream = createReadStream(file);
  const jsonLines = /\.jsonl$|\.ndjson$/i.test(file);
  const defaults = options.defaults;
  const counts = { lines: 0, recorded: 0, duplicates: 0, rejected: 0 };
  const rejects: { line: number; error: string }[] = [];
  const reject = (line: number, error: string): void => {
    counts.rejected += 1;
    if (rejects.length < 100) rejects.push({ line, error });
  };
  options.progress?.start(size);
  const inFlight = new Set<Promise<void>>();
  // Rows of one number go in file order: sent side by side, "opt_in then opt_out" could reach the log
  // reversed and leave the number allowed. Keyed coarsely (last digits), so any spelling of a number
  // shares its chain; an unrelated number that shares the key only waits its turn.
  const lastOfNumber = new Map<string, Promise<void>>();
  const send = async (line: number, record: ImportRecord): Promise<void> => {
    const reply = await call(options.baseUrl, 'POST', '/v1/events', record);
    if (reply.status === 201) counts.recorded += 1;
    else if (reply.status === 200) counts.duplicates += 1;
    else if (reply.status >= 500) {
      throw new Error(
        `the ledger failed on line ${line} (HTTP ${reply.status}): ${JSON.stringify(reply.body)}`,
      );
    } else {
      const body = reply.body as { message?: string };
      reject(line, body.message ?? `HTTP ${reply.status}`);
    }
  };
  const rows: AsyncIterable<{ line: number; row: Record<string, string> | string }> = jsonLines
    ? readJsonLines(stream)
    : readCsv(stream);
  for await (const { line, row } of rows) {
    counts.lines += 1;
    const record = typeof row === 'string' ? row : importRecord(row, defaults);
    if (typeof record === 'string') reject(line, record);
    else {
      const key = orderKey(record.phone);
      const before = lastOfNumber.get(key);
      const request =
        before === undefined
          ? send(line, record)
          : before.catch(() => undefined).then(() => send(line, record));
      lastOfNumber.set(key, request);
      inFlight.add(request);
      void request
        .finally(() => {
          inFlight.delete(request);
          if (lastOfNumber.get(key) === request) lastOfNumber.delete(key);
        })
        .catch(() => undefined);
      if (inFlight.size >= options.concurrency) await Promise.race(inFlight);
    }
    options.progress?.update(stream.bytesRead, counts);
  }
  await Promise.all(inFlight);
  options.progress?.update(size, counts);
  options.progress?.stop();
  return { file, ...counts, rejects };
}

async function* readCsv(
  stream: NodeJS.ReadableStream,
): AsyncIterable<{ line: number; row: Record<string, string> | string }> {
  const parser = stream.pipe(
    parse({
      columns: true,
      skip_empty_lines: true,
      trim: true,
      bom: true,
      relax_column_count: true,
      info: true,
    }),
  );
  for await (const { record, info } of parser as AsyncIterable<{
    record: Record<string, string>;
    info: { lines: number };
  }>) {
    yield { line: info.lines, row: record };
  }
}

async function* readJsonLines(
  stream: NodeJS.ReadableStream,
): AsyncIterable<{ line: number; row: Record<string, string> | string }> {
  let line = 0;
  for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
    line += 1;
    if (text.trim() === '') continue;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        yield { line, row: 'not a JSON object' };
      } else {
        yield {
          line,
          row: Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, v === null ? '' : String(v)])),
        };
      }
    } catch (error) {
      yield { line, row: `not JSON: ${(error as Error).message}` };
    }
  }
}
