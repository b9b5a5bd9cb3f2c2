import type { Config } from '../config/index.js';
import { EmbeddedEventLog } from '../log/index.js';
import { embeddedReads } from './intake-reads.js';
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
      // The log itself answers per phone, at once and complete: audit and intake read it.
      history: log,
      viewGroup: 'memory',
      reads: (view) => embeddedReads(log, view),
      // One partition: every phone's records are in partition 0.
      partitionOf: () => 0,
      closeLog: () => log.close(),
    },
    clock,
  );
}
