#!/usr/bin/env node
// Bundles each command-line entry point into one CommonJS file, dist/bundle/<name>.cjs, and
// writes V8's code cache for it (<name>.cjs.cache), which bin/run-bundle.cjs hands to V8.
// One file instead of ~60 ES modules spares Node's module loader; modules that a command
// imports with `await import()` stay in the file but are evaluated only when that command runs.
// koffi stays outside: it is loaded from node_modules with its native part. The thread a Wasm
// guest runs in has an entry of its own (dist/bundle/wasm-worker.cjs, beside ecli.cjs).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const missing = `${root}dist/bundle/no-such-input`;
// Bundle name → its entry module in src/cli/, and the command line that trains its code cache:
// one that evaluates what a real run evaluates (the command's modules, argument parsing, the
// error report) and stops early, needing neither root nor a package.
const ENTRY_POINTS = {
  ecli: { entry: 'ecli-entry', training: ['run', `${missing}.json`] },
  ecc: { entry: 'ecc', training: [`${missing}.bpf.c`] },
};

/** One CommonJS file of `entryPoint` and what it imports. */
function bundle(entryPoint, outfile) {
  return build({
    entryPoints: [entryPoint],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['koffi'],
    // The sources are ES modules: `import.meta.url` becomes the bundle's own URL.
    define: { 'import.meta.url': '__bundleUrl' },
    banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'warning',
  });
}

await bundle(`${root}src/wasm/worker.ts`, `${root}dist/bundle/wasm-worker.cjs`);

for (const [name, { entry, training }] of Object.entries(ENTRY_POINTS)) {
  const outfile = `${root}dist/bundle/${name}.cjs`;
  await bundle(`${root}src/cli/${entry}.ts`, outfile);
  // The training run fails by design, as a missing input does: with the tool's own message.
  const trained = spawnSync(process.execPath, [`${root}scripts/code-cache-trainer.cjs`, name, ...training], { encoding: 'utf8' });
  if (!trained.stderr.startsWith(`${name}: error: `) || !existsSync(`${outfile}.cache`)) {
    throw new Error(`bundle: the code cache training run of ${name} did not end as expected:\n${trained.stderr}`);
  }
}
