import { asPosition, LedgerError, type Position } from '../ledger/index.js';
import type { Cursor } from './port.js';

/** A position with its partition: what a client gets back from a write, and may wait for. */
export interface LogPoint {
  readonly partition: number;
  readonly position: Position;
}

/**
 * Tokens are opaque to clients but stable: `P:N` for one point, comma-separated for a cursor, and a bare
 * `N` meaning partition 0 (the embedded log's only partition).
 */
export function pointToken({ partition, position }: LogPoint): string {
  return `${partition}:${position}`;
}

export function cursorToken(cursor: Cursor): string {
  // Array.from visits the holes of a sparse cursor (partitions nothing was applied from yet) as 0; an
  // empty cursor (nothing applied anywhere) is written as partition 0 at 0, so every token parses back.
  if (cursor.length === 0) return '0:0';
  return Array.from(cursor, (position, partition) => `${partition}:${position ?? 0}`).join(',');
}

/** Parses what pointToken or cursorToken wrote: the points a reader must have reached. */
export function parseToken(token: string): readonly LogPoint[] {
  const parts = token.split(',');
  if (token === '' || parts.length > 4096) throw badToken(token);
  return parts.map((part) => {
    const match = /^(?:(\d{1,5}):)?(\d{1,15})$/.exec(part.trim());
    if (match === null) throw badToken(token);
    return { partition: Number(match[1] ?? 0), position: asPosition(Number(match[2])) };
  });
}

/** Whether `cursor` has reached every point. */
export function reached(cursor: Cursor, points: readonly LogPoint[]): boolean {
  return points.every(({ partition, position }) => (cursor[partition] ?? 0) >= position);
}

function badToken(token: string): LedgerError {
  return new LedgerError(
    'invalid_request',
    `"${token.slice(0, 80)}" is not a position token returned by this ledger (expected N, P:N or a list of P:N)`,
  );
}
