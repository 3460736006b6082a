/**
 * A real local user for a test (useradd, no home, no login shell), removed when the test ends:
 * for files another user owns, such as a symlink planted in a folder root writes into.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
}

export function temporaryUser(t: TestContext): TestUser {
  const name = `ecli-t-${randomBytes(4).toString('hex')}`;
  const added = spawnSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', name], { encoding: 'utf8' });
  assert.equal(added.status, 0, `useradd ${name}: ${added.stderr}`);
  t.after(() => {
    spawnSync('userdel', [name]);
  });
  const entry = spawnSync('getent', ['passwd', name], { encoding: 'utf8' }).stdout.split(':');
  return { name, uid: Number(entry[2]), gid: Number(entry[3]) };
}
