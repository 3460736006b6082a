/**
 * `ecli pack` never destroys a file, through the real `./ecli`: the output is refused when it is
 * an input (also through a symlink or a hard link), a device or a FIFO; `-o dir/` and `-o dir`
 * mean into the folder; a missing folder, a file used as a folder and broken `--btf` symlinks
 * are typed errors with their exit status, never `internal error`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ecliPath, runTool, type Completed } from '../helpers/ecli-process.js';
import { syntheticPackageText } from '../helpers/synthetic-package.js';

const OUTPUT_HINT = 'hint: name a regular file, or an existing folder, with -o';
const LAYOUT_HINT =
  'hint: BTF files must be laid out like btfhub-archive: <os-release ID>/<VERSION_ID>/<uname -m>/<uname -r>.btf, ' +
  'e.g. --btf archive/ubuntu/22.04/x86_64/5.15.0-91-generic.btf, or --btf <dir> holding such a tree';

const dir = mkdtempSync(join(tmpdir(), 'ecli-pack-output-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const PACKAGE = syntheticPackageText('demo_bpf');

/** A fresh folder holding package.json. */
function workspace(name: string): { root: string; pkg: string } {
  const root = join(dir, name);
  mkdirSync(root);
  const pkg = join(root, 'package.json');
  writeFileSync(pkg, PACKAGE);
  return { root, pkg };
}

function pack(...args: string[]): Completed {
  return runTool(ecliPath, ['pack', ...args]);
}

function assertFails(result: Completed, status: number, stderrLines: string[]): void {
  assert.equal(result.stderr, stderrLines.map((line) => `${line}\n`).join(''));
  assert.equal(result.status, status);
  assert.equal(result.stdout, '');
}

test('-o naming the input package is refused, also through a symlink or a hard link: exit 2, the input unchanged', () => {
  const { root, pkg } = workspace('same');
  const hint = 'hint: choose another output with -o';
  assertFails(pack(pkg, '-o', pkg), 2, [`ecli: error: cannot write ${pkg}: it is the input ${pkg}`, hint]);
  symlinkSync(pkg, join(root, 'link.tar.gz'));
  assertFails(pack(pkg, '-o', join(root, 'link.tar.gz')), 2, [`ecli: error: cannot write ${join(root, 'link.tar.gz')}: it is the input ${pkg}`, hint]);
  linkSync(pkg, join(root, 'hard.tar.gz'));
  const hard = join(root, 'hard.tar.gz');
  assertFails(pack(pkg, '-o', hard), 2, [`ecli: error: cannot write ${hard}: it is the input ${pkg}`, hint]);
  assert.equal(readFileSync(pkg, 'utf8'), PACKAGE);
});

test('-o dir/ and -o existing-dir write <name>.tar.gz into the folder; a missing dir/ is refused: exit 2', () => {
  const { root, pkg } = workspace('into');
  mkdirSync(join(root, 'out'));
  const expected = join(root, 'out', 'demo.tar.gz');
  for (const spec of [join(root, 'out') + '/', join(root, 'out')]) {
    const result = pack(pkg, '-o', spec);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^wrote ${expected}\nsha256 [0-9a-f]{64}\n$`));
  }
  assert.deepEqual(readdirSync(join(root, 'out')), ['demo.tar.gz'], 'no temporary file is left');
  const missing = join(root, 'nothere') + '/';
  assertFails(pack(pkg, '-o', missing), 2, [
    `ecli: error: cannot write into ${missing}: no such folder`,
    'hint: create the folder first, or name an existing one with -o',
  ]);
});

test('a missing parent folder, and a file used as a folder: exit 2', () => {
  const { root, pkg } = workspace('parents');
  assertFails(pack(pkg, '-o', join(root, 'missing', 'x.tar.gz')), 2, [
    `ecli: error: cannot write into ${join(root, 'missing')}: no such folder`,
    'hint: create the folder first, or name an existing one with -o',
  ]);
  assertFails(pack(pkg, '-o', join(root, 'package.json', 'x.tar.gz')), 2, [
    `ecli: error: cannot write into ${join(root, 'package.json')}: it is a file, not a folder`,
    OUTPUT_HINT,
  ]);
  assertFails(pack(pkg, '-o', join(root, 'package.json', 'sub', 'x.tar.gz')), 2, [
    `ecli: error: cannot write into ${join(root, 'package.json', 'sub')}: ${join(root, 'package.json')} is a file, not a folder`,
    OUTPUT_HINT,
  ]);
  assertFails(pack(pkg, '-o', `${pkg}/`), 2, [`ecli: error: cannot write into ${pkg}/: it is a file, not a folder`, OUTPUT_HINT]);
});

test('a device, a FIFO behind /dev/stdout, and a dangling or looping -o symlink are refused: exit 2', () => {
  const { root, pkg } = workspace('special');
  assertFails(pack(pkg, '-o', '/dev/null'), 2, ['ecli: error: cannot write /dev/null: it is a character device, not a regular file', OUTPUT_HINT]);
  // node's child-process pipes are socket pairs.
  assertFails(pack(pkg, '-o', '/dev/stdout'), 2, ['ecli: error: cannot write /dev/stdout: it is a socket, not a regular file', OUTPUT_HINT]);
  const fifo = join(root, 'fifo');
  assert.equal(runTool('mkfifo', [fifo]).status, 0);
  assertFails(pack(pkg, '-o', fifo), 2, [`ecli: error: cannot write ${fifo}: it is a FIFO, not a regular file`, OUTPUT_HINT]);
  const dangling = join(root, 'dangling.tar.gz');
  symlinkSync(join(root, 'gone'), dangling);
  assertFails(pack(pkg, '-o', dangling), 2, [`ecli: error: cannot write ${dangling}: it is a dangling symlink (to ${join(root, 'gone')})`, OUTPUT_HINT]);
  const loop = join(root, 'loop.tar.gz');
  symlinkSync(loop, loop);
  assertFails(pack(pkg, '-o', loop), 2, [`ecli: error: cannot write ${loop}: it is a symlink loop`, OUTPUT_HINT]);
});

test('-o a symlink to an existing tarball replaces the tarball and keeps the link', () => {
  const { root, pkg } = workspace('through');
  const real = join(root, 'real.tar.gz');
  writeFileSync(real, 'old');
  symlinkSync(real, join(root, 'link.tar.gz'));
  const result = pack(pkg, '-o', join(root, 'link.tar.gz'));
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, new RegExp(`^wrote ${real}\n`));
  assert.notEqual(readFileSync(join(root, 'link.tar.gz'), 'utf8'), 'old');
  assert.deepEqual(readdirSync(root).sort(), ['link.tar.gz', 'package.json', 'real.tar.gz']);
});

test('dangling and looping --btf symlinks, given or inside a --btf folder: exit 3', () => {
  const { root, pkg } = workspace('btf');
  const dangling = join(root, 'dangling.btf');
  symlinkSync(join(root, 'gone.btf'), dangling);
  assertFails(pack(pkg, '--btf', dangling), 3, [
    `ecli: error: cannot read --btf ${dangling}: it is a dangling symlink (to ${join(root, 'gone.btf')})`,
    LAYOUT_HINT,
  ]);
  const loop = join(root, 'loop.btf');
  symlinkSync(loop, loop);
  assertFails(pack(pkg, '--btf', loop), 3, [`ecli: error: cannot read --btf ${loop}: it is a symlink loop`, LAYOUT_HINT]);
  const archive = join(root, 'archive', 'ubuntu', '22.04', 'x86_64');
  mkdirSync(archive, { recursive: true });
  const inside = join(archive, '5.15.0-91-generic.btf');
  symlinkSync(join(root, 'gone.btf'), inside);
  assertFails(pack(pkg, '--btf', join(root, 'archive')), 3, [
    `ecli: error: cannot read --btf ${inside}: it is a dangling symlink (to ${join(root, 'gone.btf')})`,
    LAYOUT_HINT,
  ]);
  assert.deepEqual(
    readdirSync(root).filter((name) => name.endsWith('.tar.gz')),
    [],
    'nothing written',
  );
});

test('a package name that is not a plain file name never picks the folder: <folder>/package.tar.gz', () => {
  const root = join(dir, 'escape');
  mkdirSync(join(root, 'into'), { recursive: true });
  const pkg = join(root, 'into', 'evil.json');
  writeFileSync(pkg, syntheticPackageText('../escaped'));
  const result = pack(pkg, '-o', `${join(root, 'into')}/`);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, new RegExp(`^wrote ${join(root, 'into', 'package.tar.gz')}\n`));
  assert.deepEqual(readdirSync(root), ['into'], 'nothing written outside the folder');
});
