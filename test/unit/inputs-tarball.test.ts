import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { EcliError } from '../../src/errors.js';
import { extractTarball, locatePackageTree, type TarLimits } from '../../src/inputs/tarball.js';
import { buildTar, type TarEntrySpec } from '../helpers/tar-build.js';

const PACKAGE = '{"meta":{}}';

// A private temporary root, so that counting leftover directories is not disturbed by other tests.
const privateTmp = mkdtempSync(join(tmpdir(), 'ecli-tarball-test-'));
process.env.TMPDIR = privateTmp;
after(() => rmSync(privateTmp, { recursive: true, force: true }));

function ecliTempDirs(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith('ecli-package-'));
}

/** Runs `extract`, expecting refusal, and checks no temporary directory or outside file is left. */
async function assertRefused(entries: TarEntrySpec[], pattern: RegExp, limits?: TarLimits, gzip = false): Promise<void> {
  const before = new Set(ecliTempDirs());
  const bytes = gzip ? gzipSync(buildTar(entries)) : buildTar(entries);
  await assert.rejects(extractTarball(bytes, 'evil.tar', limits), (error: unknown) => {
    assert.ok(error instanceof EcliError, String(error));
    assert.equal(error.code, 'PACKAGE_INVALID');
    assert.match(error.message, pattern);
    return true;
  });
  assert.deepEqual(
    ecliTempDirs().filter((name) => !before.has(name)),
    [],
    'temporary directory removed',
  );
}

test('a plain package tarball extracts and its parts are found', async () => {
  const extracted = await extractTarball(
    buildTar([
      { path: './package.json', data: PACKAGE },
      { path: 'manifest.json', data: '{}' },
      { path: 'btfhub-archive/fedora/39/x86_64/6.5.btf', data: 'x' },
      { path: 'client', data: 'the .o ecc --btfgen adds' },
    ]),
    'ok.tar',
  );
  try {
    const tree = locatePackageTree(extracted.dir, 'ok.tar');
    assert.equal(readFileSync(tree.packageJson, 'utf8'), PACKAGE);
    assert.equal(tree.manifest, join(extracted.dir, 'manifest.json'));
    assert.equal(tree.btfArchive, join(extracted.dir, 'btfhub-archive'));
    assert.equal(readFileSync(join(tree.btfArchive!, 'fedora/39/x86_64/6.5.btf'), 'utf8'), 'x');
  } finally {
    extracted.cleanup();
  }
  assert.equal(existsSync(extracted.dir), false);
});

test('a tarball without a top-level package.json is refused', async () => {
  const extracted = await extractTarball(buildTar([{ path: 'manifest.json', data: '{}' }]), 'empty.tar');
  try {
    assert.throws(() => locatePackageTree(extracted.dir, 'empty.tar'), /empty\.tar has no package\.json at its top level/);
  } finally {
    extracted.cleanup();
  }
});

test('a package.json below the top level is refused, with or without one at the top', async () => {
  await assertRefused(
    [{ path: 'sub/package.json', data: PACKAGE }],
    /^evil\.tar: entry "sub\/package\.json" is a package\.json below the top level; a package tarball has exactly one, at its top$/,
  );
  await assertRefused(
    [
      { path: 'package.json', data: PACKAGE },
      { path: 'btfhub-archive/./package.json', data: PACKAGE },
    ],
    /entry "btfhub-archive\/\.\/package\.json" is a package\.json below the top level/,
  );
});

test('two entries with the same name are refused instead of the last one winning', async () => {
  await assertRefused(
    [
      { path: 'package.json', data: PACKAGE },
      { path: './package.json', data: '{"meta":{"evil":true}}' },
    ],
    /^evil\.tar: entry "\.\/package\.json" appears twice in the archive; which one is meant is ambiguous$/,
  );
  await assertRefused(
    [
      { path: 'package.json', data: PACKAGE },
      { path: 'btfhub-archive/a.btf', data: 'x' },
      { path: 'btfhub-archive//a.btf', data: 'y' },
    ],
    /entry "btfhub-archive\/\/a\.btf" appears twice/,
  );
});

test('a ../ entry is refused and nothing is written outside', async () => {
  const marker = `ecli-evil-${process.pid}-${Date.now()}`;
  const outside = join(tmpdir(), marker);
  await assertRefused(
    [
      { path: 'package.json', data: PACKAGE },
      { path: `../${marker}`, data: 'pwned' },
    ],
    /entry "\.\.\/ecli-evil-.*" has a "\.\." component/,
  );
  assert.equal(existsSync(outside), false);
  await assertRefused([{ path: `btfhub-archive/../../${marker}`, data: 'pwned' }], /"\.\." component/);
  assert.equal(existsSync(outside), false);
});

test('absolute paths are refused', async () => {
  const target = join(tmpdir(), `ecli-abs-${process.pid}`);
  await assertRefused([{ path: target, data: 'pwned' }], /has an absolute path/);
  assert.equal(existsSync(target), false);
});

test('symlinks, hard links, devices and FIFOs are refused', async () => {
  await assertRefused([{ path: 'package.json', type: '2', linkpath: '/etc/passwd' }], /"package\.json" is a SymbolicLink/);
  await assertRefused([{ path: 'link', type: '1', linkpath: 'package.json' }], /"link" is a Link/);
  await assertRefused([{ path: 'tty', type: '3' }], /is a CharacterDevice/);
  await assertRefused([{ path: 'pipe', type: '6' }], /is a FIFO/);
  // A symlinked directory followed by a file through it is the classic escape.
  await assertRefused(
    [
      { path: 'dir', type: '2', linkpath: dirname(tmpdir()) },
      { path: 'dir/escaped', data: 'pwned' },
    ],
    /SymbolicLink/,
  );
});

test('entry count, per-file size and total size are capped', async () => {
  const limits: TarLimits = { maxEntries: 3, maxTotalBytes: 100, maxFileBytes: 60 };
  await assertRefused(
    ['a', 'b', 'c', 'd'].map((path) => ({ path, data: 'x' })),
    /has more than 3 entries/,
    limits,
  );
  await assertRefused([{ path: 'big', data: 'x'.repeat(61) }], /"big" is 61 bytes, more than the 60 byte limit per file/, limits);
  await assertRefused(
    [
      { path: 'a', data: 'x'.repeat(60) },
      { path: 'b', data: 'x'.repeat(41) },
    ],
    /unpacks to more than 100 bytes/,
    limits,
  );
  // A header may claim a huge size that its data never delivers: refused on the header alone.
  await assertRefused([{ path: 'liar', declaredSize: 1 << 30 }], /1073741824 bytes/);
});

test('a gzip bomb stops at the unpacked limit', async () => {
  const limits: TarLimits = { maxEntries: 2, maxTotalBytes: 1000, maxFileBytes: 1000 };
  await assertRefused([{ path: 'zeros', data: Buffer.alloc(1 << 20) }], /unpacks to more than \d+ bytes/, limits, true);
});

test('data that is not a tar archive is refused', async () => {
  await assert.rejects(extractTarball(Buffer.from('not a tar at all'.repeat(64)), 'junk.tar'), /junk\.tar is not a valid tar archive/);
  await assert.rejects(extractTarball(Buffer.from([0x1f, 0x8b, 1, 2, 3]), 'junk.tgz'), /junk\.tgz is not a valid gzip stream/);
});

test('modes from the archive are replaced by sane ones', async () => {
  const tar = buildTar([{ path: 'package.json', data: PACKAGE }]);
  // Mode field at offset 100: make the file mode 0000, then fix the checksum.
  tar.write('0000000\0', 100, 'latin1');
  tar.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of tar.subarray(0, 512)) sum += byte;
  tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  const extracted = await extractTarball(tar, 'modes.tar');
  try {
    assert.equal(statSync(join(extracted.dir, 'package.json')).mode & 0o777, 0o644);
  } finally {
    extracted.cleanup();
  }
});
