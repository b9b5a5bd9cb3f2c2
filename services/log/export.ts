import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { START, type LedgerEvent } from '../ledger/index.js';
import { pointToken } from './cursor.js';
import type { Cursor, EventLog, LogRecord } from './port.js';

/** A line of an export: a record as the log holds it, or what is known of one no schema could read. */
export type ExportLine =
  | {
      readonly position: string;
      /** Who recorded the event; null for events written before the ledger recorded actors. */
      readonly actor: string | null;
      readonly event: LedgerEvent;
    }
  | { readonly position: string; readonly key: string | null; readonly undecodable: string };

export interface LogExport {
  /** JSON Lines, one record a line, each partition in log order. */
  readonly stream: Readable;
  /** How many records the log held when the export started: what the stream will carry. */
  readonly records: number;
  /** The log's head when the export started; records appended later are not in it. */
  readonly head: Cursor;
}

/**
 * Reads the whole log as it stood when asked — on the embedded log and on Kafka alike, through a
 * consumer of its own that never commits anything — and streams it as JSON Lines, with backpressure.
 * What legal teams replay: every event with its evidence, in log order per phone.
 */
export async function exportLog(log: EventLog): Promise<LogExport> {
  const head = await log.head();
  // What the stream will really carry: positions a duplicate skipped are not records.
  const records = (await log.count?.(head)) ?? head.reduce((sum: number, p) => sum + p, 0);
  const stream = new PassThrough();
  const reached: number[] = head.map(() => START);
  const done = (): boolean => head.every((h, p) => (reached[p] ?? START) >= h);
  if (done()) {
    stream.end();
    return { stream, records, head };
  }
  const write = async (line: ExportLine): Promise<void> => {
    if (!stream.write(`${JSON.stringify(line)}\n`)) await once(stream, 'drain');
  };
  const consumption = log.consume({
    group: `ledger-export-${randomUUID().slice(0, 8)}`,
    checkpoint: () => Promise.resolve(START),
    deliver: async (batch: readonly LogRecord[], { partition }) => {
      for (const record of batch) {
        if (record.position > (head[partition] ?? START) || stream.destroyed) break;
        await write({
          position: pointToken(record),
          actor: record.event.evidence.actor ?? null,
          event: record.event,
        });
        reached[partition] = record.position;
      }
      if (done()) finish();
    },
    undecodable: async (record) => {
      if (record.position <= (head[record.partition] ?? START) && !stream.destroyed) {
        await write({ position: pointToken(record), key: record.key, undecodable: record.reason });
        reached[record.partition] = record.position;
      }
      if (done()) finish();
    },
  });
  let finished = false;
  function finish(): void {
    if (finished) return;
    finished = true;
    void consumption.stop().finally(() => stream.end());
  }
  // A reader that goes away stops the consumer.
  stream.on('close', () => {
    if (!finished) {
      finished = true;
      void consumption.stop();
    }
  });
  return { stream, records, head };
}
