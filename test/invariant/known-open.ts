/**
 * Inputs and faults that hit a known fail-open bug being fixed on its own branch. While a flag is true
 * the generators leave those inputs out, so this branch stays green; switch each flag to false when its
 * fix lands, and the suite then proves the fix (each one failed the suite on the code of 2026-12-03; the
 * minimal counterexamples are in the issue-10 report).
 *
 * To see what the suite finds today without editing this file: LEDGER_PROPERTY_INCLUDE=<flag>,<flag>
 * generates those inputs anyway, LEDGER_PROPERTY_INCLUDE=all every one of them.
 */
const include = new Set((process.env.LEDGER_PROPERTY_INCLUDE ?? '').split(','));
const leftOut = (flag: string): boolean => !include.has('all') && !include.has(flag);

export const KNOWN_OPEN = {
  /** A message id reused by another phone or another message is taken for a retry: the STOP is dropped. */
  reusedMessageIdDropsStop: leftOut('reusedMessageIdDropsStop'),
  /** NUL bytes or lone surrogates in a reply's text stop the PostgreSQL view. */
  nulOrLoneSurrogateStopsPostgres: leftOut('nulOrLoneSurrogateStopsPostgres'),
  /** A flushed Redis store or truncated PostgreSQL tables answer allowed while the view reports healthy. */
  wipedStoreAnswersAllowed: leftOut('wipedStoreAnswersAllowed'),
  /** A webhook change the receiver refused is dead-lettered and the view stays healthy. */
  deadLetterLeavesWebhookHealthy: leftOut('deadLetterLeavesWebhookHealthy'),
  /** On Kafka, a gate that could not read the log for longer than its bound answers from its stale view. */
  staleGateAnswers: leftOut('staleGateAnswers'),
} as const;
