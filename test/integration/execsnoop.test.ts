/**
 * examples/execsnoop end to end: compiled with ./ecc into a temp dir, run with ./ecli, rows
 * checked against a program exec'd from a path chosen here, then stopped by each signal.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Btf } from '../../src/btf/btf.js';
import { structLayout } from '../../src/btf/layout.js';
import { BtfKind } from '../../src/btf/types.js';
import { findExecutable } from '../../src/compiler/process.js';
import { KERNEL_BTF_PATH } from '../../src/btf/kernel-btf-path.js';
import { findSection, parseElf } from '../../src/elf/elf.js';
import { jsonOf, parsePlainRow, startEcliFor, stopAndCheckUnloaded } from '../helpers/ecli-checks.js';
import { eccPath, runTool, type RunningEcli } from '../helpers/ecli-process.js';
import { haveRoot, repoRoot, skipUnlessCi } from '../helpers/env.js';

const HEADER = 'TIME     PID      PPID    UID     RETVAL  IS_EXIT COMM   ';
const example = path.join(repoRoot, 'examples/execsnoop');

let outDir: string;
let compileError: string | undefined;
/** A copy of /bin/true at a unique path short enough for `comm` (char[16], 15 characters). */
let exe: string;
/** Another copy whose path holds an escape sequence and a newline, as any user could name one. */
let hostileExe: string;

before(() => {
  outDir = mkdtempSync(path.join(tmpdir(), 'execsnoop-test-'));
  const result = runTool(eccPath, ['-o', outDir, path.join(example, 'execsnoop.bpf.c'), path.join(example, 'execsnoop.h')]);
  if (result.status !== 0) compileError = `./ecc exited ${result.status}: ${result.stderr}`;
  exe = path.join(mkdtempSync('/tmp/x'), 't');
  assert.ok(exe.length <= 15, `${exe} does not fit in comm`);
  copyFileSync('/bin/true', exe);
  hostileExe = `/tmp/e\x1b[1m\n${Math.random().toString(36).slice(2, 6)}`;
  assert.ok(hostileExe.length <= 15, `${JSON.stringify(hostileExe)} does not fit in comm`);
  copyFileSync('/bin/true', hostileExe);
});

after(() => {
  rmSync(outDir, { recursive: true, force: true });
  rmSync(path.dirname(exe), { recursive: true, force: true });
  rmSync(hostileExe, { force: true });
});

/** True once ./ecc compiled the example; skips only when its toolchain is missing, else fails. */
function compiled(t: TestContext): boolean {
  if (compileError === undefined) return true;
  const missing = ['clang', 'llvm-strip', 'bpftool'].filter((tool) => !findExecutable([tool, `${tool}-14`]));
  if (!existsSync(KERNEL_BTF_PATH)) missing.push(KERNEL_BTF_PATH);
  if (missing.length === 0) assert.fail(compileError);
  skipUnlessCi(t, `./ecc needs ${missing.join(', ')}`);
  return false;
}

const packagePath = (): string => path.join(outDir, 'package.json');

/** Execs `program` from this process (node copies the path into the child, so it is resident). */
function execOnce(program = exe): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, [], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('spawn', () => resolve(child.pid!));
  });
}

/** execsnoop has one program: ecli must hold exactly one, and it must be gone after `signal`. */
async function stopAndCheckOne(running: RunningEcli, signal: NodeJS.Signals): Promise<void> {
  const ours = await stopAndCheckUnloaded(running, signal);
  assert.equal(ours.length, 1, `ecli held programs ${ours.join(', ')}`);
}

test('the compiled execsnoop object lays out struct event as 0/4/8/12/16/17, 36 bytes', (t) => {
  if (!compiled(t)) return;
  const elf = parseElf(new Uint8Array(readFileSync(path.join(outDir, 'execsnoop.bpf.o'))));
  const btf = Btf.parse(findSection(elf, '.BTF')!.data);
  const event = btf.findByName('event', BtfKind.Struct);
  assert.ok(event, 'struct event in the object BTF');
  const layout = structLayout(btf, event.id);
  assert.equal(layout.size, 36);
  assert.deepEqual(
    layout.members.map((m) => [m.name, m.offset]),
    [
      ['pid', 0],
      ['ppid', 4],
      ['uid', 8],
      ['retval', 12],
      ['is_exit', 16],
      ['comm', 17],
    ],
  );
  const pkg = JSON.parse(readFileSync(packagePath(), 'utf8')) as { meta: { export_types: { type_id: number }[] } };
  assert.equal(pkg.meta.export_types[0]!.type_id, event.id, 'the package exports this struct');
});

test('plain text: the header, then a row for our exec with pid, ppid, uid 0 and the path', async (t) => {
  if (!haveRoot(t) || !compiled(t)) return;
  const running = await startEcliFor(t, ['run', packagePath()]);
  assert.equal(await running.waitForLine(() => true), HEADER);
  const pid = await execOnce();
  const row = await running.waitForLine((line) => line.split(/ +/)[1] === String(pid));
  const { time, values } = parsePlainRow(HEADER, row);
  assert.match(time, /^\d\d:\d\d:\d\d$/);
  assert.deepEqual(values, {
    PID: String(pid),
    PPID: String(process.pid),
    UID: '0',
    RETVAL: '0',
    IS_EXIT: 'false',
    COMM: exe,
  });
  assert.equal(running.lines.filter((line) => line === HEADER).length, 1, 'the header is printed once');
  await stopAndCheckOne(running, 'SIGINT');
});

test('under a burst of 500 execs the header is printed once: every column starts as wide as its values', async (t) => {
  if (!haveRoot(t) || !compiled(t)) return;
  const running = await startEcliFor(t, ['run', packagePath()]);
  assert.equal(await running.waitForLine(() => true), HEADER);
  const burst = spawn('/bin/sh', ['-c', `i=0; while [ $i -lt 500 ]; do /bin/true; i=$((i+1)); done; exec ${exe}`], { stdio: 'ignore' });
  const done = new Promise((resolve) => burst.on('exit', resolve));
  await running.waitForLine((line) => line.split(/ +/)[1] === String(burst.pid) && line.endsWith(` ${exe}`));
  await done;
  const rows = running.lines.filter((line) => / \/bin\/true$/.test(line));
  assert.ok(rows.length >= 500, `${rows.length} rows of /bin/true`);
  assert.deepEqual(
    running.lines.filter((line) => line.startsWith('TIME ')),
    [HEADER],
  );
  for (const row of rows) assert.equal(parsePlainRow(HEADER, row).values.COMM, '/bin/true', row);
  await stopAndCheckOne(running, 'SIGINT');
});

test('JSON with --time none: one sorted-key object per exec, exactly the reference shape', async (t) => {
  if (!haveRoot(t) || !compiled(t)) return;
  const running = await startEcliFor(t, ['run', '-j', '--time', 'none', packagePath()]);
  const pid = await execOnce();
  const line = await running.waitForLine((l) => jsonOf(l)?.pid === pid);
  assert.equal(line, `{"comm":${JSON.stringify(exe)},"is_exit":false,"pid":${pid},"ppid":${process.pid},"retval":0,"uid":0}`);
  for (const l of running.lines) {
    assert.deepEqual(Object.keys(JSON.parse(l) as object), ['comm', 'is_exit', 'pid', 'ppid', 'retval', 'uid'], l);
  }
  await stopAndCheckOne(running, 'SIGINT');
});

for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
  test(`${signal} also exits 0 and detaches`, async (t) => {
    if (!haveRoot(t) || !compiled(t)) return;
    const running = await startEcliFor(t, ['run', '-j', packagePath()]);
    const pid = await execOnce();
    await running.waitForLine((l) => jsonOf(l)?.pid === pid);
    await stopAndCheckOne(running, signal);
  });
}

test('a program named with an escape sequence shows escaped in plain text and exact in JSON', async (t) => {
  if (!haveRoot(t) || !compiled(t)) return;
  const plain = await startEcliFor(t, ['run', packagePath()]);
  const json = await startEcliFor(t, ['run', '-j', packagePath()]);
  const pid = await execOnce(hostileExe);
  const row = await plain.waitForLine((line) => line.split(/ +/)[1] === String(pid));
  assert.equal(parsePlainRow(HEADER, row).values.COMM, hostileExe.replace('\x1b', '\\e').replace('\n', '\\n'));
  const line = await json.waitForLine((l) => jsonOf(l)?.pid === pid);
  assert.equal(jsonOf(line)?.comm, hostileExe);
  assert.ok(line.includes('"comm":"/tmp/e\\u001b[1m\\n'), line);
  await stopAndCheckOne(plain, 'SIGINT');
  await stopAndCheckOne(json, 'SIGINT');
  for (const text of [plain.lines.join('\n'), plain.stderr(), json.lines.join('\n'), json.stderr()]) {
    assert.ok(!/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(text), `a raw control character reached the output: ${JSON.stringify(text)}`);
  }
});
