import { EmbeddedEventLog } from '../services/log/index.js';
import { nowMs } from './measure.js';
import { consentEventAt, type SyntheticOptions } from './synthetic.js';

const BATCH = 5000;

/**
 * Appends events `from`..`to`-1 (consentEventAt) to an embedded log, in big batches (one transaction
 * each): the fast way to give a ledger a history before it starts. Resolves with the append rate.
 */
export async function appendSynthetic(
  log: EmbeddedEventLog,
  from: number,
  to: number,
  options: SyntheticOptions,
): Promise<{ events: number; seconds: number; perSecond: number }> {
  const started = nowMs();
  for (let at = from; at < to; at += BATCH) {
    const end = Math.min(to, at + BATCH);
    const events = Array.from({ length: end - at }, (_, k) => consentEventAt(at + k, options));
    await log.append(events);
  }
  const seconds = (nowMs() - started) / 1000;
  return {
    events: to - from,
    seconds: Math.round(seconds * 100) / 100,
    perSecond: Math.round((to - from) / seconds),
  };
}

/** A data directory holding `count` opt-outs at brand acme for phoneAt(0..count-1). */
export async function fillDataDir(dataDir: string, count: number): Promise<void> {
  const log = EmbeddedEventLog.open(dataDir);
  try {
    await appendSynthetic(log, 0, count, { now: Date.now(), phones: count });
  } finally {
    await log.close();
  }
}
