import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runEccPipeline } from '../../src/compiler/ecc.js';
import { errorWith } from '../helpers/assertions.js';

test('a header given before its source is a usage error that says the order, before any file is read', async () => {
  await assert.rejects(
    runEccPipeline({ source: 'prog.h', header: 'prog.bpf.c', outputDir: '.' }),
    errorWith('USAGE', /^prog\.h and prog\.bpf\.c are the wrong way round: the C source comes first, then the header$/),
  );
  await assert.rejects(runEccPipeline({ source: 'prog.h', header: 'prog.bpf.c', outputDir: '.' }), (error: unknown) => {
    assert.equal((error as { hint?: string }).hint, 'run: ecc prog.bpf.c prog.h');
    return true;
  });
});
