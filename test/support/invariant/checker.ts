import { LogFold, type Answer } from './oracle.js';
import type { Acknowledged, Http } from './steps.js';

/** One way the invariant was broken, with what the fold said and what the path answered. */
export interface Violation {
  /** fail_open: allowed where the fold suppresses; lost: an acknowledged write is not on the log;
   *  mismatch: a path that claims to vouch for its data disagrees with the fold (failing closed);
   *  stopped: a view that never caught up once every fault healed; drive: a 5xx, or an opt-out
   *  reply answered without its event. */
  readonly kind: 'fail_open' | 'lost' | 'mismatch' | 'stopped' | 'drive';
  readonly path: string;
  readonly detail: string;
}

export interface Target {
  readonly phone: string;
  readonly brand: string;
  readonly program?: string;
}

/** A sender reading a view's store directly (Redis HGET, the sender SQL, the CRM's own records). */
export interface DirectReader {
  readonly view: string;
  readonly path: string;
  /** A read that may legitimately hold back more than the fold does: judged for failing open only. */
  readonly failOpenOnly?: boolean;
  /** The answer the store gives, or undefined when it cannot be read (then nothing can be sent on it). */
  read(target: Target): Promise<Answer | undefined>;
}

export interface ViewStatus {
  readonly name: string;
  readonly kind: string;
  readonly position: string;
  readonly head: string;
  readonly lag: { readonly events: number; readonly ms: number };
  readonly ready: boolean;
  readonly healthy: boolean;
  readonly lastError?: string;
}

/** The log as it stands, through GET /v1/export, folded by the ledger's own fold. */
export async function readLog(http: Http): Promise<{ fold: LogFold; head: string; jsonl: string }> {
  const answer = await http('GET', '/v1/export');
  if (answer.status !== 200) throw new Error(`GET /v1/export answered ${answer.status}: ${answer.text}`);
  const head = answer.headers['x-ledger-head'];
  return { fold: LogFold.parse(answer.text), head: typeof head === 'string' ? head : '', jsonl: answer.text };
}

export async function viewStatuses(http: Http): Promise<readonly ViewStatus[]> {
  const answer = await http('GET', '/v1/views');
  return (JSON.parse(answer.text) as { views: ViewStatus[] }).views;
}

/** Every acknowledged write is on the log, for the phone it was acknowledged for, as that kind of fact. */
export function lostWrites(fold: LogFold, acknowledged: readonly Acknowledged[]): Violation[] {
  const lost: Violation[] = [];
  for (const ack of acknowledged) {
    const held = fold.eventsWithId(ack.eventId);
    if (!held.some((event) => event.phone === ack.phone && ack.types.includes(event.type))) {
      lost.push({
        kind: 'lost',
        path: 'log',
        detail: `acknowledged ${ack.types.join('|')} for ${ack.phone} is not on the log (under ${ack.eventId} it holds ${JSON.stringify(held.map((e) => ({ phone: e.phone, type: e.type, scope: e.scope })))}): ${ack.what}`,
      });
    }
  }
  return lost;
}

const describeTarget = ({ phone, brand, program }: Target): string =>
  `${phone} brand=${brand}${program === undefined ? '' : ` program=${program}`}`;
const same = (a: Answer, b: Answer): boolean => a.allowed === b.allowed && a.status === b.status;
const failsClosed = (a: Answer): boolean => !a.allowed && a.status === 'unknown';

/**
 * Judges one answer. Never allowed where the fold suppresses, whatever the path. Settled (`exact`), a
 * path must also equal the fold, or say it cannot vouch for its data: `unknown` through the ledger, or
 * its view reporting `healthy: false` for a sender reading the store directly.
 */
function judge(
  path: string,
  target: Target,
  expected: Answer,
  got: Answer,
  { exact, excused }: { exact: boolean; excused: boolean },
): Violation | undefined {
  const detail = `${describeTarget(target)}: fold says ${expected.status} (allowed ${expected.allowed}), ${path} answered ${got.status} (allowed ${got.allowed})`;
  if (got.allowed && !expected.allowed && !excused) return { kind: 'fail_open', path, detail };
  if (exact && !same(expected, got) && !failsClosed(got) && !excused)
    return { kind: 'mismatch', path, detail };
  return undefined;
}

export interface CheckOptions {
  readonly fold: LogFold;
  readonly head: string;
  readonly targets: readonly Target[];
  /** The system views to ask through `?system=`. */
  readonly systems: readonly string[];
  readonly direct?: readonly DirectReader[];
  /** After the system has settled: answers must equal the fold (or fail closed), not only not fail open. */
  readonly exact: boolean;
  /** Also ask the central view without minPosition (always asked once settled, `exact`). */
  readonly unwaited?: boolean;
  /** Counts every answer judged. */
  readonly onAnswer?: () => void;
}

/** Asks every check path about every target and judges each answer against the fold. */
export async function checkPaths(http: Http, options: CheckOptions): Promise<Violation[]> {
  const { fold, head, targets, systems, exact } = options;
  const violations: Violation[] = [];
  const note = (v: Violation | undefined): void => {
    options.onAnswer?.();
    if (v !== undefined) violations.push(v);
  };
  const healthy = new Map((await viewStatuses(http)).map((v) => [v.name, v.healthy]));
  const query = (t: Target, extra: string): string =>
    `brand=${t.brand}${t.program === undefined ? '' : `&program=${t.program}`}${extra}`;
  const single = async (path: string, url: string, t: Target): Promise<void> => {
    const answer = await http('GET', url);
    if (answer.status !== 200) {
      // A refusal sends nothing; only a 5xx is worth a look (it is counted by the driver's problems).
      if (answer.status >= 500)
        note({ kind: 'drive', path, detail: `${url} → ${answer.status} ${answer.text}` });
      return;
    }
    note(
      judge(path, t, fold.expected(t.phone, t.brand, t.program), JSON.parse(answer.text) as Answer, {
        exact,
        excused: false,
      }),
    );
  };
  const minPosition = `&minPosition=${encodeURIComponent(head)}`;
  // Targets in parallel: a path that waits out minPosition before failing closed waits once, not per target.
  const one = async (t: Target): Promise<void> => {
    const phone = encodeURIComponent(t.phone);
    await single('central GET ?minPosition', `/v1/suppressions/${phone}?${query(t, minPosition)}`, t);
    if (exact || options.unwaited === true) {
      await single('central GET', `/v1/suppressions/${phone}?${query(t, '')}`, t);
    }
    for (const system of systems) {
      await single(
        `?system=${system}&minPosition`,
        `/v1/suppressions/${phone}?${query(t, `&system=${system}${minPosition}`)}`,
        t,
      );
      if (exact)
        await single(`?system=${system}`, `/v1/suppressions/${phone}?${query(t, `&system=${system}`)}`, t);
    }
    for (const reader of options.direct ?? []) {
      const got = await reader.read(t);
      if (got === undefined) continue;
      note(
        judge(reader.path, t, fold.expected(t.phone, t.brand, t.program), got, {
          exact: exact && reader.failOpenOnly !== true,
          excused: healthy.get(reader.view) === false,
        }),
      );
    }
  };
  await Promise.all(targets.map(one));
  // The batch check, once per (brand, program), for every phone at once.
  const groups = new Map<string, Target[]>();
  for (const t of targets) {
    const key = `${t.brand}/${t.program ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  for (const group of groups.values()) {
    const first = group[0];
    if (first === undefined) continue;
    const answer = await http('POST', '/v1/suppressions/check', {
      phones: group.map((t) => t.phone),
      brand: first.brand,
      ...(first.program !== undefined && { program: first.program }),
      minPosition: head,
    });
    if (answer.status !== 200) {
      if (answer.status >= 500)
        note({ kind: 'drive', path: 'batch POST', detail: `${answer.status} ${answer.text}` });
      continue;
    }
    const { results } = JSON.parse(answer.text) as { results: (Answer & { phone: string })[] };
    group.forEach((t, i) => {
      const got = results[i];
      if (got !== undefined) {
        note(
          judge('batch POST', t, fold.expected(t.phone, t.brand, t.program), got, { exact, excused: false }),
        );
      }
    });
  }
  return violations;
}
