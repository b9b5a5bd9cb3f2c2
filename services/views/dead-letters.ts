import { LedgerError } from '../ledger/index.js';
import { WebhookView } from '../projector/index.js';
import type { SystemEntry } from './systems.js';

/**
 * The webhook view `name` run by this process, whose dead letters (changes its receiver never accepted)
 * an operator lists and replays once the receiver is fixed.
 */
export function deadLetterView(systems: readonly SystemEntry[], name: string): WebhookView {
  const entry = systems.find((s) => s.view.name === name);
  if (entry === undefined) {
    const names = systems.map((s) => s.view.name);
    throw new LedgerError(
      'not_found',
      `no view named ${name} in this process (${names.length === 0 ? 'it runs no system views' : `views: ${names.join(', ')}`})`,
    );
  }
  if (!(entry.view instanceof WebhookView)) {
    throw new LedgerError(
      'invalid_request',
      `view ${name} is a ${entry.view.kind} view: only webhook views keep dead letters (the others retry a write until it succeeds)`,
    );
  }
  return entry.view;
}
