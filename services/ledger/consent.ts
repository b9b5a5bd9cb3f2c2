import { LedgerError } from './errors.js';
import type { Evidence, Source } from './events.js';

type EvidenceKey = keyof Evidence;

/**
 * What proves consent for an opt-in, by source: any one of the listed sets, every field of it present
 * and not blank. Data, not code, so the rule is read (and documented) in one place. An opt-in is the one
 * event that lets messages flow again: without proof of how the person said yes, it is refused.
 */
export const CONSENT_EVIDENCE: Readonly<Record<Source, readonly (readonly EvidenceKey[])[]>> = {
  // A keyword reply: the reply text itself (intake always has it).
  sms_reply: [['rawText']],
  web_form: [['formUrl', 'ip']],
  call_centre: [['agentId', 'callReference']],
  email: [['rawText'], ['consentReference']],
  crm: [['consentReference'], ['rawText']],
  import: [['consentReference'], ['rawText']],
  api: [['consentReference'], ['rawText']],
  provider: [['rawText'], ['consentReference']],
};

const present = (evidence: Evidence, key: EvidenceKey): boolean => {
  const value = evidence[key];
  return typeof value === 'number' || (typeof value === 'string' && value.trim() !== '');
};

/** Throws `consent_evidence_required`, naming exactly the evidence fields to add, when none suffices. */
export function assertConsentEvidence(source: Source, evidence: Evidence): void {
  const sets = CONSENT_EVIDENCE[source];
  if (sets.some((set) => set.every((key) => present(evidence, key)))) return;
  const missing = sets.map((set) =>
    set
      .filter((key) => !present(evidence, key))
      .map((key) => `evidence.${key}`)
      .join(' and '),
  );
  throw new LedgerError(
    'consent_evidence_required',
    `an opt_in from ${source} must carry proof of consent: add ${missing.join(', or ')}`,
  );
}
