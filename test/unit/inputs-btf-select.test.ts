import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { EcliError } from '../../src/errors.js';
import { KERNEL_BTF_PATH } from '../../src/btf/kernel-btf-path.js';
import { parseOsRelease, selectBtfPath, type BtfFileChecks } from '../../src/inputs/btf-select.js';

const OS_RELEASE = 'NAME="Ubuntu"\nID=ubuntu\nVERSION_ID="22.04"\nPRETTY_NAME="Ubuntu 22.04.3 LTS"\n';
const UNAME = { machine: 'x86_64', release: '5.15.0-91-generic' };
const ARCHIVE = '/tmp/pkg/btfhub-archive';
const ARCHIVE_FILE = `${ARCHIVE}/ubuntu/22.04/x86_64/5.15.0-91-generic.btf`;

/** A fake file system holding exactly `files` (all readable). */
function filesystem(...files: string[]): BtfFileChecks {
  const present = new Set(files);
  return { isReadable: (path) => present.has(path), isFile: (path) => present.has(path) };
}

function select(env: Record<string, string | undefined>, fs: BtfFileChecks, archiveDir?: string): string | undefined {
  return selectBtfPath({ env, fs, osRelease: OS_RELEASE, uname: UNAME, ...(archiveDir === undefined ? {} : { archiveDir }) });
}

test('BTF_FILE_PATH wins, even over the kernel BTF and the archive', () => {
  const fs = filesystem('/opt/vmlinux.btf', KERNEL_BTF_PATH, ARCHIVE_FILE);
  assert.equal(select({ BTF_FILE_PATH: '/opt/vmlinux.btf' }, fs, ARCHIVE), '/opt/vmlinux.btf');
});

test('a BTF_FILE_PATH that does not exist is an error, not silently ignored', () => {
  assert.throws(
    () => select({ BTF_FILE_PATH: '/nope.btf' }, filesystem(KERNEL_BTF_PATH)),
    (error: unknown) => error instanceof EcliError && error.code === 'INPUT_NOT_FOUND' && /BTF_FILE_PATH=\/nope\.btf/.test(error.message),
  );
});

test('an empty BTF_FILE_PATH counts as unset', () => {
  assert.equal(select({ BTF_FILE_PATH: '' }, filesystem(KERNEL_BTF_PATH)), undefined);
});

test('readable kernel BTF means no custom path, even with an archive', () => {
  assert.equal(select({}, filesystem(KERNEL_BTF_PATH, ARCHIVE_FILE), ARCHIVE), undefined);
});

test('without kernel BTF the archive file for this system is used', () => {
  assert.equal(select({}, filesystem(ARCHIVE_FILE), ARCHIVE), ARCHIVE_FILE);
});

test('an archive without this system is not enough', () => {
  const other = `${ARCHIVE}/ubuntu/20.04/x86_64/5.15.0-91-generic.btf`;
  assert.throws(
    () => select({}, filesystem(other), ARCHIVE),
    (error: unknown) => {
      assert.ok(error instanceof EcliError);
      assert.equal(error.code, 'KERNEL_UNSUPPORTED');
      assert.equal(error.message, `this kernel has no BTF (${KERNEL_BTF_PATH}) and the package carries none for ubuntu 22.04 x86_64 5.15.0-91-generic`);
      assert.equal(error.hint, 'set BTF_FILE_PATH=<vmlinux BTF file> or pack one with ecli pack --btf');
      return true;
    },
  );
});

test('no kernel BTF and no archive is KERNEL_UNSUPPORTED', () => {
  assert.throws(() => select({}, filesystem()), /has no BTF/);
});

test('os-release values may be quoted and escaped; ID defaults to linux', () => {
  assert.deepEqual(parseOsRelease(OS_RELEASE), {
    NAME: 'Ubuntu',
    ID: 'ubuntu',
    VERSION_ID: '22.04',
    PRETTY_NAME: 'Ubuntu 22.04.3 LTS',
  });
  assert.deepEqual(parseOsRelease('# comment\nID=\'arch\'\nX="a \\"b\\""\n\nBAD LINE\n'), { ID: 'arch', X: 'a "b"' });
  const file = `${ARCHIVE}/linux/1/x86_64/5.15.0-91-generic.btf`;
  assert.equal(selectBtfPath({ env: {}, fs: filesystem(file), osRelease: 'VERSION_ID=1\n', uname: UNAME, archiveDir: ARCHIVE }), file);
});

test('os-release values that are not plain names never reach the path', () => {
  // What join() would make of it: a file outside the archive.
  const escape = join(ARCHIVE, '../../etc/1/x86_64/5.15.0-91-generic.btf');
  assert.throws(
    () => selectBtfPath({ env: {}, fs: filesystem(escape), osRelease: 'ID=../../etc\nVERSION_ID=1\n', uname: UNAME, archiveDir: ARCHIVE }),
    /has no BTF/,
  );
});
