#!/usr/bin/env node
// `npm run build` (and `make build`): the generated validators, then dist/ from scratch: tsc's
// output (tests, bench, the unbundled sources) and the bundles with their code caches. dist/ is
// emptied first so that nothing built from a source since removed or renamed stays behind (a
// stale test file would still run, a stale bundle or cache would still be loaded).
// `npm run build:dev` (`--incremental`) is the edit-test loop: dist/ is kept and `tsc -b` compiles
// only what changed since the last build; a test of a source removed since then stays behind.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const root = new URL('..', import.meta.url).pathname;
const node = (script, ...args) => execFileSync(process.execPath, [script, ...args], { cwd: root, stdio: 'inherit' });

const incremental = process.argv.includes('--incremental');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

node(`${root}scripts/gen-validators.mjs`);
if (incremental) node(tsc, '-b', 'tsconfig.json');
else {
  rmSync(`${root}dist`, { recursive: true, force: true });
  node(tsc, '-p', 'tsconfig.json');
}
node(`${root}scripts/bundle.mjs`);
