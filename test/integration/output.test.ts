/**
 * Output controls end to end on examples/execsnoop (compiled once with ./ecc): `--fields` in
 * plain text and JSON, JSON's timestamp, `--time`.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jsonOf, parsePlainRow, startEcliFor, stopAndCheckUnloaded } from '../helpers/ecli-checks.js';
import { eccCompile } from '../helpers/ecli-process.js';
import { haveRoot, repoRoot } from '../helpers/env.js';
import { haveToolchain } from '../helpers/examples.js';

const example = path.join(repoRoot, 'examples/execsnoop');
let outDir: string;
let packagePath: string;
/** A copy of /bin/true at a unique path short enough for `comm` (15 characters). */
let exe: string;

before(() => {
  outDir = mkdtempSync(path.join(tmpdir(), 'output-test-'));
  exe = path.join(mkdtempSync('/tmp/o'), 't');
  copyFileSync('/bin/true', exe);
});

after(() => {
  rmSync(outDir, { recursive: true, force: true });
  rmSync(path.dirname(exe), { recursive: true, force: true });
});

function ready(t: TestContext): boolean {
  if (!haveRoot(t) || !haveToolchain(t)) return false;
  packagePath ??= eccCompile(path.join(example, 'execsnoop.bpf.c'), path.join(example, 'execsnoop.h'), outDir);
  return true;
}

function execOnce(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(exe, [], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('spawn', () => resolve(child.pid!));
  });
}

test('--fields comm,pid: plain text shows these columns in this order, COMM (char[16]) 16 wide from the start', async (t) => {
  if (!ready(t)) return;
  const running = await startEcliFor(t, ['run', '--fields', 'comm,pid', packagePath]);
  const header = 'TIME     COMM              PID    ';
  assert.equal(await running.waitForLine(() => true), header);
  const pid = await execOnce();
  const row = await running.waitForLine((line) => line.endsWith(` ${pid}`) && line.includes(exe));
  // The 14-character path fits the column: no header comes again before the row.
  assert.deepEqual(
    running.lines.slice(0, running.lines.indexOf(row)).filter((line) => line.startsWith('TIME ')),
    [header],
  );
  assert.deepEqual(parsePlainRow(header, row).values, { COMM: exe, PID: String(pid) });
  await stopAndCheckUnloaded(running);
});

test('--fields -ppid,-uid with -j: JSON without those keys, with a timestamp', async (t) => {
  if (!ready(t)) return;
  const running = await startEcliFor(t, ['run', '-j', '--fields', '-ppid,-uid', packagePath]);
  const pid = await execOnce();
  const line = await running.waitForLine((l) => jsonOf(l)?.pid === pid);
  const row = JSON.parse(line) as Record<string, unknown>;
  assert.deepEqual(Object.keys(row), ['comm', 'is_exit', 'pid', 'retval', 'timestamp']);
  const stamp = Date.parse(row['timestamp'] as string);
  assert.ok(Math.abs(stamp - Date.now()) < 10_000, `timestamp ${String(row['timestamp'])} is now`);
  await stopAndCheckUnloaded(running);
});

test('--time ms in plain text, --time ns in JSON; an unknown field is a usage error', async (t) => {
  if (!ready(t)) return;
  const plain = await startEcliFor(t, ['run', '--time', 'ms', '--fields', 'pid', packagePath]);
  assert.equal(await plain.waitForLine(() => true), 'TIME         PID    ');
  let pid = await execOnce();
  assert.match(await plain.waitForLine((l) => l.endsWith(` ${pid}`)), new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3}  ${pid}$`));
  await stopAndCheckUnloaded(plain);

  const json = await startEcliFor(t, ['run', '-j', '--time', 'ns', packagePath]);
  pid = await execOnce();
  const line = await json.waitForLine((l) => jsonOf(l)?.pid === pid);
  const ns = BigInt(/"timestamp":(\d+),"uid":/.exec(line)![1]!);
  assert.ok(ns > BigInt(Date.now() - 10_000) * 1_000_000n, line);
  await stopAndCheckUnloaded(json);

  const bad = await startEcliFor(t, ['run', '--fields', 'pidd', packagePath]);
  assert.equal(await bad.exited(), 2);
  assert.match(bad.stderr(), /ecli: error: --fields: struct event has no field pidd \(did you mean pid\?\)/);
});
