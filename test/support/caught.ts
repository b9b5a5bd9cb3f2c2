import { LedgerError } from '../../services/ledger/index.js';

/** The LedgerError `fn` throws; fails the test if it throws nothing or something else. */
export function caught(fn: () => unknown): LedgerError {
  try {
    fn();
  } catch (error) {
    if (error instanceof LedgerError) return error;
    throw error;
  }
  throw new Error('expected a LedgerError, nothing was thrown');
}
