/**
 * src/files/make-dirs: nested folders made with their mode, folders that exist left as they are,
 * a file in the way refused, and a folder under /proc an error at once (Node's recursive mkdir
 * spins there forever, so that case runs in a child process with a deadline).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeDirs } from '../../src/files/make-dirs.js';

const root = mkdtempSync(join(tmpdir(), 'ecli-make-dirs-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('makes every missing folder, each with the mode given, and accepts one that exists', () => {
  const deep = join(root, 'a', 'b', 'c');
  makeDirs(deep, 0o700);
  for (const dir of [join(root, 'a'), join(root, 'a', 'b'), deep]) {
    assert.ok(statSync(dir).isDirectory(), dir);
    assert.equal(statSync(dir).mode & 0o777, 0o700 & ~process.umask(), dir);
  }
  makeDirs(deep);
  makeDirs(root);
});

test('a file where a folder should be is an error, not a success', () => {
  const file = join(root, 'plain');
  writeFileSync(file, 'x');
  assert.throws(() => makeDirs(file), { code: 'EEXIST', path: file });
  // The error names the file in the way, not the folder asked for.
  assert.throws(() => makeDirs(join(file, 'below')), { code: 'EEXIST', path: file });
});

test('a folder under /proc fails at once with ENOENT instead of spinning', () => {
  const module = pathToFileURL(new URL('../../src/files/make-dirs.js', import.meta.url).pathname).href;
  const script = `import { makeDirs } from ${JSON.stringify(module)};
try { makeDirs('/proc/ecli-no-such-folder/cache/ecli'); console.log('made'); } catch (error) { console.log(error.code); }`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(child.signal, null, 'makeDirs did not return within 20 s');
  assert.equal(child.stdout.trim(), 'ENOENT');
});
