import { writeFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { latencyOf, round, Samples, type Latency } from './measure.js';
import { checkPhones, phoneAt } from './synthetic.js';

/**
 * The HTTP load generator: autocannon in a process of its own (never the server's), keep-alive
 * connections, one request in flight per connection. Prints its result as JSON on the last line.
 */
export interface HttpLoadSpec {
  readonly url: string;
  readonly workload: 'check' | 'events' | 'batch' | 'batch-cold';
  readonly connections: number;
  /** Seconds measured. */
  readonly duration: number;
  /** Seconds of the same load before, not measured (JIT, connection set-up, caches). */
  readonly warmup: number;
  /** Phones 0..suppressed-1 are opted out at brand acme in the ledger under test. */
  readonly suppressed?: number;
  readonly batchSize?: number;
  /** For events: numbers start at phoneAt(phoneOffset), one new number per request. */
  readonly phoneOffset?: number;
  /** Where to write every latency sample (ms, float64, native byte order), for merging runs. */
  readonly samplesFile?: string;
  /** Sent with every request (an API key's Authorization header). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface HttpLoadResult {
  readonly requestsPerSecond: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly seconds: number;
  /** Per-request latency (ms) measured by the load generator, sub-millisecond resolution. */
  readonly latency: Latency;
  readonly requestBytes?: number;
  /** Requests answered during the warm-up (not in `requests`). */
  readonly warmupRequests?: number;
}

function requestsFor(spec: HttpLoadSpec): { requests: autocannon.Request[]; bytes?: number } {
  const json = { 'content-type': 'application/json' };
  switch (spec.workload) {
    case 'check':
      return {
        requests: checkPhones(spec.suppressed ?? 10_000, 4000).map((phone) => ({
          method: 'GET',
          path: `/v1/suppressions/${encodeURIComponent(phone)}?brand=acme`,
        })),
      };
    case 'events': {
      let next = spec.phoneOffset ?? 0;
      return {
        requests: [
          {
            method: 'POST',
            path: '/v1/events',
            headers: json,
            setupRequest: (request) => ({
              ...request,
              body: JSON.stringify({
                type: 'opt_out',
                phone: phoneAt(next++),
                brand: 'acme',
                source: 'crm',
                sourceSystem: 'bench',
              }),
            }),
          },
        ],
      };
    }
    case 'batch': {
      const body = JSON.stringify({
        phones: checkPhones(spec.suppressed ?? 10_000, spec.batchSize ?? 1000),
        brand: 'acme',
      });
      return {
        requests: [{ method: 'POST', path: '/v1/suppressions/check', headers: json, body }],
        bytes: body.length,
      };
    }
    case 'batch-cold': {
      const size = spec.batchSize ?? 1000;
      let next = spec.phoneOffset ?? 20_000_000;
      return {
        requests: [
          {
            method: 'POST',
            path: '/v1/suppressions/check',
            headers: json,
            setupRequest: (request) => {
              const phones = Array.from({ length: size }, () => phoneAt(next++));
              return { ...request, body: JSON.stringify({ phones, brand: 'acme' }) };
            },
          },
        ],
      };
    }
    default: {
      const never: never = spec.workload;
      throw new Error(`unknown workload ${String(never)}`);
    }
  }
}

function run(
  spec: HttpLoadSpec,
  requests: autocannon.Request[],
  seconds: number,
  samples?: Samples,
): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: seconds,
        requests,
        timeout: 30,
        ...(spec.headers !== undefined && { headers: { ...spec.headers } }),
      },
      (error, result) => (error === null ? resolve(result) : reject(error)),
    );
    if (samples !== undefined) {
      instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) =>
        samples.push(ms),
      );
    }
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as HttpLoadSpec;
  const { requests, bytes } = requestsFor(spec);
  const warmup = spec.warmup > 0 ? await run(spec, requests, spec.warmup) : undefined;
  const samples = new Samples();
  const result = await run(spec, requests, spec.duration, samples);
  const total = result.requests.total;
  if (spec.samplesFile !== undefined) {
    const values = samples.values();
    writeFileSync(spec.samplesFile, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
  }
  const output: HttpLoadResult = {
    requestsPerSecond: round(total / result.duration, 1),
    requests: total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
    latency: latencyOf(samples.values()),
    ...(bytes !== undefined && { requestBytes: bytes }),
    warmupRequests: warmup?.requests.total ?? 0,
  };
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

await main();
