import { memoisedPhoneParser, type E164, type LedgerEvent, type Region } from '../../ledger/index.js';
import { parseToken, type LogPoint } from '../../log/index.js';

/** Times as clients read them: ISO 8601, or null where there is none. */
export const iso = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

/** The error replies every route with a body or a query may give. */
export const errors = { 400: { $ref: 'Error#' }, 413: { $ref: 'Error#' } } as const;
export const notFound = { 404: { $ref: 'Error#' } } as const;
export const conflict = { 409: { $ref: 'Error#' } } as const;

/** How requests name phones and brands: what every route that takes one needs, and nothing more. */
export interface RequestNames {
  /** A phone as the caller spelled it, in E.164 (LedgerError invalid_phone otherwise). */
  phoneOf(raw: string): E164;
  /** The brand the caller named, or the default brand. */
  brandOf(brand: string | undefined): string;
}

/** One memoised parser for the whole app: a number asked about again is not parsed again. */
export function requestNames(defaultRegion: Region, defaultBrand: string): RequestNames {
  const phoneOf = memoisedPhoneParser(defaultRegion);
  return { phoneOf, brandOf: (brand) => brand ?? defaultBrand };
}

/** A minPosition token as log points; undefined when the caller gave none. */
export const positionOf = (token: string | undefined): readonly LogPoint[] | undefined =>
  token === undefined ? undefined : parseToken(token);

/** Events as clients read them: times as ISO 8601. */
export function eventJson(event: LedgerEvent): Record<string, unknown> {
  return {
    ...event,
    occurredAt: iso(event.occurredAt),
    recordedAt: iso(event.recordedAt),
    // Who recorded it; null for events written before the ledger recorded actors (schema v1/v2).
    actor: event.evidence.actor ?? null,
  };
}
