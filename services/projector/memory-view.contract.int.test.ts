import { scopeRows } from './fold-batch.js';
import { MemoryView } from './memory-view.js';
import { describeViewContract } from '../../test/support/view-contract.js';

describeViewContract('memory', () => {
  const view = new MemoryView('contract');
  return Promise.resolve({
    projection: view,
    rows: () =>
      Promise.resolve(
        [...view.phones()].flatMap(([phone, history]) => [...scopeRows(phone, history).values()]),
      ),
    check: (phone, brand, program) => {
      const unreadable = view.quarantined(phone);
      return Promise.resolve(
        unreadable === undefined
          ? view.check(phone, brand, program)
          : { status: 'unknown' as const, allowed: false },
      );
    },
    close: () => Promise.resolve(),
  });
});
