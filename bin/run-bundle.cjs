'use strict';
// Runs one of the bundled entry points (dist/bundle/<name>.cjs, built by scripts/bundle.mjs)
// through V8's code cache written next to it at build time: compiling the bundle from source
// costs more than the rest of `ecli --version`. A cache from another Node.js version is
// rejected by V8, and the bundle is then compiled from source as usual.
const { readFileSync } = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

const bundlePath = (name) => path.join(__dirname, '..', 'dist', 'bundle', `${name}.cjs`);

/** The bundle compiled (with `cachedData` when given), and a function that runs it as the main module. */
function compileBundle(name, cachedData) {
  const filename = bundlePath(name);
  const script = new vm.Script(Module.wrap(readFileSync(filename, 'utf8')), { filename, cachedData });
  const run = () => {
    const bundle = new Module(filename, module);
    bundle.filename = filename;
    bundle.paths = Module._nodeModulePaths(path.dirname(filename));
    script.runInThisContext()(bundle.exports, Module.createRequire(filename), bundle, filename, path.dirname(filename));
  };
  return { filename, script, run };
}

function runBundle(name) {
  let cachedData;
  try {
    cachedData = readFileSync(`${bundlePath(name)}.cache`);
  } catch {
    // no cache: compile from source
  }
  compileBundle(name, cachedData).run();
}

module.exports = runBundle;
module.exports.compileBundle = compileBundle;
