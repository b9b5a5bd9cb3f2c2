// Transpiles bench/**/*.ts to dist/bench/**/*.js with swc (already a dev dependency): one file at a
// time, no type-checking (that is `npm run typecheck`, which includes bench/). The compiled files
// import ../services/… and so run against dist/services, the very build `ledger start` runs.
'use strict';
const { readdirSync, mkdirSync, writeFileSync, rmSync } = require('node:fs');
const { join, relative, dirname } = require('node:path');
const swc = require('@swc/core');

const root = join(__dirname, '..');
const source = __dirname;
const out = join(root, 'dist', 'bench');

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'results') yield* sources(path);
    else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield path;
  }
}

rmSync(out, { recursive: true, force: true });
let count = 0;
for (const file of sources(source)) {
  const target = join(out, relative(source, file)).replace(/\.ts$/, '.js');
  const { code } = swc.transformFileSync(file, {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'es6' },
    sourceMaps: false,
  });
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, code);
  count++;
}
process.stdout.write(`bench: compiled ${count} files to ${relative(root, out)}\n`);
