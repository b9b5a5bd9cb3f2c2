import { writeFileSync } from 'node:fs';
import type { FigureOutput } from './results.js';

/**
 * One benchmark as its own process: `node dist/bench/figure.js <name> <result file>`. It runs
 * figures/<name>.js and writes what it measured to the result file as JSON.
 */
const [name, resultFile] = process.argv.slice(2);
if (name === undefined || resultFile === undefined || !/^[a-z-]+$/.test(name)) {
  process.stderr.write('usage: figure.js <name> <result file>\n');
  process.exit(2);
}
const figure = (await import(`./figures/${name}.js`)) as { run: () => Promise<FigureOutput> };
const output = await figure.run();
writeFileSync(resultFile, JSON.stringify(output));
// Clients (Redis, pg, Kafka) may hold the event loop open; everything was closed or is disposable.
process.exit(0);
