import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

test("a package.json that ecc did not write (an npm project's) is never replaced; refused before compiling", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecc-package-json-test-'));
  try {
    const source = join(dir, 'prog.bpf.c');
    writeFileSync(source, 'int x;\n');
    const manifest = '{"name":"my-app","version":"1.0.0","dependencies":{"ecli-ts":"^0.1.0"}}\n';
    writeFileSync(join(dir, 'package.json'), manifest);
    await assert.rejects(
      runEccPipeline({ source }),
      errorWith('USAGE', /package\.json exists and is not a package ecc wrote \(it is an npm project's manifest\); ecc does not replace it$/),
    );
    assert.equal(readFileSync(join(dir, 'package.json'), 'utf8'), manifest);
    writeFileSync(join(dir, 'package.json'), 'notes, not JSON\n');
    await assert.rejects(runEccPipeline({ source }), errorWith('USAGE', /package\.json exists and is not a package ecc wrote; ecc does not replace it$/));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
