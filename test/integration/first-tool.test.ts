/**
 * The README's "write your first tool" walk-through as written: its two files are taken from the
 * README, compiled with ./ecc and run with ./ecli; then the source is run as it is
 * (`ecli run rmsnoop.bpf.c`), compiled once and taken from the cache after that.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parsePlainRow, startEcliFor, stopAndCheckUnloaded } from '../helpers/ecli-checks.js';
import { eccPath, ecliPath, runTool } from '../helpers/ecli-process.js';
import { haveRoot, repoRoot } from '../helpers/env.js';
import { haveToolchain, tempDir, uniqueToken } from '../helpers/examples.js';

/** The README's fenced C blocks whose first line is `// <file name>`, by that name. */
function readmeFiles(): Map<string, string> {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const files = new Map<string, string>();
  for (const block of readme.matchAll(/^```c\n\/\/ (\S+)\n([^]*?)^```$/gm)) files.set(block[1]!, block[2]!);
  return files;
}

/** The walk-through's folder: rmsnoop.h and rmsnoop.bpf.c as the README shows them. */
function writeTool(t: TestContext): string {
  const dir = tempDir(t, 'ecli-first-tool-');
  const files = readmeFiles();
  assert.deepEqual([...files.keys()].sort(), ['rmsnoop.bpf.c', 'rmsnoop.h']);
  for (const [name, text] of files) writeFileSync(path.join(dir, name), text);
  return dir;
}

/** Creates a file of a unique name and removes it with rm; returns its path. */
function removeAFile(): string {
  const victim = `/tmp/ecli-rm-${uniqueToken()}`;
  writeFileSync(victim, '');
  assert.equal(spawnSync('rm', [victim]).status, 0);
  return victim;
}

test('the README walk-through: ecc, then ecli run package.json shows the rm of a file, with the option it documents', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const dir = writeTool(t);
  const compiled = runTool(eccPath, ['rmsnoop.bpf.c', 'rmsnoop.h'], { cwd: dir });
  assert.equal(compiled.status, 0, compiled.stderr);
  const help = runTool(ecliPath, ['run', 'package.json', '--help'], { cwd: dir });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^Show which process removes which file$/m);
  assert.match(help.stdout, /^ {2}-p, --pid <target_pid> {2}Only show files removed by this process ID \(0 = every process\) \[default: 0\]$/m);

  const ecli = await startEcliFor(t, ['run', 'package.json'], { cwd: dir });
  const victim = removeAFile();
  const row = await ecli.waitForLine((line) => line.endsWith(victim));
  const header = ecli.lines.filter((line) => line.startsWith('TIME ')).at(-1)!;
  assert.match(header, /^TIME {5}PID {6}COMM +PATH +$/);
  assert.equal(parsePlainRow(header, row).values.COMM, 'rm');
  await stopAndCheckUnloaded(ecli, 'SIGINT', ['on_unlinkat']);
});

test('ecli run rmsnoop.bpf.c compiles it as ecc does, once: the next run takes the cached package until a header changes', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const dir = writeTool(t);
  const env = { XDG_CACHE_HOME: tempDir(t, 'ecli-cache-') };
  const compiling = /^ecli: compiling rmsnoop\.bpf\.c with rmsnoop\.h as ecc does; the package is cached for the next run$/m;

  const first = await startEcliFor(t, ['run', '-j', 'rmsnoop.bpf.c'], { cwd: dir, env });
  assert.match(first.stderr(), compiling);
  const victim = removeAFile();
  const line = await first.waitForLine((l) => l.includes(victim));
  assert.equal((JSON.parse(line) as { comm: string }).comm, 'rm');
  await stopAndCheckUnloaded(first, 'SIGINT', ['on_unlinkat']);

  const again = runTool(ecliPath, ['run', 'rmsnoop.bpf.c', '-V'], { cwd: dir, env });
  assert.deepEqual([again.status, again.stdout, again.stderr], [0, 'rmsnoop_bpf 0.1.0\n', ''], 'the second run compiles nothing');

  appendFileSync(path.join(dir, 'rmsnoop.h'), '/* edited */\n');
  const edited = runTool(ecliPath, ['run', 'rmsnoop.bpf.c', '-V'], { cwd: dir, env });
  assert.equal(edited.status, 0, edited.stderr);
  assert.match(edited.stderr, compiling, 'an edited header compiles again');

  copyFileSync(path.join(dir, 'rmsnoop.h'), path.join(dir, 'event.h'));
  const named = runTool(ecliPath, ['run', '--header', 'event.h', 'rmsnoop.bpf.c', '-V'], { cwd: dir, env });
  assert.equal(named.status, 0, named.stderr);
  assert.match(named.stderr, /^ecli: compiling rmsnoop\.bpf\.c with event\.h as ecc does/m);
});

test('a compiled object is refused with what to run instead; --header needs a C source', (t) => {
  if (!haveToolchain(t)) return;
  const dir = writeTool(t);
  assert.equal(runTool(eccPath, ['rmsnoop.bpf.c', 'rmsnoop.h'], { cwd: dir }).status, 0);
  const object = runTool(ecliPath, ['run', 'rmsnoop.bpf.o'], { cwd: dir });
  assert.equal(object.status, 2);
  assert.match(
    object.stderr,
    /^ecli: error: rmsnoop\.bpf\.o is a compiled object, not a package: ecli runs the package\.json ecc writes\nhint: compile its C source with ecc/,
  );
  const header = runTool(ecliPath, ['run', '--header', 'rmsnoop.h', 'package.json'], { cwd: dir });
  assert.equal(header.status, 2);
  assert.match(header.stderr, /^ecli: error: --header names the header of a C source, and package\.json is not one$/m);
});
