import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KERNEL_BTF_PATH } from '../../src/btf/kernel-btf-path.js';
import { findExecutable } from '../../src/compiler/process.js';
import { ensureVmlinuxHeader } from '../../src/compiler/vmlinux.js';
import { skipUnlessCi } from '../helpers/env.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'toolchain-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('vmlinux.h is generated again when bpftool changes, not taken from the cache of another bpftool', async (t) => {
  const bpftool = findExecutable(['bpftool']);
  if (bpftool === undefined || !existsSync(KERNEL_BTF_PATH)) return skipUnlessCi(t, `needs bpftool and ${KERNEL_BTF_PATH}`);
  const dir = tempDir(t);
  const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, 'cache') };
  const first = await ensureVmlinuxHeader({ env });

  // Another bpftool binary (here a copy: a package upgrade changes the file the same way).
  mkdirSync(path.join(dir, 'bin'));
  copyFileSync(bpftool, path.join(dir, 'bin/bpftool'));
  const savedPath = process.env.PATH;
  process.env.PATH = `${path.join(dir, 'bin')}:${savedPath ?? ''}`;
  t.after(() => (process.env.PATH = savedPath));
  const second = await ensureVmlinuxHeader({ env });

  assert.notEqual(second.dir, first.dir);
  assert.match(readFileSync(second.path, 'utf8'), /#ifndef __VMLINUX_H__/);
});
