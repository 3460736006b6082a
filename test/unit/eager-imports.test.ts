/**
 * What each command line evaluates before it knows which command runs, checked on the real
 * imports: static imports are evaluated at once (in the bundle too: esbuild keeps every
 * `await import()` a lazily evaluated module), so start-up pays for everything they reach.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { repoRoot } from '../helpers/env.js';
import { eagerImportsOf, resolveImport, sourceFiles } from '../helpers/source-imports.js';

const files = new Map(sourceFiles(path.join(repoRoot, 'src')).map((f) => [f.path, f.text]));

/** Every module evaluated with `entry` (relative to src/): its eager closure, npm packages included. */
function eagerClosure(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = files.get(file);
    if (text === undefined) return; // an npm package or node: builtin
    for (const specifier of eagerImportsOf(text)) visit(resolveImport(file, specifier));
  };
  visit(entry);
  return [...seen].filter((f) => !f.startsWith('node:')).sort();
}

/** What no command line may evaluate before its command runs: the work of the commands. */
const COMMAND_WORK = [
  'runner/',
  'loader/',
  'metrics/',
  'compiler/',
  'inputs/',
  'model/',
  'package/',
  'btf/',
  'elf/',
  'cli/commands/',
  'signing/',
  'koffi',
  '@noble/ciphers',
  'read',
  'prom-client',
  'tar',
  'cli-table3',
  'ajv',
];

test('ecli --version evaluates nothing but the version', () => {
  assert.deepEqual(eagerClosure('cli/ecli-entry.ts'), ['cli/ecli-entry.ts', 'version.ts']);
});

test("ecli's command line (--help, argument parsing) evaluates no command's modules: run, inspect, pack, push, pull, login and --metrics load when used", () => {
  const closure = eagerClosure('cli/ecli.ts');
  assert.ok(closure.includes('commander'), closure.join(' '));
  assert.deepEqual(
    closure.filter((f) => COMMAND_WORK.some((w) => f.startsWith(w))),
    [],
  );
});

test("ecc's command line evaluates none of the compiler", () => {
  const closure = eagerClosure('cli/ecc.ts');
  assert.ok(closure.includes('commander'), closure.join(' '));
  assert.deepEqual(
    closure.filter((f) => COMMAND_WORK.some((w) => f.startsWith(w))),
    [],
  );
});

test('the import reader tells eager imports from type-only and dynamic ones', () => {
  const text = [
    "import { a } from './a.js';",
    "import type { B } from './b.js';",
    "import { type C, type D } from './c.js';",
    "import { type E, f } from './e.js';",
    "export { g } from './g.js';",
    "export type { H } from './h.js';",
    "import './side-effect.js';",
    "const later = await import('./later.js');",
    "// import { commented } from './commented.js';",
    'import {\n  multi,\n  line,\n} from "./multi.js";',
  ].join('\n');
  assert.deepEqual(eagerImportsOf(text), ['./a.js', './e.js', './g.js', './side-effect.js', './multi.js']);
});
