import type { E164, LedgerEvent, Position } from '../services/ledger/index.js';
import type { LogRecord } from '../services/log/index.js';

/** Area codes of the synthetic numbers: all valid NANP geographic codes. */
const AREAS = [201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224, 225];
/** Exchanges 200-999 without the N11 service codes: every one valid for libphonenumber. */
const EXCHANGES = Array.from({ length: 800 }, (_, i) => 200 + i).filter((x) => x % 100 !== 11);
const PER_AREA = EXCHANGES.length * 10_000;

/**
 * The i-th synthetic US number in E.164, distinct for every i below 150M and valid for
 * libphonenumber (so the API accepts it as it would a real one).
 */
export function phoneAt(i: number): E164 {
  const area = AREAS[Math.floor(i / PER_AREA) % AREAS.length] ?? 201;
  const rest = i % PER_AREA;
  const exchange = EXCHANGES[Math.floor(rest / 10_000)] ?? 200;
  const line = rest % 10_000;
  return `+1${area}${exchange}${String(line).padStart(4, '0')}` as E164;
}

const ID = Buffer.from('00000000-0000-4000-8000-000000000000', 'latin1');
const HEX = Buffer.from('0123456789abcdef', 'latin1');
/** Per process: ids of two processes never collide. */
const idRun = Math.floor(Math.random() * 0xffffffff);

/**
 * A unique id shaped like the ledger's own (a UUID, 36 characters) as one flat string, like the ids a
 * view holds after decoding a record (JSON or Avro). Ids built by concatenation (randomUUID among them)
 * are trees of string pieces until something flattens them, and would inflate the memory figures.
 */
export function eventIdAt(i: number): string {
  let run = idRun;
  for (let k = 7; k >= 0; k--, run >>>= 4) ID[k] = HEX[run & 15] ?? 48;
  let n = i;
  for (let k = 35; k >= 24; k--, n = Math.floor(n / 16)) ID[k] = HEX[n % 16] ?? 48;
  return ID.toString('latin1');
}

export interface SyntheticOptions {
  readonly now: number;
  /** Phones the events cycle over: event i is about phoneAt(i % phones). */
  readonly phones: number;
  /** Share of opt-ins (the rest are opt-outs); 0 for opt-outs only. */
  readonly optInShare?: number;
  /** Brands events alternate over (default acme only). */
  readonly brands?: readonly string[];
}

/**
 * The i-th synthetic consent event, as intake would record it from a CRM: brand scope, evidence with
 * the system that sent it. Scope strings are shared between events of one brand.
 */
export function consentEventAt(i: number, options: SyntheticOptions): LedgerEvent {
  const brands = options.brands ?? ['acme'];
  const brand = brands[i % brands.length] ?? 'acme';
  const optIn = options.optInShare !== undefined && (i * 7919) % 1000 < options.optInShare * 1000;
  const at = options.now - 86_400_000 + i;
  return {
    type: optIn ? 'OptInRecorded' : 'OptOutRecorded',
    eventId: eventIdAt(i),
    phone: phoneAt(i % options.phones),
    brand,
    scope: SCOPES.get(brand) ?? `brand:${brand}`,
    occurredAt: at,
    recordedAt: at,
    source: 'crm',
    sourceSystem: 'bench',
    channel: 'api',
    evidence: { note: 'synthetic benchmark event' },
  };
}

const SCOPES = new Map<string, `brand:${string}`>(
  ['acme', 'beta', 'gamma'].map((b) => [b, `brand:${b}` as const]),
);

/** The record of consentEventAt(i) at position i + 1 of partition 0. */
export function recordAt(i: number, options: SyntheticOptions): LogRecord {
  return { partition: 0, position: (i + 1) as Position, event: consentEventAt(i, options) };
}

/** A deterministic shuffle (xorshift), so every run asks for the numbers in the same order. */
export function shuffled<T>(items: readonly T[], seed = 42): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = (s >>> 0) % (i + 1);
    const a = out[i] as T;
    out[i] = out[j] as T;
    out[j] = a;
  }
  return out;
}

/** Phones a check asks about: half opted out, half never seen, in a fixed shuffled order. */
export function checkPhones(suppressed: number, count: number): string[] {
  const half = Math.floor(count / 2);
  const known = Array.from({ length: half }, (_, i) => phoneAt(Math.floor((i * suppressed) / half)));
  const unknown = Array.from({ length: count - half }, (_, i) => phoneAt(5_000_000 + i));
  return shuffled([...known, ...unknown]);
}
