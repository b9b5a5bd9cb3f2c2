import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly function: string;
  readonly where: string;
  readonly ms: number;
  /** Share of the busy time (all samples but idle). */
  readonly percent: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly seconds: number;
  readonly busyPercent: number;
  /** Self time per function, highest first. */
  readonly top: readonly SelfTime[];
  /** Self time per part of the stack (fastify, schema/serialisation, our services, node internals, GC …). */
  readonly byArea: readonly { readonly area: string; readonly ms: number; readonly percent: number }[];
}

const AREAS: readonly (readonly [string, RegExp])[] = [
  ['ledger services (dist/services)', /\/dist\/services\//],
  ['libphonenumber-js', /libphonenumber/],
  ['fastify core + find-my-way + avvio', /node_modules\/(fastify|find-my-way|avvio|@fastify\/(?!swagger))/],
  [
    'validation/serialisation (ajv, fast-json-stringify, fast-uri)',
    /node_modules\/(ajv|fast-json-stringify|fast-uri|@fastify\/ajv|json-schema)/,
  ],
  ['logging (pino)', /node_modules\/(pino|sonic-boom|thread-stream)/],
  ['metrics (prom-client)', /node_modules\/prom-client/],
  ['other node_modules', /node_modules\//],
  ['node internals (http, net, streams, timers)', /^node:/],
];

function areaOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (url === '' && /^(writev|writeBuffer|writeUtf8String|writeLatin1String)$/.test(functionName)) {
    return 'socket writes (native writev: the syscall, and any wait for a core inside it)';
  }
  if (url === '') {
    if (functionName === '(garbage collector)') return 'garbage collector';
    if (functionName === '(program)') return '(program): native, not attributed to JS';
    if (functionName === '(idle)') return 'idle';
    return 'native / builtins';
  }
  for (const [area, pattern] of AREAS) if (pattern.test(url)) return area;
  return 'other';
}

/**
 * Self time per function and per area of a .cpuprofile written by `node --cpu-prof`, over the samples
 * taken within `window` (CLOCK_MONOTONIC µs, the clock of process.hrtime and of V8's profiles) when
 * given. V8 samples wall-clock time: a thread descheduled inside a call is charged to that call.
 */
export function summariseProfile(
  file: string,
  topN = 15,
  window?: { readonly fromUs: number; readonly toUs: number },
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  let first = Infinity;
  let last = -Infinity;
  // timeDeltas[i] is the time between sample i-1 and sample i: the time of sample i-1.
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (window !== undefined && (at < window.fromUs || at > window.toUs)) continue;
    first = Math.min(first, at);
    last = Math.max(last, at);
    const id = profile.samples[i] ?? 0;
    const delta = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, delta));
  }
  const functions = new Map<string, { function: string; where: string; us: number }>();
  const areas = new Map<string, number>();
  let busy = 0;
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    total += us;
    const area = areaOf(node);
    if (area === 'idle') continue;
    busy += us;
    areas.set(area, (areas.get(area) ?? 0) + us);
    const { functionName, url, lineNumber } = node.callFrame;
    const short = url.replace(/^file:\/\//, '').replace(/^.*?\/(node_modules|dist)\//, '$1/');
    const where = url === '' ? '' : `${short}:${lineNumber + 1}`;
    const key = `${functionName}@${where}`;
    const entry = functions.get(key) ?? { function: functionName || '(anonymous)', where, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  const pct = (us: number): number => Math.round((us / Math.max(1, busy)) * 1000) / 10;
  return {
    file,
    seconds:
      Math.round((window === undefined ? profile.endTime - profile.startTime : last - first) / 1e4) / 100,
    busyPercent: Math.round((busy / Math.max(1, total)) * 1000) / 10,
    top: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((f) => ({
        function: f.function,
        where: f.where,
        ms: Math.round(f.us / 1000),
        percent: pct(f.us),
      })),
    byArea: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, ms: Math.round(us / 1000), percent: pct(us) })),
  };
}
