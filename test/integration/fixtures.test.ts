/**
 * The packages the reference ecc wrote (test/fixtures/ecc) run here unchanged and show
 * what its README says a correct runner shows. Events are system-wide, so every check matches
 * rows by a pid spawned here; XDP and TC run in a network namespace of their own.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jsonOf, parsePlainRow, startEcliFor, stopAndCheckUnloaded } from '../helpers/ecli-checks.js';
import { ecliPath, runTool, type RunningEcli } from '../helpers/ecli-process.js';
import { fixturesDir, haveRoot } from '../helpers/env.js';

const fixture = (name: string): string => path.join(fixturesDir, name);

function ready(t: TestContext): boolean {
  return haveRoot(t);
}

interface Spawned {
  pid: number;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
}

function spawnProcess(command: string, args: string[], options: { cwd?: string } = {}): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'ignore', ...options });
    const exited = new Promise<void>((done) => child.on('exit', () => done()));
    child.on('error', reject);
    child.on('spawn', () => resolve({ pid: child.pid!, exited }));
  });
}

/** A fresh temp directory, removed after the test. */
function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function isSortedKeys(object: Record<string, unknown>): boolean {
  const keys = Object.keys(object);
  return keys.every((key, i) => i === 0 || keys[i - 1]! < key);
}

// bootstrap never writes `et` (its object has no store at the field's offset 168), so the
// field holds the ring buffer's zeroed memory: EVENT_TYPE__ENTER(0), printed through the enum.
const ENTER = 'EVENT_TYPE__ENTER(0)';

test('bootstrap -j: an exec row and an exit row for a spawned sh, keys sorted', async (t) => {
  if (!ready(t)) return;
  const running = await startEcliFor(t, ['run', '-j', fixture('bootstrap.json')]);
  const sh = await spawnProcess('/bin/sh', ['-c', 'exit 7'], { cwd: tempDir(t, 'bootstrap-cwd-') });
  const exec = jsonOf(await running.waitForLine((l) => jsonOf(l)?.pid === sh.pid && jsonOf(l)?.exit_event === false))!;
  assert.deepEqual(exec, {
    comm: 'sh',
    duration_ns: 0,
    et: ENTER,
    exit_code: 0,
    exit_event: false,
    filename: '/bin/sh',
    pid: sh.pid,
    ppid: process.pid,
  });
  const exit = jsonOf(await running.waitForLine((l) => jsonOf(l)?.pid === sh.pid && jsonOf(l)?.exit_event === true))!;
  const { duration_ns: duration, ...rest } = exit;
  assert.deepEqual(rest, { comm: 'sh', et: ENTER, exit_code: 7, exit_event: true, filename: '', pid: sh.pid, ppid: process.pid });
  assert.ok(typeof duration === 'number' && duration > 0 && duration < 10e9, `duration_ns ${String(duration)}`);

  for (const line of running.lines) {
    const object = jsonOf(line);
    assert.ok(object && isSortedKeys(object), `not a JSON object with sorted keys: ${line}`);
    assert.match(String(object.et), /^(EVENT_TYPE__ENTER\(0\)|EVENT_TYPE__EXIT\(1\)|<UNKNOWN_VARIANT>\(-?\d+\))$/);
  }
  assert.equal((await stopAndCheckUnloaded(running)).length, 2);
});

test('bootstrap plain text: the header and aligned rows for exec and exit', async (t) => {
  if (!ready(t)) return;
  const header = 'TIME     PID    PPID   EXIT_CODE DURATION_NS COMM   FILENAME EXIT_EVENT ET     ';
  // The reference's fixed offsets: a long duration would otherwise widen the columns and repeat the header.
  const running = await startEcliFor(t, ['run', '--no-widen', fixture('bootstrap.json')]);
  assert.equal(await running.waitForLine(() => true), header);
  const sh = await spawnProcess('/bin/sh', ['-c', 'exit 3']);
  const ofSh = (line: string): boolean => line.split(/ +/)[1] === String(sh.pid);
  const exec = parsePlainRow(header, await running.waitForLine((l) => ofSh(l) && l.includes('/bin/sh')));
  assert.match(exec.time, /^\d\d:\d\d:\d\d$/);
  assert.deepEqual(exec.values, {
    PID: String(sh.pid),
    PPID: String(process.pid),
    EXIT_CODE: '0',
    DURATION_NS: '0',
    COMM: 'sh',
    FILENAME: '/bin/sh',
    EXIT_EVENT: 'false',
    ET: ENTER,
  });
  const exit = parsePlainRow(header, await running.waitForLine((l) => ofSh(l) && l.includes(' true ')));
  assert.deepEqual(
    { ...exit.values, DURATION_NS: 'n' },
    {
      PID: String(sh.pid),
      PPID: String(process.pid),
      EXIT_CODE: '3',
      DURATION_NS: 'n',
      COMM: 'sh',
      FILENAME: '',
      EXIT_EVENT: 'true',
      ET: ENTER,
    },
  );
  assert.match(exit.values.DURATION_NS!, /^[1-9]\d*$/);
  await stopAndCheckUnloaded(running);
});

test('bootstrap --min_duration_ns 100ms: a quick exit is filtered, a 0.3 s sleep is shown', async (t) => {
  if (!ready(t)) return;
  const running = await startEcliFor(t, ['run', '-j', fixture('bootstrap.json'), '--min_duration_ns', '100000000']);
  const quick = await spawnProcess('/bin/true', []);
  await quick.exited;
  const slow = await spawnProcess('/bin/sleep', ['0.3']);
  const exit = jsonOf(await running.waitForLine((l) => jsonOf(l)?.pid === slow.pid))!;
  assert.equal(exit.exit_event, true, 'with a minimum duration the program reports exits only');
  assert.ok(typeof exit.duration_ns === 'number' && exit.duration_ns >= 100e6 && exit.duration_ns < 10e9, `duration_ns ${String(exit.duration_ns)}`);
  // Ring buffer records arrive in order: the quick process's exit would already be here.
  assert.deepEqual(
    running.lines.filter((l) => jsonOf(l)?.pid === quick.pid),
    [],
  );
  assert.deepEqual(running.lines.filter((l) => jsonOf(l)?.pid === slow.pid).length, 1);
  await stopAndCheckUnloaded(running);
});

const HIST_HEADING = '     (unit)              : count    distribution';

/**
 * Where the first histogram block printed for `key` starts: its key line, or for the map's only
 * entry with a placeholder key (undefined), the interval's time line.
 */
function blockStart(lines: string[], key: string | undefined): number {
  return key === undefined ? lines.findIndex((l) => /^\d\d:\d\d:\d\d$/.test(l)) : lines.indexOf(`key =  ${key}`);
}

/** The rows of the first complete histogram block printed for `key`, once it is complete. */
function histogramRows(lines: string[], key: string | undefined): string[] | undefined {
  const start = blockStart(lines, key);
  if (start < 0) return undefined;
  // The comm line is left out when comm is empty.
  const heading = lines.indexOf(HIST_HEADING, start);
  const end = heading < 0 ? -1 : lines.indexOf('', heading);
  return end < 0 ? undefined : lines.slice(heading + 1, end);
}

/** Checks a block against bcc's log2 layout: bounds, widths and a 40-column bar. */
function checkHistogram(lines: string[], key: string | undefined): void {
  const start = blockStart(lines, key);
  const blank = lines[start + 1]?.startsWith('comm = ') ? start + 2 : start + 1;
  if (key !== undefined) assert.match(lines[start + 1]!, /^comm = /, 'the non-slots member of struct hist');
  assert.equal(lines[blank], '', 'a blank line ends the key part');
  assert.equal(lines[blank + 1], HIST_HEADING);
  const rows = histogramRows(lines, key)!;
  assert.ok(rows.length > 0, 'at least one slot');
  const counts = rows.map((row) => Number(/ : (\d+) +\|/.exec(row)?.[1] ?? NaN));
  const max = Math.max(...counts);
  assert.ok(counts.at(-1)! > 0, 'rows stop at the last non-empty slot');
  rows.forEach((row, i) => {
    const low = i === 0 ? 0 : 2 ** i;
    const bar = '*'.repeat(Math.floor((counts[i]! * 40) / max)).padEnd(40);
    assert.equal(row, `${String(low).padStart(10)} -> ${String(2 ** (i + 1) - 1).padEnd(10)} : ${String(counts[i]).padEnd(8)} |${bar}|`);
  });
}

test('runqlat: a log2 histogram for the whole system within 2.5 s; its key -1 only in JSON (the only entry)', async (t) => {
  if (!ready(t)) return;
  const json = await startEcliFor(t, ['run', '-j', fixture('runqlat.json')]);
  const line = await json.waitForLine((l) => jsonOf(l) !== undefined, 2500);
  assert.deepEqual(jsonOf(line)!['key'], { u32: 4294967295 });
  await stopAndCheckUnloaded(json);
  const running = await startEcliFor(t, ['run', fixture('runqlat.json')]);
  await running.waitForLine(() => histogramRows(running.lines, undefined) !== undefined, 2500);
  checkHistogram(running.lines, undefined);
  assert.ok(!running.lines.some((l) => l.startsWith('key = ')), running.lines.join('\n'));
  assert.equal((await stopAndCheckUnloaded(running)).length, 3);
});

test('runqlat --targ_per_process: one histogram per process, keyed by pid', async (t) => {
  if (!ready(t)) return;
  const running = await startEcliFor(t, ['run', fixture('runqlat.json'), '--targ_per_process']);
  // ecli itself wakes up to sample every second, so its own pid is among the keys.
  const ecliPid = String(running.child.pid);
  await running.waitForLine(() => histogramRows(running.lines, ecliPid) !== undefined, 4000);
  checkHistogram(running.lines, ecliPid);
  const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  const keys = running.lines.filter((l) => l.startsWith('key = ')).map((l) => Number(l.slice('key =  '.length)));
  for (const key of keys) assert.ok(Number.isInteger(key) && key >= 0 && key <= pidMax, `key ${key} is not a pid`);
  await stopAndCheckUnloaded(running);
});

test('simple_prog_3: the first event after an exec carries the values set on the command line', async (t) => {
  if (!ready(t)) return;
  const options = ['--const_val_1', '305419896', '--const_val_2', '1125899906842624', '--const_val_3', 'aabbccddeeffgg'];
  options.push('--bss_val_1', '305414945', '--bss_val_2', '1152921504606846976', '--bss_val_3', '112233445566');
  const running = await startEcliFor(t, ['run', '-j', '--time', 'none', fixture('simple_prog_3.json'), ...options]);
  await spawnProcess('/bin/true', []);
  // Compared as text: 2^60 does not survive JSON.parse into a double.
  assert.equal(
    await running.waitForLine(() => true),
    '{"val_1":305419896,"val_2":1125899906842624,"val_3":"aabbccddeeffgg","val_4":305414945,"val_5":1152921504606846976,"val_6":"112233445566"}',
  );
  await stopAndCheckUnloaded(running);
});

test('simple_prog_4 --trace-pipe: bpf_printk output "Created 305419896" after execs', async (t) => {
  if (!ready(t)) return;
  const running = await startEcliFor(t, ['run', '--trace-pipe', fixture('simple_prog_4.json')]);
  // Other readers of trace_pipe take lines away from us: keep exec'ing until one arrives.
  let found = false;
  const trigger = (async () => {
    const deadline = Date.now() + 10_000;
    while (!found && Date.now() < deadline) {
      await (
        await spawnProcess('/bin/true', [])
      ).exited;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  try {
    const line = await running.waitForLine((l) => l.includes('Created 305419896'), 10_000);
    assert.match(line, /bpf_trace_printk: Created 305419896$/);
  } finally {
    found = true;
    await trigger;
  }
  await stopAndCheckUnloaded(running);
  // The summary counts the relayed lines (#28.8: it said "printed 0 events").
  const summary = /\necli: printed (\d+) trace pipe lines? in [\d.]+ s; 0 lost, 0 malformed, 0 dropped\n$/.exec(running.stderr());
  assert.ok(summary !== null && Number(summary[1]) >= 1 && Number(summary[1]) <= running.lines.length, running.stderr());
});

/** A network namespace of our own (with lo up), so XDP/TC on ifindex 1 do not meet other tests. */
function netns(t: TestContext): string {
  const name = `ecli-fixture-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const add = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  assert.equal(add.status, 0, `ip netns add: ${add.stderr}`);
  t.after(() => spawnSync('ip', ['netns', 'del', name]));
  assert.equal(spawnSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']).status, 0);
  return name;
}

function show(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  assert.equal(result.status, 0, `${command} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

async function attachedWhileRunning(t: TestContext, name: string, probe: (ns: string) => string, marker: string): Promise<void> {
  const ns = netns(t);
  const running: RunningEcli = await startEcliFor(t, ['run', fixture(name)], { prefix: ['ip', 'netns', 'exec', ns] });
  const before = probe(ns);
  assert.ok(before.includes(marker), `no ${marker} while running:\n${before}`);
  const ids = await stopAndCheckUnloaded(running);
  assert.equal(ids.length, 1);
  assert.match(before, new RegExp(`\\bid ${ids[0]}\\b`), 'the attached program is ours');
  const afterStop = probe(ns);
  assert.ok(!afterStop.includes(marker), `${marker} left after the runner exited:\n${afterStop}`);
}

test('simple_prog_5_xdp: `ip link show lo` shows xdp while running and not after', async (t) => {
  if (!ready(t)) return;
  await attachedWhileRunning(t, 'simple_prog_5_xdp.json', (ns) => show('ip', ['-n', ns, 'link', 'show', 'lo']), 'xdp');
});

test('simple_prog_6_tc: `tc filter show dev lo ingress` shows bpf while running and not after', async (t) => {
  if (!ready(t)) return;
  await attachedWhileRunning(t, 'simple_prog_6_tc.json', (ns) => show('tc', ['-n', ns, 'filter', 'show', 'dev', 'lo', 'ingress']), 'bpf');
});

test('minimal_printk: runs until SIGINT, then exits 0 and unloads', async (t) => {
  if (!ready(t)) return;
  const running = await startEcliFor(t, ['run', fixture('minimal_printk.json')]);
  assert.match(running.stderr(), /simple_bpf: 1 program attached/);
  assert.equal((await stopAndCheckUnloaded(running)).length, 1);
  assert.deepEqual(running.lines, []);
});

test('int128: loads (only a .bss and no program) and exits 0 on SIGINT', async (t) => {
  if (!ready(t)) return;
  const running = await startEcliFor(t, ['run', fixture('int128.json')]);
  assert.match(running.stderr(), /prog_bpf: 0 programs attached/);
  assert.equal(running.child.exitCode, null, 'still running until the signal');
  assert.deepEqual(await stopAndCheckUnloaded(running), []);
  assert.deepEqual(running.lines, []);
});

test('arg_builder_skel (a meta without object) is refused with a one-line package error', () => {
  const result = runTool(ecliPath, ['run', fixture('arg_builder_skel.json')]);
  assert.equal(result.status, 4, 'the PACKAGE_INVALID exit status');
  assert.equal(result.stdout, '');
  const [error, hint, ...rest] = result.stderr.trimEnd().split('\n');
  assert.match(error!, /^ecli: error: .*arg_builder_skel\.json is a package meta .* without its BPF object$/);
  assert.match(hint!, /^hint: /);
  assert.deepEqual(rest, [], 'nothing else (no stack trace)');
});

test('`ecli run <fixture> --help` prints the generated help on stdout and exits 0', () => {
  const runnable = ['bootstrap', 'runqlat', 'simple_prog_3', 'simple_prog_4', 'simple_prog_5_xdp', 'simple_prog_6_tc', 'minimal_printk', 'int128'];
  for (const name of runnable) {
    const file = fixture(`${name}.json`);
    const meta = (JSON.parse(readFileSync(file, 'utf8')) as { meta: { bpf_skel: { obj_name: string; data_sections: { variables: { name: string }[] }[] } } })
      .meta;
    const result = runTool(ecliPath, ['run', file, '--help']);
    assert.equal(result.status, 0, `${name}: ${result.stderr}`);
    assert.equal(result.stderr, '', name);
    assert.ok(result.stdout.includes(`Usage: ${meta.bpf_skel.obj_name} [OPTIONS]`), `${name}:\n${result.stdout}`);
    for (const option of ['--verbose', '-h, --help', '-V, --version']) assert.ok(result.stdout.includes(option), `${name}: ${option}`);
    const variables = meta.bpf_skel.data_sections.flatMap((s) => s.variables).filter((v) => !v.name.startsWith('__eunomia_dummy'));
    for (const { name: variable } of variables) assert.ok(result.stdout.includes(`--${variable}`), `${name}: --${variable}`);
    assert.ok(result.stdout.endsWith('See https://github.com/eunomia-bpf/eunomia-bpf for more information.\n'), name);
  }
});
