import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../../test/support/ledger-harness.js';
import { importFile } from './import.js';

/**
 * A receiver that holds the first request it sees for a while: any request sent beside it overtakes
 * it, as happens when the ledger answers one append faster than another.
 */
async function slowFirstReceiver(): Promise<{ url: string; order: string[]; close(): Promise<void> }> {
  const order: string[] = [];
  let first = true;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const record = JSON.parse(body) as { phone: string; type: string };
      const delay = first ? 300 : 0;
      first = false;
      setTimeout(() => {
        order.push(`${record.phone} ${record.type}`);
        response.writeHead(201, { 'content-type': 'application/json' }).end('{}');
      }, delay);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    order,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('ledger import keeps the order of each number', () => {
  it("sends a number's rows one after another, whatever its spelling, while other numbers go beside them", async () => {
    const receiver = await slowFirstReceiver();
    const file = join(tempDir(), 'consent.csv');
    writeFileSync(
      file,
      ['phone,type', '+12015550150,opt_in', '(201) 555-0150,opt_out', '+12015550151,opt_out'].join('\n'),
    );
    try {
      const report = await importFile(file, {
        baseUrl: receiver.url,
        concurrency: 16,
        defaults: { type: 'opt_out', source: 'import', brand: 'acme' },
      });
      expect(report.recorded).toBe(3);
      // The other number overtook the held request; the same number's opt_out waited for its opt_in.
      expect(receiver.order).toEqual([
        '+12015550151 opt_out',
        '+12015550150 opt_in',
        '(201) 555-0150 opt_out',
      ]);
    } finally {
      await receiver.close();
    }
  });
});
