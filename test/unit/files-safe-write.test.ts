/**
 * src/files/safe-write on a real file system: new files with O_EXCL and their mode, replaced
 * files keep theirs, the caller's own symlinks written through, refusals, a file that appears
 * while writing left alone, and no temporary file left behind; the same checks made ahead of a
 * write (checkWritable, checkFolderWritable). Other users' symlinks are tested
 * with real users in test/integration/files-other-users.test.ts.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkFolderWritable, checkWritable, writeFileSafely, writeFileSafelySync } from '../../src/files/safe-write.js';
import { errorWith } from '../helpers/assertions.js';

const root = mkdtempSync(join(tmpdir(), 'ecli-safe-write-'));
after(() => rmSync(root, { recursive: true, force: true }));

function folder(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  return dir;
}

test('a new file gets its mode less the umask; no temporary file is left', () => {
  const dir = folder('new');
  const umask = process.umask(0o027);
  try {
    writeFileSafelySync(join(dir, 'a.json'), 'text', { existing: 'refuse' });
    writeFileSafelySync(join(dir, 'secret.json'), 'pw', { existing: 'refuse', mode: 0o600 });
  } finally {
    process.umask(umask);
  }
  assert.equal(statSync(join(dir, 'a.json')).mode & 0o777, 0o640);
  assert.equal(statSync(join(dir, 'secret.json')).mode & 0o777, 0o600);
  assert.equal(readFileSync(join(dir, 'a.json'), 'utf8'), 'text');
  assert.deepEqual(readdirSync(dir).sort(), ['a.json', 'secret.json']);
});

test('a replaced file keeps its mode (set-id bits dropped); a secret one loses group and other permissions', () => {
  const dir = folder('replace');
  const kept = join(dir, 'kept');
  writeFileSync(kept, 'old');
  chmodSync(kept, 0o4750);
  writeFileSafelySync(kept, 'new', { existing: 'replace' });
  assert.equal(readFileSync(kept, 'utf8'), 'new');
  assert.equal(statSync(kept).mode & 0o7777, 0o750);
  const secret = join(dir, 'config.json');
  writeFileSync(secret, '{}');
  chmodSync(secret, 0o644);
  writeFileSafelySync(secret, '{"auths":{}}', { existing: 'replace', mode: 0o600, secret: true });
  assert.equal(statSync(secret).mode & 0o777, 0o600);
});

test("an existing file is refused when replacing is not allowed, with the caller's hint", () => {
  const dir = folder('refuse');
  writeFileSync(join(dir, 'Makefile'), 'mine');
  assert.throws(
    () => writeFileSafelySync(join(dir, 'Makefile'), 'theirs', { existing: 'refuse', refuseHint: 'pass --force' }),
    (error: Error & { code?: string; hint?: string }) => {
      errorWith('USAGE', /^cannot write .*Makefile: it already exists, and ecli replaces only a file it was told to$/)(error);
      assert.equal(error.hint, 'pass --force');
      return true;
    },
  );
  assert.equal(readFileSync(join(dir, 'Makefile'), 'utf8'), 'mine');
});

test("the caller's own symlink is written through: the file it points to is replaced, the link stays", () => {
  const dir = folder('through');
  const real = join(dir, 'real.json');
  writeFileSync(real, 'old');
  chmodSync(real, 0o600);
  symlinkSync('real.json', join(dir, 'config.json'));
  const written = writeFileSafelySync(join(dir, 'config.json'), 'new', { existing: 'replace' });
  assert.equal(written, `${dir}/real.json`);
  assert.ok(lstatSync(join(dir, 'config.json')).isSymbolicLink());
  assert.equal(readFileSync(real, 'utf8'), 'new');
  assert.equal(statSync(real).mode & 0o777, 0o600);
});

test('folders, FIFOs, devices, dangling links and loops are refused; nothing is written', () => {
  const dir = folder('kinds');
  symlinkSync(join(dir, 'gone'), join(dir, 'dangling'));
  symlinkSync('loop', join(dir, 'loop'));
  const cases: [string, RegExp][] = [
    [dir, /it is a folder$/],
    ['/dev/null', /it is a character device, not a regular file$/],
    [join(dir, 'dangling'), /it is a dangling symlink \(to .*gone\)$/],
    [join(dir, 'loop'), /it is a symlink loop$/],
    [join(dir, 'missing', 'x'), /its folder .*missing does not exist$/],
  ];
  for (const [path, message] of cases) {
    assert.throws(() => writeFileSafelySync(path, 'x', { existing: 'replace', hint: 'name another file' }), errorWith('USAGE', message), path);
  }
  assert.deepEqual(readdirSync(dir).sort(), ['dangling', 'loop']);
});

test('a stream producer: what it pipes is written; a producer that fails leaves nothing', async () => {
  const dir = folder('stream');
  const path = join(dir, 'out.tar.gz');
  await writeFileSafely(path, (out) => pipeline(Readable.from([Buffer.from('one '), Buffer.from('two')]), out), { existing: 'refuse' });
  assert.equal(readFileSync(path, 'utf8'), 'one two');
  await assert.rejects(
    writeFileSafely(join(dir, 'failed'), () => Promise.reject(Object.assign(new Error('disk full'), { code: 'ENOSPC' })), { existing: 'refuse' }),
    errorWith('RUNTIME', /^cannot write .*failed: no space left on device; nothing was written$/),
  );
  assert.deepEqual(readdirSync(dir), ['out.tar.gz']);
});

test('a file that appears at the name while it is written is left alone', async () => {
  const dir = folder('race');
  const path = join(dir, 'x.json');
  await assert.rejects(
    writeFileSafely(
      path,
      async (out) => {
        writeFileSync(path, 'planted');
        out.write('ours');
      },
      { existing: 'refuse' },
    ),
    errorWith('USAGE', /^cannot write .*x\.json: something appeared at that name while ecli was writing it; it was left alone$/),
  );
  assert.equal(readFileSync(path, 'utf8'), 'planted');
  assert.deepEqual(readdirSync(dir), ['x.json']);
});

test('a folder on the way swapped for a symlink while the file is written redirects nothing: it lands in the folder checked', async () => {
  const dir = folder('swap');
  const build = join(dir, 'build');
  mkdirSync(build);
  const elsewhere = folder('swap-elsewhere');
  await writeFileSafely(
    join(build, 'out.json'),
    async (out) => {
      renameSync(build, join(dir, 'moved'));
      symlinkSync(elsewhere, build);
      out.write('ours');
    },
    { existing: 'refuse' },
  );
  assert.equal(readFileSync(join(dir, 'moved', 'out.json'), 'utf8'), 'ours');
  assert.deepEqual(readdirSync(join(dir, 'moved')), ['out.json'], 'no temporary file is left');
  assert.deepEqual(readdirSync(elsewhere), [], 'nothing reached the folder the link points to');
});

test('checkWritable refuses what writeFileSafely would, and writes nothing', () => {
  const dir = folder('ahead');
  writeFileSync(join(dir, 'Makefile'), 'mine');
  assert.throws(
    () => checkWritable(join(dir, 'Makefile'), { existing: 'refuse', refuseHint: 'pass --force' }),
    errorWith('USAGE', /^cannot write .*Makefile: it already exists, and ecli replaces only a file it was told to$/),
  );
  assert.throws(() => checkWritable(dir, { existing: 'replace' }), errorWith('USAGE', /it is a folder$/));
  checkWritable(join(dir, 'Makefile'), { existing: 'replace' });
  checkWritable(join(dir, 'new.json'), { existing: 'refuse' });
  assert.deepEqual(readdirSync(dir), ['Makefile']);
  assert.equal(readFileSync(join(dir, 'Makefile'), 'utf8'), 'mine');
});

test("checkFolderWritable: a folder, through its owner's symlink too; a missing folder or a file is refused", () => {
  const dir = folder('into');
  writeFileSync(join(dir, 'file'), '');
  symlinkSync(dir, join(root, 'into-link'));
  checkFolderWritable(dir);
  checkFolderWritable(join(root, 'into-link'));
  assert.throws(() => checkFolderWritable(join(dir, 'missing')), errorWith('USAGE', /^cannot write into .*missing: its folder .*missing does not exist$/));
  assert.throws(() => checkFolderWritable(join(dir, 'file')), errorWith('USAGE', /^cannot write into .*file: .*file is not a folder$/));
  assert.deepEqual(readdirSync(dir), ['file']);
});
