import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileObject } from '../../src/compiler/compile.js';
import type { Toolchain } from '../../src/compiler/toolchain.js';
import { errorWith } from '../helpers/assertions.js';

/** A "clang" that is stopped by `signal` (as a Ctrl-C on the terminal stops every process of the job) and prints nothing. */
function stoppedClang(dir: string, signal: string): Toolchain {
  const clang = join(dir, 'clang');
  writeFileSync(clang, `#!/bin/sh\nkill -${signal} $$\n`);
  chmodSync(clang, 0o755);
  const toolchain: Toolchain = {
    clang,
    clangVersion: { text: '19.1.7', major: 19 },
    llvmStrip: '/bin/true',
    sysIncludeFlags: [],
    bpfHeaders: undefined,
    bpfHeaderFlags: [],
    clangIdentity: 'test',
  };
  return toolchain;
}

test('clang stopped by a Ctrl-C or kill is said to be stopped, not to have crashed, and leaves no crash log', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecc-stopped-test-'));
  try {
    const env = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') };
    for (const signal of ['INT', 'TERM']) {
      await assert.rejects(
        compileObject(stoppedClang(dir, signal), [], join(dir, 'x.bpf.c'), join(dir, 'x.bpf.o'), {
          source: 'x.bpf.c',
          texts: [],
          cpu: undefined,
          cpuReason: '',
          env,
        }),
        errorWith('COMPILE_FAILED', new RegExp(`^clang 19\\.1\\.7 was stopped by SIG${signal} while compiling x\\.bpf\\.c$`)),
      );
    }
    const logs = join(dir, 'cache', 'ecli-ts', 'logs');
    assert.deepEqual(existsSync(logs) ? readdirSync(logs) : [], [], 'no crash log: nothing crashed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
