/**
 * wasm-bpf guests run by `ecli run module.wasm`: the examples in examples/wasm (execve, bootstrap,
 * runqlat, xdp) and the probe guest of test/wasm-guests, built here with ecc --wasm-skeleton and
 * clang for wasm32-wasi. Events are seen, maps are read, and whichever way a run ends (the
 * guest returns, proc_exit, a trap, a bad pointer, SIGINT, SIGTERM, a guest that ignores the
 * stop) it exits as it should with nothing it loaded left in the kernel.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, rmdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { assertGoneWithin, startEcliFor, stopAndCheckUnloaded, watchProgramNames } from '../helpers/ecli-checks.js';
import { ecliPath, loadedPrograms, programIdsHeldBy, runTool, type RunningEcli } from '../helpers/ecli-process.js';
import { haveRoot } from '../helpers/env.js';
import { haveCommands, sleep, startHelper, uniqueToken } from '../helpers/examples.js';
import { privateNetns, sendUdp } from '../helpers/netns.js';
import { buildGuest, haveWasmToolchain } from '../helpers/wasm-guests.js';

const GUEST_FAULT_EXIT = 16;

function ready(t: TestContext): boolean {
  return haveRoot(t) && haveWasmToolchain(t);
}

/** The ids of the programs a running ecli holds, which must be gone once it exits. */
function held(ecli: RunningEcli): number[] {
  const ours = programIdsHeldBy(ecli.child.pid!);
  assert.notDeepEqual(ours, [], `ecli holds no program\n${ecli.stderr()}`);
  return ours;
}

async function goneAfterExit(ours: readonly number[]): Promise<void> {
  await assertGoneWithin(() => loadedPrograms().filter((p) => ours.includes(p.id)), 3000, 'programs still loaded after ecli exited');
}

/** Spawns `/bin/sh -c 'exit 0' <token>`: an exec whose arguments name this test. */
function execWithToken(token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', 'exit 0', token], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('spawn', () => resolve(child.pid!));
  });
}

test('execve.wasm prints the exec of a process of ours through its ring buffer; SIGINT detaches everything, exit 0', async (t) => {
  if (!ready(t)) return;
  const guest = buildGuest('execve');
  const ecli = await startEcliFor(t, ['run', guest.wasm]);
  assert.match(ecli.stderr(), /ecli: execve: program trace_execve attached\n/);
  const token = `wasm-${uniqueToken()}`;
  const pid = await execWithToken(token);
  const line = await ecli.waitForLine((l) => l.includes(token));
  assert.match(line, new RegExp(`^${pid}\\s+${process.pid}\\s+0\\s+node\\s+/bin/sh -c exit 0 ${token}$`));
  assert.match(ecli.lines[0]!, /^PID\s+PPID\s+UID\s+COMM\s+PROGRAM ARGS$/, 'the header the guest prints first');
  await stopAndCheckUnloaded(ecli, 'SIGINT', guest.programNames);
});

test("a guest whose stdout's reader goes away (ecli run execve.wasm | head -1) is stopped: exit 0, unloaded", async (t) => {
  if (!ready(t)) return;
  const guest = buildGuest('execve');
  const ecli = await startEcliFor(t, ['run', guest.wasm]);
  const ours = held(ecli);
  await ecli.waitForLine(() => true);
  ecli.child.stdout!.destroy();
  assert.equal(await ecli.exited(5000), 0, ecli.stderr());
  await goneAfterExit(ours);
});

test('execve.wasm -n 3 returns by itself after three events: exit 0, and its programs are unloaded', async (t) => {
  if (!ready(t)) return;
  const guest = buildGuest('execve');
  const ecli = await startEcliFor(t, ['run', guest.wasm, '-n', '3']);
  const ours = held(ecli);
  for (let i = 0; i < 3 && ecli.child.exitCode === null; i++) await execWithToken(`wasm-${uniqueToken()}`);
  assert.equal(await ecli.exited(), 0, ecli.stderr());
  assert.equal(ecli.lines.length, 1 + 3, 'the header and three events');
  await goneAfterExit(ours);
});

test('bootstrap.wasm -d 150 sets .rodata before load: only exits of processes that ran 150 ms or more, no execs; SIGTERM detaches', async (t) => {
  if (!ready(t)) return;
  const guest = buildGuest('bootstrap');
  const ecli = await startEcliFor(t, ['run', guest.wasm, '-d', '150']);
  const long = startHelper(t, 'sleep', ['0.4'], { stdio: 'ignore' });
  const short = startHelper(t, 'sleep', ['0.01'], { stdio: 'ignore' });
  await Promise.all([long.exited, short.exited]);
  const exit = await ecli.waitForLine((l) => / EXIT /.test(l) && new RegExp(` ${long.pid} `).test(l));
  const ran = Number(/\((\d+)ms\)$/.exec(exit)?.[1]);
  assert.ok(ran >= 150 && ran < 5000, exit);
  await sleep(300);
  assert.deepEqual(
    ecli.lines.filter((l) => new RegExp(` ${short.pid} `).test(l)),
    [],
    'a 10 ms process is below the minimum set in .rodata',
  );
  assert.deepEqual(
    ecli.lines.filter((l) => / EXEC /.test(l)),
    [],
    'no execs when a minimum duration is set',
  );
  await stopAndCheckUnloaded(ecli, 'SIGTERM', guest.programNames);
});

test('bootstrap.wasm without -d prints the exec and the exit of a process of ours', async (t) => {
  if (!ready(t)) return;
  const guest = buildGuest('bootstrap');
  const ecli = await startEcliFor(t, ['run', guest.wasm]);
  const child = startHelper(t, 'sleep', ['0.05'], { stdio: 'ignore' });
  await ecli.waitForLine((l) => / EXEC /.test(l) && new RegExp(` ${child.pid} +${process.pid} +/usr/bin/sleep$`).test(l));
  await ecli.waitForLine((l) => / EXIT /.test(l) && new RegExp(` ${child.pid} +${process.pid} +\\[0\\]`).test(l));
  await stopAndCheckUnloaded(ecli, 'SIGINT', guest.programNames);
});

test('runqlat.wasm 1 2 reads and clears its hash map every second (map_operate), then returns: exit 0, unloaded', async (t) => {
  if (!ready(t)) return;
  const guest = buildGuest('runqlat');
  // Something to schedule besides the rest of the machine.
  startHelper(t, process.execPath, ['-e', 'setInterval(() => {}, 1)'], { stdio: 'ignore' });
  const ecli = await startEcliFor(t, ['run', guest.wasm, '1', '2']);
  const ours = ecli.child.exitCode === null ? held(ecli) : [];
  assert.equal(await ecli.exited(15_000), 0, ecli.stderr());
  const headers = ecli.lines.filter((l) => /^\s+usecs : count\s+distribution$/.test(l));
  assert.equal(headers.length, 2, ecli.lines.join('\n'));
  const rows = ecli.lines.map((l) => /^\s+(\d+) -> (\d+)\s+: (\d+)\s+\|\**\s*\|$/.exec(l)).filter((m) => m !== null);
  assert.ok(
    rows.some((m) => Number(m[3]) > 0),
    ecli.lines.join('\n'),
  );
  await goneAfterExit(ours);
});

test('xdp.wasm attaches to the interface it names (lo of a private namespace), reads its counters; SIGINT detaches the link', async (t) => {
  if (!ready(t) || !haveCommands(t, ['unshare', 'nsenter', 'ip'])) return;
  const guest = buildGuest('xdp');
  const netns = await privateNetns(t);
  const ecli = await startEcliFor(t, ['run', guest.wasm, 'lo', '200'], { prefix: netns.prefix });
  assert.match(ecli.stderr(), /program xdp_stats attached to lo\n/);
  assert.match(netns.run('ip', ['link', 'show', 'lo']).stdout, /prog\/xdp id \d+ name xdp_stats/);
  sendUdp(netns, { count: 5, payload: 100 });
  // Ethernet, IPv4 and UDP headers around each 100-byte payload.
  await ecli.waitForLine((l) => l === `packets 5 bytes ${5 * (14 + 20 + 8 + 100)}`);
  await stopAndCheckUnloaded(ecli, 'SIGINT', guest.programNames);
  assert.doesNotMatch(netns.run('ip', ['link', 'show', 'lo']).stdout, /xdp/, 'detached at exit');
});

test('xdp.wasm naming no interface, or one that does not exist: attach fails with a reason, the guest exits 1, nothing stays loaded', async (t) => {
  if (!ready(t)) return;
  const guest = buildGuest('xdp');
  const watch = watchProgramNames(guest.programNames);
  const missing = runTool(ecliPath, ['run', guest.wasm, 'no-such-if0']);
  assert.equal(missing.status, 1, missing.stderr);
  assert.match(missing.stderr, /ecli: .*xdp_stats: there is no network interface named no-such-if0\n/);
  assert.match(missing.stderr, /xdp: cannot attach to no-such-if0 \(-19\)/);
  await watch.assertNoneAdded();
});

test('the probe guest: map elements of hash, array and per-CPU maps, fds and names it does not own', async (t) => {
  if (!ready(t)) return;
  const probe = buildGuest('probe');
  const maps = runTool(ecliPath, ['run', probe.wasm, 'maps']);
  assert.equal(maps.status, 0, maps.stdout + maps.stderr);
  assert.equal(maps.stdout, 'maps ok\n');
  const badFd = runTool(ecliPath, ['run', probe.wasm, 'bad-fd']);
  assert.equal(badFd.stdout, 'bad-fd -9\n', 'EBADF for an fd that is not one of its maps');
});

test('the probe guest reads a perf event array; a callback that returns -7 ends the poll with -7', async (t) => {
  if (!ready(t)) return;
  const probe = buildGuest('probe');
  const ecli = await startEcliFor(t, ['run', probe.wasm, 'events']);
  await ecli.waitForLine((l) => l === 'polling');
  const pid = await execWithToken('perf');
  await ecli.waitForLine((l) => l === `exec ${pid} ${process.pid}`);
  await stopAndCheckUnloaded(ecli, 'SIGINT', ['probe_execve']);

  const stopped = await startEcliFor(t, ['run', probe.wasm, 'callback-stop']);
  await stopped.waitForLine((l) => l === 'polling');
  await execWithToken('callback');
  assert.equal(await stopped.exited(), 0, stopped.stderr());
  assert.deepEqual(stopped.lines, ['attached', 'polling', 'poll returned -7']);
});

for (const { mode, call, what } of [
  { mode: 'wild-key', call: 'wasm_bpf_map_operate', what: /the key of map counts \(4 bytes at 0x[0-9a-f]+\) is outside the guest's memory/ },
  { mode: 'percpu-short', call: 'wasm_bpf_map_operate', what: /the value of map percpu \(\d+ bytes at 0x[0-9a-f]+\) is outside the guest's memory/ },
  { mode: 'wild-name', call: 'wasm_attach_bpf_program', what: /the program name at 0x[0-9a-f]+ has no NUL before the end of the guest's memory/ },
  { mode: 'wild-object', call: 'wasm_load_bpf_object', what: /the object \(1000 bytes at 0x[0-9a-f]+\) is outside the guest's memory/ },
  { mode: 'wild-buffer', call: 'wasm_bpf_buffer_poll', what: /the record buffer \(4096 bytes at 0x[0-9a-f]+\) is outside the guest's memory/ },
  { mode: 'wild-callback', call: 'wasm_bpf_buffer_poll', what: /sample_func 1073741824 is not a function of the guest's table/ },
]) {
  test(`a guest passing ${mode.replace('-', ' ')} is stopped with one line naming ${call} (exit ${GUEST_FAULT_EXIT}), nothing left loaded`, async (t) => {
    if (!ready(t)) return;
    const probe = buildGuest('probe');
    const watch = watchProgramNames(probe.programNames);
    const run = runTool(ecliPath, ['run', probe.wasm, mode]);
    assert.equal(run.status, GUEST_FAULT_EXIT, run.stderr);
    const error = run.stderr.split('\n').find((l) => l.startsWith('ecli: error: '));
    assert.ok(error?.startsWith(`ecli: error: ${call}: `), run.stderr);
    assert.match(error ?? '', what);
    assert.match(run.stderr, /\nhint: .*faulty/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    await watch.assertNoneAdded();
  });
}

test('a guest that traps after attaching: one line with the trap and the guest function (exit 16), everything detached', async (t) => {
  if (!ready(t)) return;
  const probe = buildGuest('probe');
  const watch = watchProgramNames(probe.programNames);
  const run = runTool(ecliPath, ['run', probe.wasm, 'trap']);
  assert.equal(run.status, GUEST_FAULT_EXIT, run.stderr);
  assert.match(run.stderr, /ecli: error: \S+probe\.wasm trapped: unreachable in \S*main \(wasm-function\[\d+\]:0x[0-9a-f]+\)\n/);
  await watch.assertNoneAdded();
});

test("proc_exit's status and main's return value are ecli's; the objects the guest left loaded are closed", async (t) => {
  if (!ready(t)) return;
  const probe = buildGuest('probe');
  const watch = watchProgramNames(probe.programNames);
  assert.equal(runTool(ecliPath, ['run', probe.wasm, 'exit', '7']).status, 7);
  assert.equal(runTool(ecliPath, ['run', probe.wasm, 'return', '5']).status, 5);
  assert.equal(runTool(ecliPath, ['run', probe.wasm, 'exit', '-1']).status, 255, 'a byte, as with a native program');
  await watch.assertNoneAdded();
});

test('a guest asleep in poll_oneoff stops at once on SIGTERM; one spinning without host calls is terminated after the grace period', async (t) => {
  if (!ready(t)) return;
  const probe = buildGuest('probe');
  const sleeping = await startEcliFor(t, ['run', probe.wasm, 'sleep']);
  let started = Date.now();
  await stopAndCheckUnloaded(sleeping, 'SIGTERM', ['probe_execve']);
  assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);

  const spinning = await startEcliFor(t, ['run', probe.wasm, 'spin']);
  started = Date.now();
  await stopAndCheckUnloaded(spinning, 'SIGINT', ['probe_execve']);
  assert.match(spinning.stderr(), /ecli: the guest did not stop within 2 s; terminating it\n/);
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
});

test('--duration stops a guest, exit 0, detached', async (t) => {
  if (!ready(t)) return;
  const probe = buildGuest('probe');
  const ecli = await startEcliFor(t, ['run', '--duration', '700ms', probe.wasm, 'events']);
  const ours = held(ecli);
  assert.equal(await ecli.exited(), 0, ecli.stderr());
  await goneAfterExit(ours);
});

test('a sockops program attached to the cgroup the guest names counts the connections made in it', async (t) => {
  if (!ready(t)) return;
  const probe = buildGuest('probe');
  const root = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find((dir) => runTool('stat', ['-f', '-c', '%T', dir]).stdout.trim() === 'cgroup2fs');
  assert.ok(root !== undefined, 'no cgroup v2 hierarchy');
  const cgroup = path.join(root, `ecli-wasm-${uniqueToken()}`);
  mkdirSync(cgroup);
  t.after(() => rmdirSync(cgroup));
  const server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const { port } = server.address() as { port: number };

  const ecli = await startEcliFor(t, ['run', probe.wasm, 'sockops', cgroup]);
  assert.match(ecli.stderr(), new RegExp(`program probe_sockops attached to ${cgroup}\\n`));
  // A client inside the cgroup: it moves itself there, then connects.
  const client = startHelper(
    t,
    process.execPath,
    [
      '-e',
      `require('fs').writeFileSync(${JSON.stringify(path.join(cgroup, 'cgroup.procs'))}, String(process.pid)); require('net').connect(${port}, '127.0.0.1').on('close', () => process.exit(0));`,
    ],
    { stdio: 'ignore' },
  );
  assert.equal(await client.exited, 0);
  await ecli.waitForLine((l) => /^sockops [1-9]\d*$/.test(l));
  await stopAndCheckUnloaded(ecli, 'SIGINT', ['probe_sockops']);
});
