import type { Config } from '../config/index.js';
import { foldHistory } from '../ledger/index.js';
import { EmbeddedEventLog } from '../log/index.js';
import { assembleLedger, type Ledger, type LedgerClock } from './ledger.js';

/** Every role in one process on the embedded log: the default, zero-infrastructure mode. */
export function openEmbeddedLedger(config: Config, clock: LedgerClock = {}): Ledger {
  const log = EmbeddedEventLog.open(config.dataDir, {
    ...(config.logMaxBytes !== undefined && { maxBytes: config.logMaxBytes }),
  });
  return assembleLedger(
    config,
    {
      log,
      history: log,
      viewGroup: 'memory',
      // The log itself answers per phone, at once and complete.
      historyOf: async (phone) => foldHistory(await log.readPhone(phone)),
      // One partition: every phone's records are in partition 0.
      partitionOf: () => 0,
      closeLog: () => log.close(),
    },
    clock,
  );
}
