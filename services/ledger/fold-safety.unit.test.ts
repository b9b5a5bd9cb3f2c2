import fc from 'fast-check';
import { optIn, optOut, recorded, suspected, T0 } from '../../test/support/given.js';
import type { LedgerEvent } from './events.js';
import { effectiveState, foldHistory, type ConsentFact } from './fold.js';
import { covers, type ScopeKey } from './scope.js';

/** The scopes a random history draws from: nested and sibling brands and programs. */
const SCOPES: readonly ScopeKey[] = [
  'global',
  'brand:acme',
  'brand:globex',
  'program:acme/promo',
  'program:acme/alerts',
  'program:globex/promo',
];
const CHECKS: readonly (readonly [string | undefined, string | undefined])[] = [
  [undefined, undefined],
  ['acme', undefined],
  ['acme', 'promo'],
  ['acme', 'alerts'],
  ['globex', undefined],
  ['globex', 'promo'],
];

const WIDTH = (scope: ScopeKey): number => (scope === 'global' ? 0 : scope.startsWith('brand:') ? 1 : 2);

const anEvent = fc
  .record({
    kind: fc.constantFrom('out', 'in', 'suspected'),
    scope: fc.constantFrom(...SCOPES),
    minutes: fc.integer({ min: -5, max: 5 }),
  })
  .map(({ kind, scope, minutes }): LedgerEvent => {
    const fields = { scope, occurredAt: T0 + minutes * 60_000 };
    return kind === 'out' ? optOut(fields) : kind === 'in' ? optIn(fields) : suspected(fields);
  });

/** Events get distinct ids (the factories' default ids repeat for equal scope and time). */
const aHistory = fc
  .array(anEvent, { maxLength: 12 })
  .map((events) => foldHistory(events.map((event, i) => recorded({ ...event, eventId: `e${i}` }, i + 1))));

/**
 * The rule stated independently of the fold: an opt-out (or suspected one) covering the check is lifted
 * only by an opt-in later in the log, covering the check, at the same or a narrower scope, that did not
 * occur before it.
 */
function lifted(out: ConsentFact, facts: readonly ConsentFact[]): boolean {
  return facts.some(
    (fact) =>
      fact.kind === 'in' &&
      fact.position > out.position &&
      WIDTH(fact.scope) >= WIDTH(out.scope) &&
      fact.occurredAt >= out.occurredAt,
  );
}

describe('property: no opt-in lifts a narrower or later-dated opt-out (docs/design.md §3)', () => {
  it('for random histories, a check is allowed exactly when every covering opt-out was lifted by a valid opt-in', () => {
    fc.assert(
      fc.property(aHistory, (history) => {
        for (const [brand, program] of CHECKS) {
          const covering = history.filter((fact) => covers(fact.scope, brand, program));
          const suppressing = covering.filter((fact) => fact.kind === 'out' || fact.kind === 'suspected');
          const expected = suppressing.every((out) => lifted(out, covering));
          expect(effectiveState(history, brand, program).allowed).toBe(expected);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
