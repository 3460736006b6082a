'use strict';
// Runs one of the bundled entry points (dist/bundle/<name>.cjs, built by scripts/bundle.mjs)
// through V8's code cache written next to it at build time: compiling the bundle from source
// costs more than the rest of `ecli --version`. A cache from another Node.js version is
// rejected by V8, and the bundle is then compiled from source as usual.
const { readFileSync } = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

module.exports = function runBundle(name) {
  const filename = path.join(__dirname, '..', 'dist', 'bundle', `${name}.cjs`);
  let cachedData;
  try {
    cachedData = readFileSync(`${filename}.cache`);
  } catch {
    // no cache: compile from source
  }
  const script = new vm.Script(Module.wrap(readFileSync(filename, 'utf8')), { filename, cachedData });
  const bundle = new Module(filename, module);
  bundle.filename = filename;
  bundle.paths = Module._nodeModulePaths(path.dirname(filename));
  script.runInThisContext()(bundle.exports, Module.createRequire(filename), bundle, filename, path.dirname(filename));
};
