import { totalmem } from 'node:os';
import { Gate } from '../../services/gate/index.js';
import type { E164 } from '../../services/ledger/index.js';
import { EmbeddedEventLog, type LogRecord } from '../../services/log/index.js';
import { MemoryView, ProjectorRunner } from '../../services/projector/index.js';
import { nowMs, progress, quick, round } from '../measure.js';
import { scratchDir } from '../processes.js';
import { ratioOf, type Figure, type FigureOutput } from '../results.js';
import { phoneAt, recordAt, type SyntheticOptions } from '../synthetic.js';

/**
 * Figure 4: Gate.checkNow against a central view of 1M and 10M suppressed numbers, built by applying
 * synthetic records straight to MemoryView.applyBatch (not through the log), and the view's memory per
 * number (heap after full GCs). References: a Set<string> of the same numbers (lookups/s and bytes).
 * Run with --expose-gc and a large --max-old-space-size. The references and V8's Map limit are measured
 * first, while the heap is small and full collections are quick.
 */
const SIZES = quick() ? [100_000, 1_000_000] : [1_000_000, 10_000_000];
/** Building the view stops here, and the figures say how far it got. */
const BUILD_CAP_S = 150;
const QUERIES = 1 << 20;
const MEASURE_S = quick() ? 0.5 : 1.5;
const TARGET_RATE = '≥ 5,000,000 checks/s';
const TARGET_MEMORY = '≤ 50 bytes per suppressed number at 10M';
const NATIONAL_DNC = 250_000_000;

function collect(): number {
  if (globalThis.gc === undefined) throw new Error('run with node --expose-gc');
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

const rss = (): number => process.memoryUsage().rss;
const labelOf = (size: number): string => (size >= 1_000_000 ? `${size / 1_000_000}M` : `${size / 1000}k`);
const count = (n: number): string => Math.round(n).toLocaleString('en-US');

interface Rate {
  readonly perSecond: number;
  /** Per second of this process's CPU time: the figure if other processes did not share the cores. */
  readonly perCpuSecond: number;
  readonly hits: number;
}

/** Calls `fn` over the queries for about `seconds` (after one warm-up pass over all of them). */
function rate(queries: readonly E164[], seconds: number, fn: (phone: E164) => boolean): Rate {
  let hits = 0;
  for (let i = 0; i < queries.length; i++) if (fn(queries[i] as E164)) hits++;
  hits = 0;
  let calls = 0;
  const cpu = process.cpuUsage();
  const started = nowMs();
  let elapsed = 0;
  while (elapsed < seconds * 1000) {
    for (let i = 0; i < queries.length; i++) if (fn(queries[i] as E164)) hits++;
    calls += queries.length;
    elapsed = nowMs() - started;
  }
  const used = process.cpuUsage(cpu);
  return {
    perSecond: Math.round((calls * 1000) / elapsed),
    perCpuSecond: Math.round((calls * 1e6) / Math.max(1, used.user + used.system)),
    hits: round(hits / calls, 3),
  };
}

/**
 * Numbers to ask about: half held by the view (uniformly at random over it), half not (another area
 * code), as strings of their own, the way a request brings them.
 */
function queriesFor(size: number): E164[] {
  const out = new Array<E164>(QUERIES);
  let s = 12345;
  for (let k = 0; k < QUERIES; k++) {
    // A 32-bit LCG in integer arithmetic (one in floating point repeats a few thousand keys).
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const p = phoneAt(s % size);
    out[k] = k % 2 === 0 ? p : (`+1310${p.slice(5)}` as E164);
  }
  return out;
}

/** V8's ceiling on the entries of one Map, found by filling one until it refuses. */
function mapLimit(): { entries: number; error: string } {
  const probe = new Map<number, number>();
  let error = '';
  try {
    for (let i = 0; i < 40_000_000; i++) probe.set(i, 0);
  } catch (e) {
    error = String(e);
  }
  const entries = probe.size;
  probe.clear();
  progress(`one Map took ${count(entries)} entries, then: ${error || 'no limit met'}`);
  return { entries, error };
}

/** The reference: a Set of the same numbers as strings of their own, its bytes and its lookups. */
function setReference(size: number, queries: readonly E164[]): { bytes: number; rate: Rate } {
  const before = collect();
  const set = new Set<string>();
  for (let i = 0; i < size; i++) set.add(phoneAt(i));
  const bytes = (collect() - before) / size;
  const lookups = rate(queries, MEASURE_S, (p) => set.has(p));
  progress(
    `reference Set<string> of ${labelOf(size)}: ${round(bytes, 1)} bytes/number, ${count(lookups.perSecond)} lookups/s`,
  );
  return { bytes, rate: lookups };
}

/** Waits (bounded) until the gate can vouch for its view. */
async function freshGate(gate: Gate): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (gate.unavailableReason() !== undefined) {
    if (Date.now() > deadline) throw new Error(`the gate never became current: ${gate.unavailableReason()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function run(): Promise<FigureOutput> {
  const limit = mapLimit();
  const queries = new Map(SIZES.map((size) => [size, queriesFor(size)]));
  const references = new Map(SIZES.map((size) => [size, setReference(size, queries.get(size) ?? [])]));

  const figures: Figure[] = [];
  const log = EmbeddedEventLog.open(scratchDir('in-process'));
  const base = collect();
  const baseRss = rss();
  const view = new MemoryView('bench');
  // A runner over an empty log: the view's checkpoint is ahead of the log's head, so it is ready at once.
  const runner = new ProjectorRunner(log, view, { group: 'bench' });
  const gate = new Gate(view, runner, { maxStalenessMs: 5000, readWaitMs: 2000 });
  const options: SyntheticOptions = { now: Date.now(), phones: Number.MAX_SAFE_INTEGER };
  let applied = 0;
  let buildSeconds = 0;
  let perNumber = NaN;
  let stoppedEarly: string | undefined;
  for (const size of SIZES) {
    const label = labelOf(size);
    const started = nowMs();
    try {
      while (applied < size && stoppedEarly === undefined) {
        const end = Math.min(size, applied + 10_000);
        const batch: LogRecord[] = [];
        for (let i = applied; i < end; i++) batch.push(recordAt(i, options));
        await view.applyBatch(batch);
        applied = end;
        if (buildSeconds + (nowMs() - started) / 1000 > BUILD_CAP_S) {
          stoppedEarly = `building the view stopped at ${count(applied)} numbers after ${BUILD_CAP_S} s`;
        }
      }
    } catch (error) {
      stoppedEarly = `building the view failed at ${count(applied)} numbers: ${String(error)}`;
    }
    const built = (nowMs() - started) / 1000;
    buildSeconds += built;
    const held = view.size;
    progress(`view of ${count(held)} numbers built in ${round(built, 1)} s`);
    const heapBytes = collect() - base;
    const rssBytes = rss() - baseRss;
    perNumber = heapBytes / held;
    if (!runner.ready) {
      runner.start();
      await runner.whenReady();
    }
    // Building the view kept the event loop busy, so the runner could not ask the log for its head:
    // the gate rightly fails closed until it has. Measured only once it answers for real.
    await freshGate(gate);
    const asked = held === size ? (queries.get(size) ?? []) : queriesFor(held);
    const probe = asked[0];
    if (probe !== undefined && gate.checkNow(probe, 'acme').status === 'unknown') {
      throw new Error(`the gate answers unknown: ${gate.unavailableReason() ?? 'no reason given'}`);
    }
    const ours = rate(asked, MEASURE_S, (p) => !gate.checkNow(p, 'acme').allowed);
    const viewOnly = rate(asked, MEASURE_S, (p) => !view.check(p, 'acme').allowed);
    progress(
      `Gate.checkNow ${count(ours.perSecond)}/s, MemoryView.check ${count(viewOnly.perSecond)}/s; heap ${round(perNumber, 1)} bytes/number`,
    );
    const reference = references.get(size);
    const last = size === SIZES[SIZES.length - 1];
    figures.push(
      {
        id: `in-process-check-${label}`,
        name: `in-process check (Gate.checkNow), view of ${label} numbers`,
        unit: 'checks/s',
        ours: ours.perSecond,
        reference: {
          name: 'Set<string>.has over the same numbers',
          value: reference?.rate.perSecond ?? NaN,
          unit: 'lookups/s',
        },
        ratio: ratioOf(ours.perSecond, reference?.rate.perSecond),
        target: {
          text: TARGET_RATE,
          met: ours.perSecond >= 5_000_000,
          note: `${count(ours.perSecond)} checks/s`,
        },
        detail: {
          summary: `${round(1e9 / ours.perSecond)} ns a check; per CPU-second ${count(ours.perCpuSecond)}/s; MemoryView.check alone ${count(viewOnly.perSecond)}/s`,
          nsPerCheck: round(1e9 / ours.perSecond, 1),
          perCpuSecond: ours.perCpuSecond,
          memoryViewCheckPerSecond: viewOnly.perSecond,
          referencePerCpuSecond: reference?.rate.perCpuSecond,
          suppressedShare: ours.hits,
          numbers: held,
          ...(stoppedEarly !== undefined && { stoppedEarly }),
        },
      },
      {
        id: `view-memory-${label}`,
        name: `memory of the central view, ${label} numbers (heap after GC)`,
        unit: 'bytes/number',
        ours: round(perNumber, 1),
        reference: {
          name: 'Set<string> of the same numbers',
          value: round(reference?.bytes ?? NaN, 1),
          unit: 'bytes/number',
        },
        ratio: ratioOf(perNumber, reference?.bytes),
        lowerIsBetter: true,
        ...(last && !quick()
          ? {
              target: { text: TARGET_MEMORY, met: perNumber <= 50, note: `${round(perNumber)} bytes/number` },
            }
          : {}),
        detail: {
          summary: `RSS +${round(rssBytes / held)} bytes/number; built at ${count(held / built)} numbers/s`,
          numbers: held,
          heapBytes,
          rssBytes,
          buildSeconds: round(built, 1),
          ...(stoppedEarly !== undefined && { stoppedEarly }),
        },
      },
    );
    if (stoppedEarly !== undefined) break;
  }
  await runner.stop();
  await log.close();
  figures.push(capacity(view.size, perNumber, limit, stoppedEarly));
  return { figures };
}

/** Could one process hold the national DNC registry? Bytes per number × 250M, and the Map limit. */
function capacity(
  held: number,
  perNumber: number,
  limit: { entries: number; error: string },
  stoppedEarly: string | undefined,
): Figure {
  const needed = (perNumber * NATIONAL_DNC) / 1e9;
  const memory = totalmem() / 1e9;
  const stoppers = [
    ...(limit.entries < NATIONAL_DNC
      ? [
          `one JS Map holds at most ${count(limit.entries)} entries (${limit.error}), and the view is one Map of phone → history`,
        ]
      : []),
    ...(needed > memory
      ? [
          `${round(needed)} GB needed at ${round(perNumber)} bytes/number vs ${round(memory)} GB on this machine`,
        ]
      : []),
  ];
  return {
    id: 'view-250m',
    name: 'central view holding 250M numbers (national DNC)',
    unit: 'GB needed',
    ours: round(needed, 1),
    reference: { name: 'memory of this machine', value: round(memory, 1), unit: 'GB' },
    ratio: ratioOf(needed, memory),
    lowerIsBetter: true,
    target: { text: 'must hold 250M', met: stoppers.length === 0, note: stoppers.join('; ') },
    detail: {
      summary:
        stoppers.length === 0
          ? 'fits'
          : `no: ${stoppers.length === 2 ? 'Map entry limit and memory' : limit.entries < NATIONAL_DNC ? 'Map entry limit' : 'memory'}`,
      extrapolatedFrom: held,
      bytesPerNumber: round(perNumber, 1),
      v8MapEntryLimit: limit.entries,
      whatStopsIt: stoppers,
      ...(stoppedEarly !== undefined && { stoppedEarly }),
    },
  };
}
