import {
  BRAND,
  PHONE,
  T0,
  confirmation,
  given,
  optIn,
  optOut,
  recorded,
  reviewed,
  suspected,
} from '../../test/support/given.js';
import { asPosition } from './events.js';
import {
  EMPTY_HISTORY,
  consentFact,
  describe as describeState,
  effectiveState,
  evolve,
  foldHistory,
  scopeStates,
} from './fold.js';

const MINUTE = 60_000;

describe('the fold of one phone (docs/design.md §3)', () => {
  describe('effective state', () => {
    it('a phone without events has no record and may be messaged', () => {
      given().check(BRAND).is('no_record');
      given().check(BRAND, 'promo').is('no_record');
      given().check().is('no_record');
    });

    it('an opt-out suppresses', () => {
      given(optOut({ eventId: 'o1' }))
        .check(BRAND)
        .is('opted_out')
        .causedBy('o1');
    });

    it('a later opt-in lifts the opt-out', () => {
      given(optOut({ occurredAt: T0 }), optIn({ eventId: 'i1', occurredAt: T0 + MINUTE }))
        .check(BRAND)
        .is('opted_in')
        .causedBy('i1');
    });

    it('an opt-in on its own means opted in', () => {
      given(optIn({ eventId: 'i1' }))
        .check(BRAND)
        .is('opted_in')
        .causedBy('i1');
    });

    it('a later opt-out suppresses again after an opt-in', () => {
      given(
        optOut({ occurredAt: T0 }),
        optIn({ occurredAt: T0 + 1 }),
        optOut({ eventId: 'o2', occurredAt: T0 + 2 }),
      )
        .check(BRAND)
        .is('opted_out')
        .causedBy('o2');
    });
  });

  describe('safety rule: a stale opt-in never resurrects consent', () => {
    it('an opt-in that occurred before the opt-out in force does not lift it, and the reason says so', () => {
      given(optOut({ eventId: 'o1', occurredAt: T0 }), optIn({ eventId: 'late-in', occurredAt: T0 - MINUTE }))
        .check(BRAND)
        .is('opted_out')
        .causedBy('o1')
        .ignoring('late-in')
        .because('opt-in late-in was ignored because it occurred before the opt-out in force');
    });

    it('an opt-in whose occurredAt equals the opt-out’s lifts it', () => {
      given(optOut({ occurredAt: T0 }), optIn({ eventId: 'i1', occurredAt: T0 }))
        .check(BRAND)
        .is('opted_in')
        .causedBy('i1');
    });

    it('an opt-in that occurred one millisecond before the opt-out does not lift it', () => {
      given(optOut({ occurredAt: T0 }), optIn({ occurredAt: T0 - 1 }))
        .check(BRAND)
        .is('opted_out');
    });

    it('a stale opt-in is judged against the latest-occurring of several opt-outs in force', () => {
      given(
        optOut({ eventId: 'early', occurredAt: T0 }),
        optOut({ eventId: 'later', occurredAt: T0 + 10 * MINUTE }),
        optIn({ eventId: 'between', occurredAt: T0 + 5 * MINUTE }),
      )
        .check(BRAND)
        .is('opted_out')
        .ignoring('between');
    });

    it('a fresh opt-in after an ignored stale one lifts, and the stale one is no longer reported', () => {
      const check = given(
        optOut({ occurredAt: T0 }),
        optIn({ eventId: 'stale', occurredAt: T0 - 1 }),
        optIn({ eventId: 'fresh', occurredAt: T0 + 1 }),
      )
        .check(BRAND)
        .is('opted_in')
        .causedBy('fresh');
      expect(check.state.staleOptIn).toBeUndefined();
      expect(check.reason).not.toContain('ignored');
    });

    it('an opt-in that occurred before an opt-out that was already lifted does not matter: it is not stale', () => {
      given(
        optOut({ occurredAt: T0 }),
        optIn({ occurredAt: T0 + 2 * MINUTE }),
        optIn({ eventId: 'old-in', occurredAt: T0 - MINUTE }),
      )
        .check(BRAND)
        .is('opted_in')
        .causedBy('old-in');
    });

    it('a stale opt-in does not lift a suspected opt-out either', () => {
      given(suspected({ occurredAt: T0 }), optIn({ eventId: 'stale', occurredAt: T0 - 1 }))
        .check(BRAND)
        .is('pending_review')
        .ignoring('stale');
    });

    it('the stale opt-in is still reported once a hard opt-out confirms a suspected one', () => {
      given(
        suspected({ occurredAt: T0 }),
        optIn({ eventId: 'stale', occurredAt: T0 - 1 }),
        optOut({ eventId: 'hard', occurredAt: T0 + 1 }),
      )
        .check(BRAND)
        .is('opted_out')
        .causedBy('hard')
        .ignoring('stale');
    });
  });

  describe('log order decides, not occurredAt', () => {
    it('a late-arriving opt-out with an old occurredAt still suppresses (the latest in log order wins)', () => {
      given(optIn({ occurredAt: T0 + 10 * MINUTE }), optOut({ eventId: 'old-out', occurredAt: T0 }))
        .check(BRAND)
        .is('opted_out')
        .causedBy('old-out');
    });

    it('a late-arriving opt-out with an old occurredAt suppresses even after a lifted opt-out', () => {
      given(
        optOut({ occurredAt: T0 }),
        optIn({ occurredAt: T0 + 10 * MINUTE }),
        optOut({ eventId: 'old-out', occurredAt: T0 + MINUTE }),
      )
        .check(BRAND)
        .is('opted_out')
        .causedBy('old-out');
    });

    it('after a late-arriving old opt-out, an opt-in is stale only against that opt-out’s own occurredAt', () => {
      given(
        optOut({ occurredAt: T0 + 5 * MINUTE }),
        optIn({ occurredAt: T0 + 10 * MINUTE }),
        optOut({ occurredAt: T0 }),
        optIn({ eventId: 'i2', occurredAt: T0 + MINUTE }),
      )
        .check(BRAND)
        .is('opted_in')
        .causedBy('i2');
    });
  });

  describe('scopes: global ⊇ brand ⊇ program', () => {
    it('a global opt-out suppresses every brand and every program', () => {
      const scenario = given(optOut({ eventId: 'g', scope: 'global' }));
      scenario.check().is('opted_out').causedBy('g');
      scenario.check('acme').is('opted_out').causedBy('g');
      scenario.check('globex').is('opted_out').causedBy('g');
      scenario.check('acme', 'promo').is('opted_out').causedBy('g');
      scenario.check('initech', 'alerts').is('opted_out').causedBy('g');
    });

    it('a brand opt-out suppresses that brand and its programs, but not other brands nor the global check', () => {
      const scenario = given(optOut({ eventId: 'b', scope: 'brand:acme' }));
      scenario.check('acme').is('opted_out').causedBy('b');
      scenario.check('acme', 'promo').is('opted_out').causedBy('b');
      scenario.check('acme', 'alerts').is('opted_out').causedBy('b');
      scenario.check('globex').is('no_record');
      scenario.check('globex', 'promo').is('no_record');
      scenario.check().is('no_record');
    });

    it('a program opt-out suppresses that program only: not the brand-level check, not sibling programs', () => {
      const scenario = given(optOut({ eventId: 'p', scope: 'program:acme/promo' }));
      scenario.check('acme', 'promo').is('opted_out').causedBy('p');
      scenario.check('acme').is('no_record');
      scenario.check('acme', 'alerts').is('no_record');
      scenario.check('globex', 'promo').is('no_record');
      scenario.check().is('no_record');
    });

    it('a brand opt-in lifts a global opt-out for that brand only, when it did not occur earlier', () => {
      const scenario = given(
        optOut({ scope: 'global', occurredAt: T0 }),
        optIn({ eventId: 'acme-in', scope: 'brand:acme', occurredAt: T0 + MINUTE }),
      );
      scenario.check('acme').is('opted_in').causedBy('acme-in');
      scenario.check('acme', 'promo').is('opted_in').causedBy('acme-in');
      scenario.check('globex').is('opted_out');
      scenario.check('globex', 'promo').is('opted_out');
      scenario.check().is('opted_out');
    });

    it('a brand opt-in that occurred before the global opt-out does not lift it, not even for that brand', () => {
      given(
        optOut({ scope: 'global', occurredAt: T0 }),
        optIn({ eventId: 'stale', scope: 'brand:acme', occurredAt: T0 - MINUTE }),
      )
        .check('acme')
        .is('opted_out')
        .ignoring('stale');
    });

    it('a program opt-in lifts a brand opt-out for that program only', () => {
      const scenario = given(
        optOut({ scope: 'brand:acme', occurredAt: T0 }),
        optIn({ eventId: 'promo-in', scope: 'program:acme/promo', occurredAt: T0 + MINUTE }),
      );
      scenario.check('acme', 'promo').is('opted_in').causedBy('promo-in');
      scenario.check('acme', 'alerts').is('opted_out');
      scenario.check('acme').is('opted_out');
    });

    it('a global opt-in leaves a brand opt-out standing: it was recorded at a narrower scope', () => {
      given(
        optOut({ eventId: 'b-out', scope: 'brand:acme', occurredAt: T0 }),
        optIn({ eventId: 'g-in', scope: 'global', occurredAt: T0 + 1 }),
      )
        .check('acme', 'promo')
        .is('opted_out')
        .causedBy('b-out')
        .ignoring('g-in')
        .because('opt-in g-in was ignored because an opt-out recorded at a narrower scope');
    });

    it('an opt-in at another brand or program changes nothing here', () => {
      const scenario = given(
        optOut({ scope: 'brand:acme', occurredAt: T0 }),
        optIn({ scope: 'brand:globex', occurredAt: T0 + 1 }),
        optIn({ scope: 'program:globex/promo', occurredAt: T0 + 2 }),
      );
      scenario.check('acme').is('opted_out');
      scenario.check('acme', 'promo').is('opted_out');
    });

    it('a brand check without a program ignores program-scoped events, opt-ins included', () => {
      given(
        optOut({ scope: 'brand:acme', occurredAt: T0 }),
        optIn({ scope: 'program:acme/promo', occurredAt: T0 + 1 }),
      )
        .check('acme')
        .is('opted_out');
    });
  });

  describe('safety rule: an opt-in never lifts an opt-out recorded at a narrower scope than its own', () => {
    it('STOPALL and three brands’ STOPs, then a global opt-in: only the STOPALL is lifted', () => {
      const scenario = given(
        optOut({ eventId: 'stopall', scope: 'global', occurredAt: T0 }),
        optOut({ eventId: 'acme-out', scope: 'brand:acme', occurredAt: T0 }),
        optOut({ eventId: 'globex-out', scope: 'brand:globex', occurredAt: T0 }),
        optOut({ eventId: 'initech-out', scope: 'brand:initech', occurredAt: T0 }),
      ).when(optIn({ eventId: 'g-in', scope: 'global', occurredAt: T0 + MINUTE }));
      scenario.check('acme').is('opted_out').causedBy('acme-out').ignoring('g-in');
      scenario.check('globex').is('opted_out').causedBy('globex-out');
      scenario.check('initech', 'promo').is('opted_out').causedBy('initech-out');
      scenario.check('umbrella').is('opted_in').causedBy('g-in');
      scenario.check().is('opted_in').causedBy('g-in');
    });

    it('a brand opt-in leaves a program opt-out standing, and lifts the brand for its other programs', () => {
      const scenario = given(
        optOut({ eventId: 'promo-out', scope: 'program:acme/promo', occurredAt: T0 }),
        optOut({ eventId: 'acme-out', scope: 'brand:acme', occurredAt: T0 }),
      ).when(optIn({ eventId: 'acme-in', scope: 'brand:acme', occurredAt: T0 + MINUTE }));
      scenario.check('acme', 'promo').is('opted_out').causedBy('promo-out').ignoring('acme-in');
      scenario.check('acme', 'alerts').is('opted_in').causedBy('acme-in');
      scenario.check('acme').is('opted_in').causedBy('acme-in');
    });

    it('a global opt-in leaves a program opt-out standing', () => {
      given(
        optOut({ eventId: 'promo-out', scope: 'program:acme/promo', occurredAt: T0 }),
        optIn({ eventId: 'g-in', scope: 'global', occurredAt: T0 + MINUTE }),
      )
        .check('acme', 'promo')
        .is('opted_out')
        .causedBy('promo-out');
    });

    it('a global opt-in leaves a brand’s suspected opt-out awaiting review', () => {
      given(
        suspected({ eventId: 's', scope: 'brand:acme', occurredAt: T0 }),
        optIn({ eventId: 'g-in', scope: 'global', occurredAt: T0 + MINUTE }),
      )
        .check('acme')
        .is('pending_review')
        .causedBy('s')
        .ignoring('g-in');
    });

    it('an opt-in at the opt-out’s own scope lifts it after a wider one failed to', () => {
      given(
        optOut({ scope: 'brand:acme', occurredAt: T0 }),
        optIn({ eventId: 'g-in', scope: 'global', occurredAt: T0 + 1 }),
        optIn({ eventId: 'acme-in', scope: 'brand:acme', occurredAt: T0 + 2 }),
      )
        .check('acme')
        .is('opted_in')
        .causedBy('acme-in');
    });

    it('the STOPALL a global opt-in lifted stays lifted when the brand opts in later', () => {
      given(
        optOut({ scope: 'global', occurredAt: T0 }),
        optOut({ scope: 'brand:acme', occurredAt: T0 }),
        optIn({ scope: 'global', occurredAt: T0 + 1 }),
        optIn({ eventId: 'acme-in', scope: 'brand:acme', occurredAt: T0 + 2 }),
      )
        .check('acme')
        .is('opted_in')
        .causedBy('acme-in');
    });

    it('a narrower opt-in still lifts a wider opt-out for its own scope (the rule is one-way)', () => {
      given(
        optOut({ scope: 'global', occurredAt: T0 }),
        optIn({ eventId: 'promo-in', scope: 'program:acme/promo', occurredAt: T0 + 1 }),
      )
        .check('acme', 'promo')
        .is('opted_in')
        .causedBy('promo-in');
    });
  });

  describe('tricky multi-scope orders', () => {
    it('global opt-out, brand opt-in, then global opt-out again: the brand is suppressed again', () => {
      const scenario = given(
        optOut({ scope: 'global', occurredAt: T0 }),
        optIn({ scope: 'brand:acme', occurredAt: T0 + 1 }),
        optOut({ eventId: 'g2', scope: 'global', occurredAt: T0 + 2 }),
      );
      scenario.check('acme').is('opted_out').causedBy('g2');
      scenario.check('acme', 'promo').is('opted_out').causedBy('g2');
    });

    it('a program opt-out that occurred after a brand opt-in keeps that program suppressed when the brand opt-in arrives late', () => {
      const scenario = given(
        optOut({ scope: 'program:acme/promo', occurredAt: T0 + 10 * MINUTE }),
        optIn({ eventId: 'brand-in', scope: 'brand:acme', occurredAt: T0 }),
      );
      scenario.check('acme', 'promo').is('opted_out').ignoring('brand-in');
      scenario.check('acme', 'alerts').is('opted_in').causedBy('brand-in');
      scenario.check('acme').is('opted_in').causedBy('brand-in');
    });

    it('a brand opt-in is stale against the newest covering opt-out, whatever its scope', () => {
      const scenario = given(
        optOut({ scope: 'global', occurredAt: T0 }),
        optOut({ scope: 'brand:acme', occurredAt: T0 + 10 * MINUTE }),
        optIn({ eventId: 'between', scope: 'brand:acme', occurredAt: T0 + 5 * MINUTE }),
      );
      scenario.check('acme').is('opted_out').ignoring('between');
    });

    it('an opt-out at a scope that does not cover the check is invisible to the stale-opt-in rule', () => {
      const scenario = given(
        optOut({ scope: 'brand:acme', occurredAt: T0 }),
        optOut({ scope: 'brand:globex', occurredAt: T0 + 10 * MINUTE }),
        optIn({ eventId: 'acme-in', scope: 'brand:acme', occurredAt: T0 + 5 * MINUTE }),
      );
      scenario.check('acme').is('opted_in').causedBy('acme-in');
      scenario.check('globex').is('opted_out');
    });

    it('a program opt-in then a brand opt-out: the brand opt-out, later in the log, wins for the program too', () => {
      given(
        optIn({ scope: 'program:acme/promo', occurredAt: T0 + MINUTE }),
        optOut({ eventId: 'b', scope: 'brand:acme', occurredAt: T0 }),
      )
        .check('acme', 'promo')
        .is('opted_out')
        .causedBy('b');
    });

    it('events of another program of the same brand never decide this program', () => {
      const scenario = given(
        optOut({ scope: 'program:acme/alerts', occurredAt: T0 }),
        optIn({ scope: 'program:acme/promo', occurredAt: T0 - MINUTE }),
      );
      scenario.check('acme', 'promo').is('opted_in');
      scenario.check('acme', 'alerts').is('opted_out');
    });
  });

  describe('suspected opt-outs', () => {
    it('a suspected opt-out suppresses at once, with status pending_review', () => {
      given(suspected({ eventId: 's1' }))
        .check(BRAND)
        .is('pending_review')
        .causedBy('s1')
        .because('suspected opt-out at brand:acme (event s1) awaiting review; suppressed until reviewed');
    });

    it('a hard opt-out after a suspected one makes it opted_out', () => {
      given(suspected({ occurredAt: T0 }), optOut({ eventId: 'hard', occurredAt: T0 + 1 }))
        .check(BRAND)
        .is('opted_out')
        .causedBy('hard');
    });

    it('a suspected opt-out after a hard one does not downgrade it to pending_review', () => {
      given(optOut({ eventId: 'hard', occurredAt: T0 }), suspected({ occurredAt: T0 + 1 }))
        .check(BRAND)
        .is('opted_out')
        .causedBy('hard');
    });

    it('a later opt-in lifts a suspected opt-out', () => {
      given(suspected({ occurredAt: T0 }), optIn({ eventId: 'i1', occurredAt: T0 + 1 }))
        .check(BRAND)
        .is('opted_in')
        .causedBy('i1');
    });

    it('a global suspected opt-out puts every brand in pending_review', () => {
      const scenario = given(suspected({ scope: 'global' }));
      scenario.check('acme').is('pending_review');
      scenario.check('globex', 'promo').is('pending_review');
    });
  });

  describe('review decisions', () => {
    const later = (minutes: number) => T0 + minutes * MINUTE;

    it('confirmed: the suspected opt-out becomes an opt-out, caused by the reply itself', () => {
      given(
        suspected({ eventId: 's1' }),
        reviewed({ resolves: 's1', outcome: 'confirmed', occurredAt: later(60) }),
      )
        .check(BRAND)
        .is('opted_out')
        .causedBy('s1')
        .because('opted out at brand:acme (event s1)');
    });

    it('dismissed: the suppression is lifted and the phone is as it was before the reply', () => {
      given(suspected({ eventId: 's1' }), reviewed({ resolves: 's1', outcome: 'dismissed' }))
        .check(BRAND)
        .is('no_record');
      given(optIn({ eventId: 'i0', occurredAt: T0 - 1 }), suspected({ eventId: 's1' }))
        .when(reviewed({ resolves: 's1', outcome: 'dismissed' }))
        .check(BRAND)
        .is('opted_in')
        .causedBy('i0');
    });

    it('dismissing a suspected opt-out never lifts a hard opt-out', () => {
      given(optOut({ eventId: 'o1' }), suspected({ eventId: 's1', occurredAt: T0 + 1 }))
        .when(reviewed({ resolves: 's1', outcome: 'dismissed' }))
        .check(BRAND)
        .is('opted_out')
        .causedBy('o1');
      given(suspected({ eventId: 's1' }), optOut({ eventId: 'o2', occurredAt: T0 + 1 }))
        .when(reviewed({ resolves: 's1', outcome: 'dismissed' }))
        .check(BRAND)
        .is('opted_out')
        .causedBy('o2');
    });

    it('a confirmed review does not outrank an opt-in the person sent after the reply', () => {
      given(suspected({ eventId: 's1' }), optIn({ eventId: 'i1', occurredAt: T0 + 1 }))
        .when(reviewed({ resolves: 's1', outcome: 'confirmed', occurredAt: later(30) }))
        .check(BRAND)
        .is('opted_in')
        .causedBy('i1');
    });

    it('the first decision stands: a second or contrary one changes nothing', () => {
      const confirmed = given(suspected({ eventId: 's1' }), reviewed({ eventId: 'r1', resolves: 's1' }));
      confirmed
        .when(reviewed({ eventId: 'r2', resolves: 's1', outcome: 'dismissed' }))
        .check(BRAND)
        .is('opted_out');
      given(suspected({ eventId: 's1' }), reviewed({ eventId: 'r1', resolves: 's1', outcome: 'dismissed' }))
        .when(reviewed({ eventId: 'r2', resolves: 's1', outcome: 'confirmed' }))
        .check(BRAND)
        .is('no_record');
    });

    it('a decision about an event the phone does not have, or about a hard opt-out, changes nothing', () => {
      const scenario = given(optOut({ eventId: 'o1' }));
      expect(scenario.when(reviewed({ resolves: 'nope', outcome: 'dismissed' })).history).toEqual(
        scenario.history,
      );
      scenario
        .when(reviewed({ resolves: 'o1', outcome: 'dismissed' }))
        .check(BRAND)
        .is('opted_out');
    });

    it('a dismissed global suspicion lifts every brand at once', () => {
      const scenario = given(suspected({ eventId: 's1', scope: 'global' })).when(
        reviewed({ resolves: 's1', outcome: 'dismissed', scope: 'global' }),
      );
      scenario.check('acme').is('no_record');
      scenario.check('globex', 'promo').is('no_record');
    });

    it('re-delivering the suspected event after a dismissal does not revive it', () => {
      const dismissed = given(
        suspected({ eventId: 's1' }),
        reviewed({ resolves: 's1', outcome: 'dismissed' }),
      );
      const again = evolve(dismissed.history, recorded(suspected({ eventId: 's1' }), 9));
      expect(effectiveState(again, BRAND).status).toBe('no_record');
    });
  });

  describe('scopeStates: one row per scope the phone has facts at', () => {
    it('holds the answer a check at each scope gets', () => {
      const scenario = given(
        optOut({ eventId: 'g', scope: 'global' }),
        optIn({ eventId: 'b', scope: 'brand:acme', occurredAt: T0 + 1 }),
        optOut({ eventId: 'p', scope: 'program:acme/promo', occurredAt: T0 + 2 }),
      );
      const rows = scopeStates(scenario.history);
      expect([...rows.keys()]).toEqual(['global', 'brand:acme', 'program:acme/promo']);
      expect(rows.get('global')).toEqual(effectiveState(scenario.history, undefined));
      expect(rows.get('brand:acme')).toEqual(effectiveState(scenario.history, 'acme'));
      expect(rows.get('program:acme/promo')).toEqual(effectiveState(scenario.history, 'acme', 'promo'));
      expect(rows.get('brand:acme')?.status).toBe('opted_in');
      expect(rows.get('global')?.status).toBe('opted_out');
    });

    it('the most specific row present answers every check (exhaustive over small histories)', () => {
      const scopes = ['global', 'brand:acme', 'brand:globex', 'program:acme/promo'] as const;
      const kinds = [optOut, optIn, suspected] as const;
      const events = scopes.flatMap((scope, s) =>
        kinds.map((make, k) => make({ scope, eventId: `${s}-${k}`, occurredAt: T0 + s * 3 + k })),
      );
      const targets = [
        [undefined, undefined],
        ['acme', undefined],
        ['acme', 'promo'],
        ['acme', 'alerts'],
        ['globex', undefined],
        ['globex', 'promo'],
        ['initech', undefined],
      ] as const;
      for (let a = 0; a < events.length; a++) {
        for (let b = 0; b < events.length; b++) {
          for (let c = 0; c < events.length; c++) {
            const picked = [events[a], events[b], events[c]].flatMap((e) => (e === undefined ? [] : [e]));
            const history = given(...picked).history;
            const rows = scopeStates(history);
            for (const [brand, program] of targets) {
              const row =
                (program !== undefined && rows.get(`program:${brand}/${program}`)) ||
                (brand !== undefined && rows.get(`brand:${brand}`)) ||
                rows.get('global');
              const expected = effectiveState(history, brand, program);
              expect({ status: row ? row.status : 'no_record', allowed: row ? row.allowed : true }).toEqual({
                status: expected.status,
                allowed: expected.allowed,
              });
            }
          }
        }
      }
    });
  });

  describe('confirmations', () => {
    it('a ConfirmationSent does not change the state', () => {
      given(confirmation()).check(BRAND).is('no_record');
      given(optOut({ eventId: 'o1' }), confirmation({ confirms: 'o1' }))
        .check(BRAND)
        .is('opted_out')
        .causedBy('o1');
      given(optOut(), optIn({ eventId: 'i1', occurredAt: T0 + 1 }), confirmation({ occurredAt: T0 + 2 }))
        .check(BRAND)
        .is('opted_in')
        .causedBy('i1');
    });

    it('a ConfirmationSent leaves no fact in the history', () => {
      expect(consentFact(recorded(confirmation(), 1))).toBeUndefined();
      expect(given(optOut(), confirmation()).history).toHaveLength(1);
    });
  });

  describe('evolve is idempotent by position', () => {
    const first = recorded(optOut({ eventId: 'o1', occurredAt: T0 }), 5);
    const second = recorded(optIn({ eventId: 'i1', occurredAt: T0 + 1 }), 6);

    it('re-applying the last record returns the same history object', () => {
      const history = evolve(evolve(EMPTY_HISTORY, first), second);
      expect(evolve(history, second)).toBe(history);
    });

    it('a record below the last position is a re-delivery and returns the same history object', () => {
      const history = evolve(evolve(EMPTY_HISTORY, first), second);
      expect(evolve(history, first)).toBe(history);
      expect(evolve(history, recorded(optOut({ eventId: 'other' }), 3))).toBe(history);
    });

    it('an event id the phone already has is a duplicate, even at a later position (a log that appended it twice)', () => {
      const history = evolve(evolve(EMPTY_HISTORY, first), second);
      const again = recorded(optOut({ eventId: 'o1', occurredAt: T0 }), 9);
      expect(evolve(history, again)).toBe(history);
      given(optOut({ eventId: 'o1' }), optIn({ eventId: 'i1', occurredAt: T0 + 5 }))
        .when(optOut({ eventId: 'o1' }))
        .check(BRAND)
        .is('opted_in');
    });

    it('a ConfirmationSent returns the same history object', () => {
      const history = evolve(EMPTY_HISTORY, first);
      expect(evolve(history, recorded(confirmation(), 7))).toBe(history);
    });

    it('replaying the whole log twice changes nothing', () => {
      const records = given(
        optOut({ occurredAt: T0 }),
        optIn({ occurredAt: T0 + 1 }),
        optOut({ occurredAt: T0 + 2 }),
      ).records;
      const once = foldHistory(records);
      expect(records.reduce(evolve, once)).toBe(once);
      expect(effectiveState(records.reduce(evolve, once), BRAND)).toEqual(effectiveState(once, BRAND));
    });

    it('evolve does not mutate the history it was given', () => {
      const history = evolve(EMPTY_HISTORY, first);
      const next = evolve(history, second);
      expect(history).toHaveLength(1);
      expect(next).toHaveLength(2);
    });

    it('a fact keeps what decides consent: position, scope, kind, occurredAt, recordedAt and event id', () => {
      expect(
        consentFact(
          recorded(
            suspected({ eventId: 's1', scope: 'program:acme/promo', occurredAt: T0, recordedAt: T0 + 5 }),
            9,
          ),
        ),
      ).toEqual({
        position: asPosition(9),
        scope: 'program:acme/promo',
        kind: 'suspected',
        occurredAt: T0,
        recordedAt: T0 + 5,
        eventId: 's1',
      });
    });
  });

  describe('asOf: the state at an earlier point', () => {
    const scenario = given(
      optOut({ eventId: 'o1', occurredAt: T0, recordedAt: T0 }),
      optIn({ eventId: 'i1', occurredAt: T0 + MINUTE, recordedAt: T0 + MINUTE }),
      optOut({ eventId: 'o2', occurredAt: T0 + 2 * MINUTE, recordedAt: T0 + 2 * MINUTE }),
    );

    it('only the facts the predicate admits count', () => {
      scenario.checkAt(0, BRAND).is('no_record');
      scenario.checkAt(1, BRAND).is('opted_out').causedBy('o1');
      scenario.checkAt(2, BRAND).is('opted_in').causedBy('i1');
      scenario.checkAt(3, BRAND).is('opted_out').causedBy('o2');
    });

    it('a predicate on recordedAt gives the state at a point in time', () => {
      scenario
        .check(BRAND, undefined, (fact) => fact.recordedAt <= T0 + MINUTE + 30_000)
        .is('opted_in')
        .causedBy('i1');
    });

    it('by default every fact counts', () => {
      expect(effectiveState(scenario.history, BRAND)).toEqual(scenario.check(BRAND).state);
      expect(effectiveState(scenario.history, BRAND).cause?.eventId).toBe('o2');
    });
  });

  describe('describe() gives a readable reason', () => {
    it('no record names the scopes it looked at', () => {
      expect(given().check('acme', 'promo').reason).toBe(
        'no consent events for this number at the scopes covering brand acme program promo',
      );
      expect(given().check('acme').reason).toBe(
        'no consent events for this number at the scopes covering brand acme',
      );
      expect(given().check().reason).toBe(
        'no consent events for this number at the scopes covering global scope',
      );
    });

    it('an opt-out names its scope and event', () => {
      expect(given(optOut({ eventId: 'o1', scope: 'global' })).check('acme').reason).toBe(
        'opted out at global (event o1)',
      );
    });

    it('an opt-in names its scope and event', () => {
      expect(
        given(
          optOut({ occurredAt: T0 }),
          optIn({ eventId: 'i1', scope: 'program:acme/promo', occurredAt: T0 }),
        ).check('acme', 'promo').reason,
      ).toBe('opted in at program:acme/promo (event i1)');
    });

    it('a suspected opt-out says it awaits review and suppresses meanwhile', () => {
      expect(given(suspected({ eventId: 's1' })).check('acme').reason).toBe(
        'suspected opt-out at brand:acme (event s1) awaiting review; suppressed until reviewed',
      );
    });

    it('an ignored stale opt-in is named with the reason it was ignored', () => {
      expect(
        given(optOut({ eventId: 'o1', occurredAt: T0 }), optIn({ eventId: 'i0', occurredAt: T0 - 1 })).check(
          'acme',
        ).reason,
      ).toBe(
        'opted out at brand:acme (event o1); opt-in i0 was ignored because it occurred before the opt-out in force',
      );
    });
  });

  describe('the given/when helper itself', () => {
    it('assigns increasing positions across given and when', () => {
      const scenario = given(optOut(), optIn()).when(optOut());
      expect(scenario.records.map((r) => r.position)).toEqual([1, 2, 3]);
      expect(scenario.records.every((r) => r.event.phone === PHONE)).toBe(true);
    });

    it('when() reads as a new event arriving', () => {
      const before = given(optOut({ occurredAt: T0 }));
      before.check(BRAND).is('opted_out');
      before
        .when(optIn({ occurredAt: T0 + 1 }))
        .check(BRAND)
        .is('opted_in');
      before.check(BRAND).is('opted_out');
    });

    it('factories derive brand and program from the scope', () => {
      expect(optOut({ scope: 'program:globex/promo' })).toMatchObject({ brand: 'globex', program: 'promo' });
      expect(optIn({ brand: 'globex' })).toMatchObject({ brand: 'globex', scope: 'brand:globex' });
      expect(optOut({ scope: 'global' })).toMatchObject({ brand: BRAND, scope: 'global' });
    });

    it('describe() and effectiveState agree with the helper', () => {
      const state = effectiveState(given(optOut({ eventId: 'o1' })).history, BRAND);
      expect(describeState(state, BRAND)).toBe('opted out at brand:acme (event o1)');
    });
  });
});
