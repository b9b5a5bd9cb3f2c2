import { progress } from './measure.js';

/**
 * One line of the report: our figure beside the reference measured in the same run, the ratio, and
 * the docs/design.md §7 target where there is one.
 */
export interface Figure {
  /** Stable key, e.g. `http-check-c50`. */
  readonly id: string;
  /** What was measured, in words. */
  readonly name: string;
  readonly unit: string;
  /** null when the measurement failed (see error). */
  readonly ours: number | null;
  readonly reference?: Reference | null;
  /** ours / reference.value (for latencies and bytes: lower is better, see `lowerIsBetter`). */
  readonly ratio?: number | null;
  readonly lowerIsBetter?: boolean;
  readonly target?: Target;
  /** Everything else worth keeping: percentiles, counts, settings. */
  readonly detail?: Readonly<Record<string, unknown>>;
  readonly error?: string;
}

export interface Reference {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface Target {
  /** As docs/design.md §7 states it. */
  readonly text: string;
  /** null when it could not be judged (the measurement failed). */
  readonly met: boolean | null;
  /** Why it was (not) met, in numbers. */
  readonly note?: string;
}

/** What a figure process writes to its result file. */
export interface FigureOutput {
  readonly figures: readonly Figure[];
  readonly extra?: Readonly<Record<string, unknown>>;
}

export function ratioOf(
  ours: number | null | undefined,
  reference: number | null | undefined,
): number | null {
  if (ours === null || ours === undefined || reference === null || reference === undefined) return null;
  if (!Number.isFinite(ours) || !Number.isFinite(reference) || reference === 0) return null;
  return Math.round((ours / reference) * 1000) / 1000;
}

export function failed(id: string, name: string, unit: string, error: unknown, target?: string): Figure {
  return {
    id,
    name,
    unit,
    ours: null,
    error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    ...(target !== undefined && { target: { text: target, met: null } }),
  };
}

/** Runs one measurement; a failure becomes a figure with its error, and the next one runs. */
export async function attempt(
  fallback: { id: string; name: string; unit: string; target?: string },
  measure: () => Promise<Figure | readonly Figure[]>,
): Promise<Figure[]> {
  let figures: Figure[];
  try {
    const result = await measure();
    figures = Array.isArray(result) ? [...(result as readonly Figure[])] : [result as Figure];
  } catch (error) {
    figures = [failed(fallback.id, fallback.name, fallback.unit, error, fallback.target)];
  }
  for (const f of figures) progress(describeFigure(f));
  return figures;
}

/** One line: the figure, its reference and the ratio. */
export function describeFigure(f: Figure): string {
  if (f.error !== undefined) return `${f.id}: FAILED ${firstLine(f.error)}`;
  const ref =
    f.reference === undefined || f.reference === null
      ? ''
      : `; ${f.reference.name} ${formatNumber(f.reference.value)} ${f.reference.unit}`;
  const ratio = f.ratio === undefined || f.ratio === null ? '' : ` (${f.ratio}×)`;
  return `${f.id}: ${formatNumber(f.ours)} ${f.unit}${ref}${ratio}`;
}

const groupDigits = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

/** 12,345 for large values, 3 significant digits for small ones. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 1000) return groupDigits(value);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

/** The report as a fixed-width table (figure, ours, reference, ratio, target, met). */
export function renderTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => {
    const extra = typeof f.detail?.summary === 'string' ? ` (${f.detail.summary})` : '';
    const ours =
      f.error !== undefined ? `FAILED: ${firstLine(f.error)}` : `${formatNumber(f.ours)} ${f.unit}${extra}`;
    const ref =
      f.reference === undefined || f.reference === null
        ? '—'
        : `${f.reference.name}: ${formatNumber(f.reference.value)} ${f.reference.unit}`;
    const ratio = f.ratio === undefined || f.ratio === null ? '—' : `${f.ratio.toFixed(2)}×`;
    const target = f.target?.text ?? '—';
    const met = f.target === undefined ? '' : f.target.met === null ? '?' : f.target.met ? 'yes' : 'NO';
    return [f.name, ours, ref, ratio, target, met];
  });
  const header = ['figure', 'ours', 'reference (same run)', 'ratio', 'target (docs/design.md §7)', 'met'];
  const widths = header.map((h, i) =>
    Math.min(i === 1 || i === 2 ? 70 : 56, Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length))),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => clip(c, widths[i] ?? 10).padEnd(widths[i] ?? 10))
      .join(' │ ')
      .trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join('─┼─');
  return [line(header), rule, ...rows.map(line)].join('\n');
}

function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
