/**
 * The event-tracing examples (tracepoints, uprobes, bpf_printk), compiled by ./ecc and run by
 * ./ecli, with real events triggered by processes this test starts. Events are system-wide, so
 * rows are matched by a pid or a unique name this test chose.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { haveRoot, repoRoot, skipUnlessCi } from '../helpers/env.js';
import { startEcliFor, stopAndCheckUnloaded } from '../helpers/ecli-checks.js';
import { runTool } from '../helpers/ecli-process.js';
import { compileExample, haveCommands, haveToolchain, jsonLine, jsonRows, sleep, startHelper, tempDir, uniqueToken } from '../helpers/examples.js';

/** How long to keep listening after the expected row, so that unexpected ones would show up too. */
const SETTLE_MS = 300;
/** A pid no process can have (pid_max is at most 2^22). */
const NO_SUCH_PID = 2 ** 31 - 1;

test('exitsnoop reports the exit status of a process from the ring buffer', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const example = compileExample(t, 'exitsnoop');
  const name = `exit3-${uniqueToken()}`.slice(0, 15);
  const program = path.join(tempDir(t), name);
  copyFileSync('/bin/sh', program);
  chmodSync(program, 0o755);

  const ecli = await startEcliFor(t, ['run', '-j', example.packagePath]);
  const exiting = startHelper(t, program, ['-c', 'exit 3'], { stdio: 'ignore' });
  assert.equal(await exiting.exited, 3);
  const row = JSON.parse(await ecli.waitForLine(jsonLine((r) => r.pid === exiting.pid)));
  assert.equal(row.exit_code, 3, 'the exit status, not the raw wait status');
  assert.equal(row.comm, name);
  assert.equal(row.ppid, process.pid);
  assert.ok(typeof row.duration_ns === 'number' && row.duration_ns > 0, `duration_ns ${row.duration_ns}`);

  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});

test('exitsnoop prints a header and aligned rows in plain mode', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const example = compileExample(t, 'exitsnoop');
  const name = `exit7-${uniqueToken()}`.slice(0, 15);
  const program = path.join(tempDir(t), name);
  copyFileSync('/bin/sh', program);
  chmodSync(program, 0o755);

  const ecli = await startEcliFor(t, ['run', example.packagePath]);
  assert.equal(ecli.lines[0] ?? (await ecli.waitForLine(() => true)), 'TIME     PID      PPID    EXIT_CODE DURATION_NS  COMM   ');
  const exiting = startHelper(t, program, ['-c', 'exit 7'], { stdio: 'ignore' });
  assert.equal(await exiting.exited, 7);
  const line = await ecli.waitForLine((l) => l.endsWith(` ${name}`));
  assert.match(line, new RegExp(`^\\d\\d:\\d\\d:\\d\\d  ${exiting.pid} +${process.pid} +7 +\\d+ +${name}$`));

  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});

test('opensnoop --pid reports the opens of that process only', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const example = compileExample(t, 'opensnoop');
  const file = path.join(tempDir(t), `opened-${uniqueToken()}`);
  writeFileSync(file, 'x\n');
  // The shell waits for a line, then becomes `cat` (same pid), which opens the file.
  const target = startHelper(t, 'sh', ['-c', 'read go; exec cat "$0"', file], { stdio: ['pipe', 'ignore', 'inherit'] });

  const ecli = await startEcliFor(t, ['run', '-j', example.packagePath, '--pid', String(target.pid)]);
  const other = runTool('cat', [file]);
  assert.equal(other.status, 0, other.stderr);
  target.child.stdin!.end('go\n');
  assert.equal(await target.exited, 0);

  const row = JSON.parse(await ecli.waitForLine(jsonLine((r) => r.fname === file)));
  assert.equal(row.pid, target.pid);
  assert.equal(row.comm, 'cat');
  assert.ok(row.ret >= 0, `ret ${row.ret}`);
  assert.equal(row.flags & 3, 0, 'O_RDONLY');
  await sleep(SETTLE_MS);
  const rows = jsonRows(ecli);
  assert.deepEqual(
    rows.filter((r) => r.fname === file).map((r) => r.pid),
    [target.pid],
    'the other cat opened it too, unreported',
  );
  assert.deepEqual(
    rows.filter((r) => r.pid !== target.pid),
    [],
    'only the --pid process is reported',
  );

  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});

test('opensnoop --enable-failed reports failed opens only', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const example = compileExample(t, 'opensnoop');
  const dir = tempDir(t);
  const [missing, present] = [path.join(dir, 'missing'), path.join(dir, 'present')];
  writeFileSync(present, 'x\n');
  const target = startHelper(t, 'sh', ['-c', 'read go; exec cat "$0" "$1"', missing, present], { stdio: ['pipe', 'ignore', 'ignore'] });

  const ecli = await startEcliFor(t, ['run', '-j', example.packagePath, '--pid', String(target.pid), '--enable-failed']);
  target.child.stdin!.end('go\n');
  assert.equal(await target.exited, 1, 'cat fails on the missing file');

  const row = JSON.parse(await ecli.waitForLine(jsonLine((r) => r.fname === missing)));
  assert.equal(row.ret, -2, 'ENOENT');
  await sleep(SETTLE_MS);
  assert.deepEqual(
    jsonRows(ecli).filter((r) => typeof r.ret !== 'number' || r.ret >= 0),
    [],
    `successful opens are left out (${present} among them)`,
  );

  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});

test('sigsnoop reports a delivered signal and a kill that failed with ESRCH', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const example = compileExample(t, 'sigsnoop');
  const victim = startHelper(t, 'sleep', ['30'], { stdio: 'ignore' });

  const ecli = await startEcliFor(t, ['run', '-j', example.packagePath]);
  const sender = startHelper(t, process.execPath, ['-e', `process.kill(${victim.pid}, 'SIGUSR1'); try { process.kill(${NO_SUCH_PID}, 0); } catch {}`], {
    stdio: 'ignore',
  });
  assert.equal(await sender.exited, 0);
  assert.equal(await victim.exited, 'SIGUSR1');

  const delivered = JSON.parse(await ecli.waitForLine(jsonLine((r) => r.pid === sender.pid && r.tpid === victim.pid)));
  assert.deepEqual({ sig: delivered.sig, ret: delivered.ret, comm: delivered.comm }, { sig: 10, ret: 0, comm: 'node' });
  const failed = JSON.parse(await ecli.waitForLine(jsonLine((r) => r.pid === sender.pid && r.tpid === NO_SUCH_PID)));
  assert.deepEqual({ sig: failed.sig, ret: failed.ret }, { sig: 0, ret: -3 }, 'ESRCH');

  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});

test('printk --trace-pipe relays the bpf_printk lines of the --pid process only', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const example = compileExample(t, 'printk');
  const writer = startHelper(t, 'sh', ['-c', 'read go; echo one; echo two'], { stdio: ['pipe', 'ignore', 'inherit'] });

  const ecli = await startEcliFor(t, ['run', '--trace-pipe', example.packagePath, '--pid', String(writer.pid)]);
  const other = startHelper(t, 'sh', ['-c', 'echo three; echo four'], { stdio: ['ignore', 'ignore', 'inherit'] });
  assert.equal(await other.exited, 0);
  writer.child.stdin!.end('go\n');
  assert.equal(await writer.exited, 0);

  const line = await ecli.waitForLine((l) => l.includes(`BPF triggered from PID ${writer.pid}.`));
  assert.match(line, /bpf_trace_printk: BPF triggered from PID/);
  await sleep(SETTLE_MS);
  assert.deepEqual(
    ecli.lines.filter((l) => l.includes(`BPF triggered from PID ${other.pid}.`)),
    [],
    'filtered out by --pid',
  );

  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});

/** Whether /bin/bash exports readline as a dynamic symbol, which the uretprobe needs. */
function bashExportsReadline(): boolean | undefined {
  const nm = spawnSync('nm', ['-D', '--defined-only', '/bin/bash'], { encoding: 'utf8' });
  if (nm.error || nm.status !== 0) return undefined;
  return /^[0-9a-f]+ T readline$/m.test(nm.stdout);
}

test('bashreadline reports a command typed into an interactive bash', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t) || !haveCommands(t, ['script', 'nm'])) return;
  if (bashExportsReadline() !== true) {
    skipUnlessCi(t, '/bin/bash does not export readline as a dynamic symbol');
    return;
  }
  const example = compileExample(t, 'bashreadline');
  const command = `echo typed-${uniqueToken()}`;

  const ecli = await startEcliFor(t, ['run', '-j', example.packagePath]);
  // `script` gives bash a terminal, so it is interactive and reads lines with readline().
  const bash = startHelper(t, 'script', ['-qc', 'bash --norc --noprofile -i', '/dev/null'], {
    stdio: ['pipe', 'ignore', 'inherit'],
    env: { ...process.env, HISTFILE: '/dev/null', TERM: 'dumb' },
  });
  bash.child.stdin!.end(`${command}\nexit\n`);
  assert.equal(await bash.exited, 0);

  const row = JSON.parse(await ecli.waitForLine(jsonLine((r) => r.str === command)));
  assert.ok(Number.isInteger(row.pid) && row.pid > 0, `pid ${row.pid}`);

  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});

/** Where the uprobe example's sections point (see examples/uprobe/README.md). */
const UPROBE_TARGET = '/tmp/ecli-uprobe-target';

test('uprobe reports the arguments and result of each call in the target program', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t) || !haveCommands(t, ['cc'])) return;
  const example = compileExample(t, 'uprobe');
  // Built aside and renamed into place: a target another run is executing is replaced, not rewritten.
  const built = path.join(tempDir(t), 'target');
  const cc = runTool('cc', ['-O0', '-g', '-o', built, path.join(repoRoot, 'examples/uprobe/target.c')]);
  assert.equal(cc.status, 0, cc.stderr);
  renameSync(built, UPROBE_TARGET);

  const ecli = await startEcliFor(t, ['run', '-j', example.packagePath]);
  const target = startHelper(t, UPROBE_TARGET, ['3', '20'], { stdio: ['ignore', 'pipe', 'inherit'] });
  assert.equal(await target.exited, 0);
  assert.equal(target.stdout(), '6\n');

  await ecli.waitForLine(jsonLine((r) => r.pid === target.pid && r.a === 2));
  await sleep(SETTLE_MS);
  const calls = jsonRows(ecli)
    .filter((r) => r.pid === target.pid)
    .map((r) => [r.a, r.b, r.ret, r.comm]);
  assert.deepEqual(calls, [
    [0, 0, 0, 'ecli-uprobe-tar'],
    [1, 2, 3, 'ecli-uprobe-tar'],
    [2, 4, 6, 'ecli-uprobe-tar'],
  ]);

  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});

/** Where the usdt example's section points (see examples/usdt/README.md). */
const USDT_TARGET = '/tmp/ecli-usdt-target';

test('usdt reports each firing of a USDT probe in a test binary built with <sys/sdt.h>, with its arguments', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t) || !haveCommands(t, ['cc'])) return;
  const example = compileExample(t, 'usdt');
  const built = path.join(tempDir(t), 'target');
  const cc = runTool('cc', ['-O1', '-g', '-o', built, path.join(repoRoot, 'examples/usdt/target.c')]);
  assert.equal(cc.status, 0, cc.stderr);
  renameSync(built, USDT_TARGET);

  const ecli = await startEcliFor(t, ['run', '-j', '--time', 'none', example.packagePath]);
  const target = startHelper(t, USDT_TARGET, ['3', '20'], { stdio: ['ignore', 'pipe', 'inherit'] });
  assert.equal(await target.exited, 0);
  assert.equal(target.stdout(), '6000\n');

  await ecli.waitForLine(jsonLine((r) => r.pid === target.pid && r.id === 2));
  await sleep(SETTLE_MS);
  assert.deepEqual(
    jsonRows(ecli).filter((r) => r.pid === target.pid),
    [0, 1, 2].map((id) => ({ pid: target.pid, id, size: 1000 * (id + 1), path: `/request/${id}`, comm: 'ecli-usdt-targe' })),
  );
  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});
