/**
 * `ecli pack` on a full disk (a small tmpfs mounted for the test): the write fails with a
 * typed error, and the tarball that was there before is left exactly as it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ecliPath, runTool } from '../helpers/ecli-process.js';
import { haveRoot } from '../helpers/env.js';
import { haveCommands } from '../helpers/examples.js';
import { syntheticPackageText } from '../helpers/synthetic-package.js';

test('a full disk: exit 9, the existing tarball unchanged, no temporary file left', (t) => {
  if (!haveRoot(t) || !haveCommands(t, ['mount', 'umount'])) return;
  const dir = mkdtempSync(join(tmpdir(), 'ecli-pack-full-'));
  const disk = join(dir, 'disk');
  t.after(() => {
    runTool('umount', [disk]);
    rmSync(dir, { recursive: true, force: true });
  });
  const pkg = join(dir, 'package.json');
  writeFileSync(pkg, syntheticPackageText('demo_bpf'));
  runTool('mkdir', [disk]);
  const mounted = runTool('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk]);
  assert.equal(mounted.status, 0, mounted.stderr);
  const output = join(disk, 'demo.tar.gz');
  writeFileSync(output, 'the previous tarball');
  // Fill what is left of the 64 KiB.
  runTool('dd', ['if=/dev/zero', `of=${join(disk, 'filler')}`, 'bs=4k']);

  const result = runTool(ecliPath, ['pack', pkg, '-o', output]);
  assert.equal(result.stderr, `ecli: error: cannot write ${output}: no space left on device; the existing file is unchanged\n`);
  assert.equal(result.status, 9);
  assert.equal(readFileSync(output, 'utf8'), 'the previous tarball');
  assert.deepEqual(readdirSync(disk).sort(), ['demo.tar.gz', 'filler']);
});
