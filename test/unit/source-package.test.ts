import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageForSource } from '../../src/compiler/source-package.js';
import { errorWith } from '../helpers/assertions.js';

function tempDir(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ecli-source-package-test-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A source in its own folder, a cache under the temp dir, and a clang that does not exist: nothing here reaches a compiler. */
function setup(dir: string): { source: string; env: NodeJS.ProcessEnv } {
  const source = join(dir, 'prog.bpf.c');
  writeFileSync(source, 'int x;\n');
  return { source, env: { ...process.env, XDG_CACHE_HOME: join(dir, 'cache'), ECC_CLANG: join(dir, 'no-clang') } };
}

test('a --header that does not exist is a missing input, named, not an internal error', async () => {
  using tmp = tempDir();
  const { source, env } = setup(tmp.dir);
  const header = join(tmp.dir, 'nosuch.h');
  await assert.rejects(
    packageForSource({ source, header, ecliFile: source, env }),
    errorWith('INPUT_NOT_FOUND', /cannot read the header .*nosuch\.h: no such file/),
  );
});

test('a --header that is a folder is refused as one', async () => {
  using tmp = tempDir();
  const { source, env } = setup(tmp.dir);
  const header = join(tmp.dir, 'dir.h');
  mkdirSync(header);
  await assert.rejects(
    packageForSource({ source, header, ecliFile: source, env }),
    errorWith('INPUT_NOT_FOUND', /cannot read the header .*dir\.h: not a regular file/),
  );
});

test('a dangling .h link beside the source is left out of the cache key, and the run goes on to compile', async () => {
  using tmp = tempDir();
  const { source, env } = setup(tmp.dir);
  symlinkSync(join(tmp.dir, 'gone.h'), join(tmp.dir, 'other.h'));
  // Past the cache key, the compile itself fails on the clang that is not there.
  await assert.rejects(packageForSource({ source, ecliFile: source, env }), errorWith('TOOL_MISSING', /clang/));
});
