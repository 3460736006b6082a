'use strict';
// node scripts/code-cache-trainer.cjs <name> [args...]: runs dist/bundle/<name>.cjs with those
// arguments, as bin/<name>.cjs does, and at exit writes V8's code cache of the bundle beside it.
// Written after a run, the cache holds every function that run compiled; one written before
// would hold little more than the top level, since V8 compiles each function when first called.
const { writeFileSync } = require('node:fs');
const { compileBundle } = require('../bin/run-bundle.cjs');

const [name] = process.argv.splice(2, 1);
const bundle = compileBundle(name);
process.on('exit', () => writeFileSync(`${bundle.filename}.cache`, bundle.script.createCachedData()));
bundle.run();
