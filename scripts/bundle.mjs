#!/usr/bin/env node
// Bundles each command-line entry point into one CommonJS file, dist/bundle/<name>.cjs, and
// writes V8's code cache for it (<name>.cjs.cache), which bin/run-bundle.cjs hands to V8.
// One file instead of ~60 ES modules spares Node's module loader; modules that a command
// imports with `await import()` stay in the file but are evaluated only when that command runs.
// koffi stays outside: it is loaded from node_modules with its native part.
import { readFileSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import vm from 'node:vm';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
// Bundle name → its entry module in src/cli/.
const ENTRY_POINTS = { ecli: 'ecli-entry', ecc: 'ecc' };

for (const [name, entry] of Object.entries(ENTRY_POINTS)) {
  const outfile = `${root}dist/bundle/${name}.cjs`;
  await build({
    entryPoints: [`${root}src/cli/${entry}.ts`],
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
  // The same wrapper as bin/run-bundle.cjs compiles, or V8 rejects the cache.
  const script = new vm.Script(Module.wrap(readFileSync(outfile, 'utf8')), { filename: outfile });
  writeFileSync(`${outfile}.cache`, script.createCachedData());
}
