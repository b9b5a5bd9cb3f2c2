#!/usr/bin/env node
// Lists every function in services/**/*.ts (tests excluded) longer than a line limit, longest first.
// It is how issue 12's target is checked: no function over 120 lines, at most three over 80.
// Lines are counted from the function's first token (leading comments excluded) to its closing brace.
// Usage: node scripts/function-sizes.mjs [--over N] [root]   (defaults: 80, services)
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

function parseArgs(argv) {
  const options = { over: 80, root: 'services' };
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--over') options.over = Number(argv[(i += 1)]);
    else options.root = argv[i];
  }
  if (!Number.isInteger(options.over) || options.over < 0) throw new Error('--over wants a whole number');
  return options;
}

function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    const wanted =
      entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts');
    return wanted ? [path] : [];
  });
}

function isFunction(node) {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node) ||
    ts.isArrowFunction(node) ||
    ts.isFunctionExpression(node)
  );
}

// Anonymous functions take the name they are bound to (const x = () => …, { x: () => … }),
// else they are named after the call they are passed to.
function functionName(node, file) {
  if (node.name) return node.name.getText(file);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (
    (ts.isVariableDeclaration(parent) ||
      ts.isPropertyAssignment(parent) ||
      ts.isPropertyDeclaration(parent)) &&
    parent.name
  ) {
    return parent.name.getText(file);
  }
  if (ts.isCallExpression(parent)) return `<callback of ${parent.expression.getText(file).slice(0, 40)}>`;
  return '<anonymous>';
}

function lineOf(file, position) {
  return file.getLineAndCharacterOfPosition(position).line + 1;
}

function measure(path, root) {
  const file = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const found = [];
  const visit = (node) => {
    if (isFunction(node)) {
      const start = lineOf(file, node.getStart(file));
      const lines = lineOf(file, node.getEnd()) - start + 1;
      found.push({ file: relative(root, path), line: start, name: functionName(node, file), lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

const { over, root } = parseArgs(process.argv.slice(2));
const long = sourceFiles(root)
  .flatMap((path) => measure(path, process.cwd()))
  .filter((fn) => fn.lines > over)
  .sort((a, b) => b.lines - a.lines);

for (const fn of long) console.log(`${String(fn.lines).padStart(5)}  ${fn.file}:${fn.line}  ${fn.name}`);
console.log(`${long.length} function(s) over ${over} lines in ${root}/ (tests excluded)`);
