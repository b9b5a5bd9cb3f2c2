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
import { BRANDS, Driver, PHONES, PROGRAMS, stepArb, type Http } from '../support/invariant/steps.js';
import { eventually } from '../support/eventually.js';
import { openInProcess, removeDir, tempDir } from '../support/ledger-harness.js';

/**
 * Layer 1 of the invariant (docs/design.md §8), fast and in process: random sequences of opt-outs, opt-ins,
 * STOP replies with hostile text, repeats and reviews, sent through app.inject() to an embedded ledger;
 * then the log is read back and folded by the ledger's own fold, and every check path must agree.
 */

const TARGETS: readonly Target[] = PHONES.flatMap((phone) =>
  BRANDS.flatMap((brand) =>
    [undefined, ...PROGRAMS].map((program) => ({ phone, brand, ...(program !== undefined && { program }) })),
  ),
);

const parameters = propertyParameters<[unknown]>(30);
const tally = new Tally('in-process', parameters.seed);
afterAll(() => tally.print());

function injecting(app: Awaited<ReturnType<typeof openInProcess>>['app']): Http {
  return async (method, url, body) => {
    const response = await app.inject({
      method,
      url,
      ...(body !== undefined && { payload: body as object }),
    });
    return { status: response.statusCode, text: response.body, headers: response.headers };
  };
}

function report(violations: readonly Violation[]): string {
  const shown = violations.slice(0, 8).map((v) => `  [${v.kind}] ${v.path}: ${v.detail}`);
  return `${violations.length} violation(s) of the invariant:\n${shown.join('\n')}`;
}

describe('the invariant, in process: no check answers allowed where the fold of the log suppresses', () => {
  it('holds for random sequences of opt-outs, opt-ins, replies, repeats and reviews', async () => {
    const steps = fc.array(stepArb({ nulAndLoneSurrogates: true, reusedMessageIds: true }), {
      minLength: 3,
      maxLength: 40,
    });
    await fc.assert(
      fc.asyncProperty(steps, async (sequence) => {
        tally.sequences += 1;
        tally.steps += sequence.length;
        const dir = tempDir('ledger-invariant-');
        const ledger = await openInProcess(dir);
        try {
          const http = injecting(ledger.app);
          const driver = new Driver(http);
          for (const step of sequence) await driver.apply(step);
          // Settled: the central view has applied everything the log holds.
          await eventually(
            async () => expect((await viewStatuses(http)).every((v) => v.lag.events === 0)).toBe(true),
            {
              timeoutMs: 5000,
            },
          );
          const { fold, head } = await readLog(http);
          const violations = [
            ...driver.problems.map((p): Violation => ({ kind: 'drive', path: p.what, detail: p.answer })),
            ...lostWrites(fold, driver.acknowledged),
            ...(await checkPaths(http, {
              fold,
              head,
              targets: TARGETS,
              systems: [],
              exact: true,
              onAnswer: () => (tally.checks += 1),
            })),
          ];
          tally.requests += driver.requests;
          if (violations.length > 0) {
            tally.violations += 1;
            throw new Error(report(violations));
          }
        } finally {
          await ledger.close();
          removeDir(dir);
        }
      }),
      parameters,
    );
  }, 600_000);
});
