import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookView } from './webhook-view.js';
import { freshDir } from '../../test/support/event-log-contract.js';
import { describeViewContract } from '../../test/support/view-contract.js';

describeViewContract('webhook', async () => {
  // A CRM on 127.0.0.1 that accepts every change.
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const dir = freshDir('ledger-webhook-contract-');
  const view = new WebhookView({
    name: 'contract',
    url: `http://127.0.0.1:${port}/hooks/suppressions`,
    dataDir: dir,
    initialBackoffMs: 1,
    maxBackoffMs: 10,
  });
  await view.open();
  return {
    projection: view,
    // A keyless unreadable record is a dead letter: every check is unknown until replayed.
    keylessUnreadable: false,
    rows: async () => {
      const rows = [];
      for await (const row of view.rows()) rows.push(row);
      return rows;
    },
    check: (phone, brand, program) => view.check(phone, brand, program),
    close: async () => {
      await view.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
