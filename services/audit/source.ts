import { LedgerError, type E164 } from '../ledger/index.js';
import type { EventLog, LogPoint, LogRecord, PhoneHistorySource } from '../log/index.js';

/** How long an audit waits for the per-phone projection to reach the log's head. */
const AUDIT_WAIT_MS = 5_000;

/**
 * Where the log cannot be read per phone (Kafka), a view that keeps every event per phone (PostgreSQL)
 * is the audit's source: read once the view has applied everything the log held when asked.
 */
export function projectionHistory(
  log: Pick<EventLog, 'head'>,
  view: { readonly name: string; readPhone(phone: E164): Promise<readonly LogRecord[]> },
  runner: () => { waitFor(points: readonly LogPoint[], ms: number): Promise<boolean> },
): PhoneHistorySource {
  return {
    readPhone: async (phone) => {
      const head = await log.head();
      const points = head.map((position, partition) => ({ partition, position }));
      if (!(await runner().waitFor(points, AUDIT_WAIT_MS))) {
        throw new LedgerError(
          'unavailable',
          `the per-phone projection (view ${view.name}) is behind the log; retry shortly`,
        );
      }
      return view.readPhone(phone);
    },
  };
}
