import { execFile } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka, Message, RecordMetadata } from 'kafkajs';
import { createEventCodec, loadCatalogue } from '../../services/codec/index.js';
import { isE164, type E164, type LedgerEvent } from '../../services/ledger/index.js';
import { KafkaEventLog, type KafkaLogOptions } from '../../services/log/index.js';
import { eventually } from './eventually.js';
import { removeDir, startChild, tempDir, type ChildLedger } from './ledger-harness.js';

const { Kafka: KafkaClient, logLevel: LogLevel } = kafkajs;

/**
 * The broker list of the test Kafka, or undefined: Kafka tests are skipped without one (make test
 * starts a single node through infra/kafka/with-kafka.sh and sets LEDGER_TEST_KAFKA_BROKERS).
 */
export const testBrokers: readonly string[] | undefined = process.env.LEDGER_TEST_KAFKA_BROKERS?.split(',')
  .map((broker) => broker.trim())
  .filter((broker) => broker !== '');

/** The codec every ledger process uses: what tests decode the topic with. */
export const codec = createEventCodec(loadCatalogue());

/** A topic name no other test (or earlier run against a long-lived broker) uses. */
export function uniqueTopic(tag = 't'): string {
  return `${tag}-${randomUUID()}`;
}

/** A valid US number (libphonenumber holds +1 201 [2-9]XX XXXX valid) that is very likely unique. */
export function randomPhone(): E164 {
  const phone = `+1201${randomInt(2, 10)}${String(randomInt(0, 1_000_000)).padStart(6, '0')}`;
  if (!isE164(phone)) throw new Error(`${phone} is not E.164`);
  return phone;
}

/** `count` distinct random phones. */
export function randomPhones(count: number): E164[] {
  const phones = new Set<E164>();
  while (phones.size < count) phones.add(randomPhone());
  return [...phones];
}

/** A plain kafkajs client, silent: what another system on the same cluster would use. */
export function kafkaClient(brokers: readonly string[], clientId = 'ledger-test'): Kafka {
  return new KafkaClient({
    clientId,
    brokers: [...brokers],
    logLevel: LogLevel.NOTHING,
    retry: { initialRetryTime: 100, retries: 10 },
  });
}

/** KafkaEventLog on `topic`, with the ledger's codec. */
export function openKafkaLog(
  brokers: readonly string[],
  topic: string,
  options: Partial<Omit<KafkaLogOptions, 'brokers' | 'topic'>> = {},
): Promise<KafkaEventLog> {
  return KafkaEventLog.open({
    brokers,
    topic,
    partitions: 3,
    replicationFactor: -1,
    clientId: 'ledger-test',
    codec,
    ...options,
  });
}

/** Sends records as a foreign producer would (no ledger code involved); one reply per partition. */
export async function produceRaw(
  brokers: readonly string[],
  topic: string,
  messages: readonly Message[],
): Promise<RecordMetadata[]> {
  const producer = kafkaClient(brokers, 'ledger-test-raw').producer({
    idempotent: true,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  try {
    return await producer.send({ topic, acks: -1, messages: [...messages] });
  } finally {
    await producer.disconnect();
  }
}

/** A record as a plain consumer finds it on the topic. */
export interface RawRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

/** The last offset + 1 of every partition of `topic` (what a reader must reach to have read it all). */
export async function highWatermarks(brokers: readonly string[], topic: string): Promise<number[]> {
  const admin = kafkaClient(brokers, 'ledger-test-admin').admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const high: number[] = [];
    for (const { partition, high: h } of offsets) high[partition] = Number(h);
    return Array.from(high, (h) => h ?? 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Every record `topic` holds now, read from the beginning by a plain kafkajs consumer of a fresh group
 * (offsets taken first; records appended meanwhile may be included). In (partition, offset) order.
 */
export async function readTopic(
  brokers: readonly string[],
  topic: string,
  { timeoutMs = 30_000 }: { timeoutMs?: number } = {},
): Promise<RawRecord[]> {
  const high = await highWatermarks(brokers, topic);
  if (high.every((h) => h === 0)) return [];
  const consumer = kafkaClient(brokers, 'ledger-test-reader').consumer({
    groupId: `reader-${randomUUID()}`,
    maxWaitTimeInMs: 100,
    allowAutoTopicCreation: false,
  });
  const records: RawRecord[] = [];
  const next: number[] = high.map(() => 0);
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          const offset = Number(message.offset);
          if (offset < (next[batch.partition] ?? 0)) continue;
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {})) {
            if (value !== undefined) headers[name] = String(value);
          }
          records.push({
            partition: batch.partition,
            offset,
            key: message.key?.toString() ?? null,
            value: message.value,
            headers,
          });
          next[batch.partition] = offset + 1;
        }
        return Promise.resolve();
      },
    });
    await eventually(
      () => {
        const behind = high
          .map((h, partition) => ({ partition, read: next[partition] ?? 0, high: h }))
          .filter(({ read, high: h }) => read < h);
        expect({ topic, behind }).toEqual({ topic, behind: [] });
      },
      { timeoutMs, intervalMs: 50 },
    );
  } finally {
    await consumer.disconnect();
  }
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** A record of the ledger's topic, decoded. */
export interface DecodedRecord extends RawRecord {
  readonly event: LedgerEvent;
}

/** Decodes every record of the ledger's topic; a record that does not decode fails the caller. */
export function decodeAll(records: readonly RawRecord[]): DecodedRecord[] {
  return records.map((record) => {
    if (record.value === null) throw new Error(`${record.partition}:${record.offset} has no value`);
    return { ...record, event: codec.decode(record.value) };
  });
}

const CONTENT_JSON = { 'content-type': 'application/json' };

export async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: (await response.json()) as T };
}

export async function postJson<T>(url: string, body: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: CONTENT_JSON,
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: (await response.json()) as T };
}

/** GET /v1/suppressions/:phone, as a sender sees it. */
export interface CheckAnswer {
  readonly phone: string;
  readonly allowed: boolean;
  readonly status: string;
  readonly reason: string;
  readonly eventId: string | null;
  readonly asOf: string;
}

/** `ledger start` in Kafka mode as a child process, with a data dir of its own it removes on stop. */
export interface KafkaChild {
  readonly url: string;
  readonly child: ChildLedger;
  /** Kills the process (SIGKILL unless told) and removes its data dir; safe to call twice. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startKafkaChild(
  brokers: readonly string[],
  topic: string,
  env: Record<string, string> = {},
): Promise<KafkaChild> {
  const dir = tempDir('ledger-kafka-');
  try {
    const child = await startChild(dir, {
      LEDGER_KAFKA_BROKERS: brokers.join(','),
      LEDGER_TOPIC: topic,
      LEDGER_PARTITIONS: '3',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
      ...env,
    });
    return {
      url: child.url,
      child,
      stop: async (signal = 'SIGKILL') => {
        await child.kill(signal);
        removeDir(dir);
      },
    };
  } catch (error) {
    removeDir(dir);
    throw error;
  }
}

/** Polls GET /readyz until the child's views have replayed the log. */
export async function whenReady(url: string, timeoutMs = 30_000): Promise<void> {
  await eventually(
    async () => {
      const ready = await getJson<{ status?: string; message?: string }>(`${url}/readyz`);
      expect(ready).toMatchObject({ status: 200, body: { status: 'ready' } });
    },
    { timeoutMs, intervalMs: 100 },
  );
}

const ROOT = resolve(__dirname, '../..');
const INFRA = resolve(ROOT, 'infra/kafka');

/** Runs one of infra/kafka/*.sh; rejects with its output when it fails. */
function runScript(
  script: string,
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolveRun, reject) => {
    execFile(
      resolve(INFRA, script),
      [...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null)
          reject(new Error(`${script} ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`));
        else resolveRun(`${stdout}${stderr}`);
      },
    );
  });
}

/**
 * A local cluster of its own, started by infra/kafka/kafka-up.sh in `runDir`: for fault tests that
 * kill and restart nodes, which must never touch the shared test broker.
 */
export class LocalCluster {
  private constructor(
    private readonly runDir: string,
    readonly nodes: number,
    readonly brokers: readonly string[],
  ) {}

  /** `portBase` (KAFKA_PORT_BASE) keeps a 1-node cluster of its own off the shared test broker's port. */
  static async up(runDir: string, nodes: number, portBase?: number): Promise<LocalCluster> {
    const env = {
      KAFKA_RUN_DIR: runDir,
      KAFKA_NODES: String(nodes),
      ...(portBase !== undefined && { KAFKA_PORT_BASE: String(portBase) }),
    };
    await runScript('kafka-up.sh', [], env, 150_000);
    const bootstrap = await runScript('kafka-tool.sh', ['bootstrap'], env, 10_000);
    return new LocalCluster(runDir, nodes, bootstrap.trim().split(','));
  }

  /** Stops every node and removes the run dir; safe when nothing runs. */
  static down(runDir: string): Promise<string> {
    return runScript('kafka-down.sh', [], { KAFKA_RUN_DIR: runDir }, 60_000);
  }

  /** SIGKILL one node: a crash, no controlled shutdown. */
  kill(node: number): Promise<string> {
    return runScript('kafka-kill-node.sh', [String(node)], { KAFKA_RUN_DIR: this.runDir }, 30_000);
  }

  /** SIGSTOP one node: a broker that hangs (a GC pause, a frozen VM), connections open, no answers. */
  freeze(node: number): void {
    this.signal(node, 'SIGSTOP');
  }

  /** SIGCONT a frozen node. */
  thaw(node: number): void {
    this.signal(node, 'SIGCONT');
  }

  /** SIGSTOP (freeze: connections stay open, nothing answers) or SIGCONT one node. */
  signal(node: number, signal: 'SIGSTOP' | 'SIGCONT'): void {
    process.kill(Number(readFileSync(resolve(this.runDir, `node-${node}`, 'pid'), 'utf8').trim()), signal);
  }

  /**
   * Starts a stopped node again with its data; resolves once the cluster lists it. A node found running
   * already (a start that outlived its caller's timeout on a loaded machine) is what was asked for.
   */
  async start(node: number): Promise<string> {
    try {
      return await runScript(
        'kafka-start-node.sh',
        [String(node)],
        { KAFKA_RUN_DIR: this.runDir, KAFKA_READY_TIMEOUT: '90' },
        120_000,
      );
    } catch (error) {
      if (error instanceof Error && /node \d+ is already running/.test(error.message)) return error.message;
      throw error;
    }
  }
}
