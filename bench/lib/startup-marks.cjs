'use strict';
// Preloaded (`node -r`) into ecli by the start-up breakdown: at exit, prints Node's own bootstrap
// time and ecli's `ecli:*` performance marks (ms since the process started) as one stderr line.
// CommonJS, so that preloading it does not start Node's ES module loader.
const { writeSync } = require('node:fs');

process.on('exit', () => {
  const marks = {};
  for (const mark of performance.getEntriesByType('mark')) if (mark.name.startsWith('ecli:')) marks[mark.name] = mark.startTime;
  const line = JSON.stringify({ bootstrapMs: performance.nodeTiming.bootstrapComplete, marks });
  writeSync(2, `ecli-bench-marks ${line}\n`);
});
