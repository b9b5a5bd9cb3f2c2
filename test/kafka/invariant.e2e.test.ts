import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import {
  checkPaths,
  lostWrites,
  readLog,
  viewStatuses,
  type Target,
  type Violation,
} from '../support/invariant/checker.js';
import { propertyParameters, Tally } from '../support/invariant/runs.js';
import { BRANDS, Driver, PHONES, stepArb, type Http, type Step } from '../support/invariant/steps.js';
import { eventually } from '../support/eventually.js';
import { LocalCluster, testBrokers } from '../support/kafka.js';
import { removeDir, startChild, tempDir, type ChildLedger } from '../support/ledger-harness.js';

/**
 * Layer 3 of the invariant (docs/design.md §8), on Kafka: an intake process and a gate process (`--role`) on a
 * one-node Kafka of the test's own, with the broker SIGKILLed or frozen (SIGSTOP) and the gate frozen
 * between steps. Right after a frozen gate wakes — frozen longer than its staleness bound — its
 * answers without minPosition must not be allowed where the fold of the log suppresses; once settled,
 * every path equals the fold or fails closed, and every acknowledged write is on the topic.
 */

// Starts a Kafka of its own (minutes on a loaded machine), so it runs under `make test-deep`
// (LEDGER_PROPERTY_KAFKA=1 with a test broker, infra/kafka/with-kafka.sh), not in `make test`.
const describeKafka =
  testBrokers === undefined || process.env.LEDGER_PROPERTY_KAFKA !== '1' ? describe.skip : describe;
const STALENESS_MS = 1000;

const TARGETS: readonly Target[] = PHONES.slice(0, 3).flatMap((phone) =>
  BRANDS.map((brand) => ({ phone, brand })),
);

type Fault = 'killBroker' | 'freezeBroker' | 'freezeGate';
interface FaultStep {
  readonly kind: 'fault';
  readonly fault: Fault;
}
const FAULTS: readonly Fault[] = ['killBroker', 'freezeBroker', 'freezeGate'];

const parameters = propertyParameters<[unknown]>(2);
const timeLimitMs = Math.max(300_000, parameters.numRuns * 90_000);
const tally = new Tally('kafka', parameters.seed);
afterAll(() => tally.print());

function fetching(child: ChildLedger, timeoutMs: number): Http {
  return async (method, path, body) => {
    const response = await fetch(`${child.url}${path}`, {
      method,
      ...(body !== undefined && {
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return {
      status: response.status,
      text: await response.text(),
      headers: Object.fromEntries(response.headers),
    };
  };
}

function report(violations: readonly Violation[], when: string): string {
  const shown = violations.slice(0, 8).map((v) => `  [${v.kind}] ${v.path}: ${v.detail}`);
  return `${violations.length} violation(s) of the invariant ${when}:\n${shown.join('\n')}`;
}

describeKafka(
  'the invariant on Kafka: intake and gate processes, the broker killed or frozen, the gate frozen',
  () => {
    let runDir: string;
    let cluster: LocalCluster;

    beforeAll(async () => {
      runDir = tempDir('ledger-invariant-kafka-');
      // Off the shared test broker's ports (its base + 40), so killing this one touches no other test.
      const shared = Number(testBrokers?.[0]?.split(':')[1] ?? '9192');
      cluster = await LocalCluster.up(runDir, 1, shared + 40);
    }, 240_000);

    afterAll(async () => {
      await LocalCluster.down(runDir);
      removeDir(runDir);
    }, 90_000);

    it(
      'holds for random sequences with broker and gate faults between the steps',
      async () => {
        const step: fc.Arbitrary<Step | FaultStep> = fc.oneof(
          {
            weight: 3,
            arbitrary: stepArb({
              nulAndLoneSurrogates: true,
              reusedMessageIds: true,
            }),
          },
          {
            weight: 1,
            arbitrary: fc.record({ kind: fc.constant('fault' as const), fault: fc.constantFrom(...FAULTS) }),
          },
        );
        await fc.assert(
          fc.asyncProperty(fc.array(step, { minLength: 4, maxLength: 12 }), async (sequence) => {
            tally.sequences += 1;
            tally.steps += sequence.length;
            const env = {
              LEDGER_KAFKA_BROKERS: cluster.brokers.join(','),
              LEDGER_TOPIC: `invariant-${randomUUID()}`,
              LEDGER_PARTITIONS: '3',
              LEDGER_READ_WAIT_MS: '500',
              LEDGER_MAX_STALENESS_MS: String(STALENESS_MS),
              KAFKAJS_NO_PARTITIONER_WARNING: '1',
            };
            const dirs = [tempDir('ledger-invariant-'), tempDir('ledger-invariant-')] as const;
            const children: ChildLedger[] = [];
            const state = { brokerDown: false, brokerFrozen: false, gateFrozen: false, gateFrozenAt: 0 };
            try {
              const intake = await startChild(dirs[0], env, ['--role', 'intake'], { startTimeoutMs: 90_000 });
              children.push(intake);
              const gate = await startChild(dirs[1], env, ['--role', 'gate'], { startTimeoutMs: 90_000 });
              children.push(gate);
              // Writes to a broker that is gone are not acknowledged within 10 s: the driver forgets them.
              const driver = new Driver(fetching(intake, 10_000));
              const checks = fetching(gate, 30_000);
              await eventually(
                async () => expect((await viewStatuses(checks)).every((v) => v.ready)).toBe(true),
                {
                  timeoutMs: 60_000,
                  intervalMs: 100,
                },
              );
              const brokerUsable = (): boolean => !state.brokerDown && !state.brokerFrozen;

              for (const [index, item] of sequence.entries()) {
                if (item.kind !== 'fault') {
                  await driver.apply(item);
                  continue;
                }
                tally.fault(item.fault);
                switch (item.fault) {
                  case 'killBroker':
                    await (state.brokerDown ? cluster.start(1) : cluster.kill(1));
                    state.brokerDown = !state.brokerDown;
                    // A frozen node killed is gone; started again it runs.
                    state.brokerFrozen = false;
                    break;
                  case 'freezeBroker':
                    if (state.brokerDown) break;
                    cluster.signal(1, state.brokerFrozen ? 'SIGCONT' : 'SIGSTOP');
                    state.brokerFrozen = !state.brokerFrozen;
                    break;
                  case 'freezeGate': {
                    gate.process.kill(state.gateFrozen ? 'SIGCONT' : 'SIGSTOP');
                    const frozenFor = Date.now() - state.gateFrozenAt;
                    state.gateFrozen = !state.gateFrozen;
                    state.gateFrozenAt = Date.now();
                    // Woken after more than its staleness bound, the gate may not answer from what it had.
                    if (!state.gateFrozen && frozenFor > STALENESS_MS && brokerUsable()) {
                      const { fold, head } = await readLog(fetching(intake, 30_000));
                      const violations = await checkPaths(checks, {
                        fold,
                        head,
                        targets: TARGETS,
                        systems: [],
                        exact: false,
                        unwaited: true,
                        onAnswer: () => (tally.checks += 1),
                      });
                      if (violations.length > 0) {
                        throw new Error(
                          report(violations, `after fault ${index} (gate woken after ${frozenFor} ms)`),
                        );
                      }
                    }
                    break;
                  }
                  default: {
                    const never: never = item.fault;
                    throw new Error(`unknown fault ${String(never)}`);
                  }
                }
              }

              // Heal, settle, then the whole invariant.
              if (state.gateFrozen) gate.process.kill('SIGCONT');
              if (state.brokerFrozen) cluster.signal(1, 'SIGCONT');
              if (state.brokerDown) await cluster.start(1);
              state.gateFrozen = state.brokerFrozen = state.brokerDown = false;
              const { fold: settledFold } = await eventually(
                async () => {
                  const log = await readLog(fetching(intake, 30_000));
                  const views = await viewStatuses(checks);
                  expect(views.every((v) => v.ready && v.lag.events === 0)).toBe(true);
                  return log;
                },
                { timeoutMs: 60_000, intervalMs: 200 },
              ).catch(async () => readLog(fetching(intake, 30_000)));
              const { head } = await readLog(fetching(intake, 30_000));
              const violations = [
                ...driver.problems.map((p): Violation => ({ kind: 'drive', path: p.what, detail: p.answer })),
                ...lostWrites(settledFold, driver.acknowledged),
                ...(await checkPaths(checks, {
                  fold: settledFold,
                  head,
                  targets: TARGETS,
                  systems: [],
                  exact: true,
                  onAnswer: () => (tally.checks += 1),
                })),
              ];
              tally.requests += driver.requests;
              if (violations.length > 0) throw new Error(report(violations, 'once settled'));
            } catch (error) {
              tally.failed(error);
              throw error;
            } finally {
              for (const child of children) {
                child.process.kill('SIGCONT');
                await child.kill('SIGKILL');
              }
              if (state.brokerFrozen) cluster.signal(1, 'SIGCONT');
              if (state.brokerDown) await cluster.start(1);
              for (const dir of dirs) removeDir(dir);
            }
          }),
          { ...parameters, interruptAfterTimeLimit: timeLimitMs },
        );
      },
      timeLimitMs + 120_000,
    );
  },
);
