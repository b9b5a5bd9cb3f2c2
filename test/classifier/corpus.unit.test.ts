import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyReply, type Intent } from '../../services/classifier/index.js';

type Label = 'opt_out' | 'opt_in' | 'help' | 'none';
interface Reply {
  readonly text: string;
  readonly label: Label;
  readonly language: string;
  readonly kind: string;
}

const read = (file: string): readonly Reply[] =>
  readFileSync(join(process.cwd(), 'test/fixtures', file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Reply);

/** The corpus the lexicon was tuned against. */
const corpus = read('replies.jsonl');
/**
 * A second tuning set, written for the generalisation work: texting shorthand, slips, third-party and
 * wrong-number replies, opt-in and help beyond keywords, and traps where the keyword means something
 * else. Tuned against too, so it guards what the tuning gained; it is no honest figure either.
 */
const tune = read('replies-tune.jsonl');
/**
 * Replies written apart from the classifier and never tuned against: the honest figure. Reported, not
 * held to the thresholds yet (issue 4 is open); tune on a fresh set, never on this one.
 */
const tunedTexts = new Set(corpus.map((r) => r.text));
/** Only what the tuning never saw counts (bare keywords like "STOP" naturally appear in both). */
const heldOut = read('replies-heldout.jsonl').filter((r) => !tunedTexts.has(r.text));
/**
 * A second blind set, written by someone who never saw the classifier or the other corpora, and scored
 * for the first time after the tuning on replies-tune.jsonl was finished. Its writer labelled genuinely
 * ambiguous replies `review`; they count as the opt-out they may be (catching one is the safe answer).
 * Reported, not tuned against: never change the lexicon to fix a miss seen only here.
 */
const seen = new Set([...corpus, ...tune].map((r) => r.text.trim().toLowerCase()));
const heldOut2 = read('replies-heldout2.jsonl')
  .filter((r) => !seen.has(r.text.trim().toLowerCase()))
  .map((r) => ((r.label as string) === 'review' ? { ...r, label: 'opt_out' as const } : r));

/** Twilio's documented rule, for comparison: only an exact single word counts (case-insensitive). */
function twilioRule(text: string): Intent {
  const word = text.trim().toUpperCase();
  if (['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT'].includes(word))
    return 'opt_out';
  if (['START', 'YES', 'UNSTOP'].includes(word)) return 'opt_in';
  if (['HELP', 'INFO'].includes(word)) return 'help';
  return 'none';
}

interface Score {
  readonly recall: number;
  readonly falseSuppression: number;
  readonly accuracy: number;
  readonly missed: readonly Reply[];
  readonly suppressed: readonly (Reply & { readonly got: Intent })[];
  readonly wrong: readonly (Reply & { readonly got: Intent })[];
}

/**
 * Recall: opt-outs caught (review counts: it suppresses at once). False suppression: replies that are
 * not opt-outs but were suppressed (opt_out or review). Accuracy: the label itself, with review counted
 * as the opt_out it stands in for.
 */
function score(classify: (text: string) => Intent, replies: readonly Reply[] = corpus): Score {
  const results = replies.map((reply) => ({ ...reply, got: classify(reply.text) }));
  const suppresses = (intent: Intent): boolean => intent === 'opt_out' || intent === 'review';
  const optOuts = results.filter((r) => r.label === 'opt_out');
  const others = results.filter((r) => r.label !== 'opt_out');
  const missed = optOuts.filter((r) => !suppresses(r.got));
  const suppressed = others.filter((r) => suppresses(r.got));
  const wrong = results.filter((r) => (r.got === 'review' ? 'opt_out' : r.got) !== r.label);
  return {
    recall: 1 - missed.length / optOuts.length,
    falseSuppression: suppressed.length / others.length,
    accuracy: 1 - wrong.length / results.length,
    missed,
    suppressed,
    wrong,
  };
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

describe(`the reply classifier on the labelled corpus (${corpus.length} replies, tuned against)`, () => {
  const ours = score((text) => classifyReply(text).intent);
  const twilio = score(twilioRule);
  const oursHeldOut = score((text) => classifyReply(text).intent, heldOut);
  const twilioHeldOut = score(twilioRule, heldOut);
  const oursTune = score((text) => classifyReply(text).intent, tune);
  const oursHeldOut2 = score((text) => classifyReply(text).intent, heldOut2);
  const twilioHeldOut2 = score(twilioRule, heldOut2);
  const twilioTune = score(twilioRule, tune);

  afterAll(() => {
    // The figures the issue asks `make test` to print, beside Twilio's exact-word rule on the same corpus.
    process.stdout.write(
      [
        '',
        `classifier corpus: ${corpus.length} replies`,
        `                      ours     Twilio exact-word rule`,
        `opt-out recall        ${pct(ours.recall).padEnd(9)}${pct(twilio.recall)}`,
        `false suppression     ${pct(ours.falseSuppression).padEnd(9)}${pct(twilio.falseSuppression)}`,
        `label accuracy        ${pct(ours.accuracy).padEnd(9)}${pct(twilio.accuracy)}`,
        ...ours.wrong.map((r) => `  tuned corpus, wrong: ${JSON.stringify(r.text)} (${r.label}) → ${r.got}`),
        `tuning set (replies-tune.jsonl, tuned against): ${tune.length}`,
        `opt-out recall        ${pct(oursTune.recall).padEnd(9)}${pct(twilioTune.recall)}`,
        `false suppression     ${pct(oursTune.falseSuppression).padEnd(9)}${pct(twilioTune.falseSuppression)}`,
        `label accuracy        ${pct(oursTune.accuracy).padEnd(9)}${pct(twilioTune.accuracy)}`,
        ...oursTune.wrong.map(
          (r) => `  tuning set, wrong: ${JSON.stringify(r.text)} (${r.label}) → ${r.got}`,
        ),
        `held-out replies (never tuned against): ${heldOut.length}`,
        `opt-out recall        ${pct(oursHeldOut.recall).padEnd(9)}${pct(twilioHeldOut.recall)}`,
        `false suppression     ${pct(oursHeldOut.falseSuppression).padEnd(9)}${pct(twilioHeldOut.falseSuppression)}`,
        `label accuracy        ${pct(oursHeldOut.accuracy).padEnd(9)}${pct(twilioHeldOut.accuracy)}`,
        `second held-out set (blind writer, never tuned against): ${heldOut2.length}`,
        `opt-out recall        ${pct(oursHeldOut2.recall).padEnd(9)}${pct(twilioHeldOut2.recall)}`,
        `false suppression     ${pct(oursHeldOut2.falseSuppression).padEnd(9)}${pct(twilioHeldOut2.falseSuppression)}`,
        `label accuracy        ${pct(oursHeldOut2.accuracy).padEnd(9)}${pct(twilioHeldOut2.accuracy)}`,
        '',
      ].join('\n'),
    );
  });

  it('has every class and language the issue names, and the false-positive traps', () => {
    const labels = new Set(corpus.map((r) => r.label));
    const languages = new Set(corpus.map((r) => r.language));
    expect([...labels].sort()).toEqual(['help', 'none', 'opt_in', 'opt_out']);
    expect([...languages].sort()).toEqual(['en', 'es', 'fr', 'pt']);
    expect(corpus.length).toBeGreaterThanOrEqual(300);
    expect(corpus.filter((r) => r.kind === 'trap').length).toBeGreaterThanOrEqual(20);
  });

  it('has a held-out set of new replies with every class and language', () => {
    expect(heldOut.length).toBeGreaterThanOrEqual(100);
    expect(new Set(heldOut.map((r) => r.label)).size).toBe(4);
    expect([...new Set(heldOut.map((r) => r.language))].sort()).toEqual(['en', 'es', 'fr', 'pt']);
  });

  it('has a tuning set of new replies with every class and language, and the traps', () => {
    expect(tune.length).toBeGreaterThanOrEqual(350);
    expect([...new Set(tune.map((r) => r.label))].sort()).toEqual(['help', 'none', 'opt_in', 'opt_out']);
    expect([...new Set(tune.map((r) => r.language))].sort()).toEqual(['en', 'es', 'fr', 'pt']);
    expect(tune.filter((r) => r.kind === 'trap').length).toBeGreaterThanOrEqual(50);
    const known = new Set(corpus.map((r) => r.text.trim().toLowerCase()));
    expect(tune.filter((r) => known.has(r.text.trim().toLowerCase()))).toEqual([]);
  });

  it("meets the issue's bars on the tuning set too", () => {
    expect(oursTune.recall).toBeGreaterThanOrEqual(0.99);
    expect(oursTune.falseSuppression).toBeLessThanOrEqual(0.02);
    expect(oursTune.accuracy).toBeGreaterThanOrEqual(0.95);
  });

  it('catches at least 99% of opt-outs (review counts as caught)', () => {
    expect(ours.recall).toBeGreaterThanOrEqual(0.99);
  });

  it('suppresses at most 2% of replies that are not opt-outs', () => {
    expect(ours.falseSuppression).toBeLessThanOrEqual(0.02);
  });

  it('gives the right label to at least 95% of replies', () => {
    expect(ours.accuracy).toBeGreaterThanOrEqual(0.95);
  });
});
