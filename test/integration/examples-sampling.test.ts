/**
 * The examples whose output is a sampled map (raw_tp, tp_btf, perf_event programs), compiled by
 * ./ecc and run by ./ecli: histograms and key/value rows printed every second.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { haveRoot } from '../helpers/env.js';
import { startEcliFor, stopAndCheckUnloaded } from '../helpers/ecli-checks.js';
import { compileExample, haveToolchain, jsonLine, jsonRows, startHelper } from '../helpers/examples.js';

/** A log2 histogram heading and row as the runner prints them (unit `usecs`). */
const HEADING = /^ +usecs +: count {4}distribution$/;
const HIST_ROW = /^ +\d+ -> \d+ +: \d+ +\|\** *\|$/;

/** A node process that wakes up on a 1 ms timer for `ms`, then exits. */
function wakeupScript(ms: number): string {
  return `const end = Date.now() + ${ms}; const tick = () => { if (Date.now() < end) setTimeout(tick, 1); }; tick();`;
}

/** A node process that keeps a CPU busy for `ms`, then exits. */
function busyScript(ms: number): string {
  return `const end = Date.now() + ${ms}; while (Date.now() < end);`;
}

/**
 * The first complete log2 block that starts with `keyLine`: the key line, the other value
 * members, a blank line, the heading and the rows; empty until its closing blank line arrived.
 */
function blockAfter(lines: string[], keyLine: string): string[] {
  const start = lines.indexOf(keyLine);
  if (start < 0) return [];
  const heading = lines.findIndex((l, i) => i > start && (HEADING.test(l) || l.startsWith('key = ')));
  if (heading < 0 || !HEADING.test(lines[heading]!)) return [];
  const end = lines.findIndex((l, i) => i > heading && l === '');
  return end < 0 ? [] : lines.slice(start, end);
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

test('runqlat prints a log2 histogram of run-queue latency for all tasks', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const example = compileExample(t, 'runqlat');
  const ecli = await startEcliFor(t, ['run', example.packagePath]);
  const busy = startHelper(t, process.execPath, ['-e', wakeupScript(1200)], { stdio: 'ignore' });
  assert.equal(await busy.exited, 0);
  // The all-tasks histogram is the map's only entry, keyed -1 with an empty comm: after the
  // interval's time line, neither a key line nor a comm line.
  const timeLine = await ecli.waitForLine((l) => /^\d\d:\d\d:\d\d$/.test(l), 5000);
  await ecli.waitForLine(() => blockAfter(ecli.lines, timeLine).length > 0, 5000);

  const block = blockAfter(ecli.lines, timeLine);
  assert.equal(block[1], '', 'no key or comm line for the all-tasks histogram');
  assert.ok(!ecli.lines.some((l) => l.startsWith('key = ') || l.startsWith('comm = ')), ecli.lines.join('\n'));
  const rows = block.slice(block.findIndex((l) => HEADING.test(l)) + 1);
  assert.ok(rows.length > 0 && rows.every((r) => HIST_ROW.test(r)), `histogram rows:\n${rows.join('\n')}`);
  assert.ok(
    rows.some((r) => /: [1-9]\d* +\|/.test(r)),
    'some slot counted a wakeup',
  );

  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});

test('runqlat -j --targ_per_process keys the histograms by process id', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const example = compileExample(t, 'runqlat');
  const ecli = await startEcliFor(t, ['run', '-j', example.packagePath, '--targ_per_process']);
  const busy = startHelper(t, process.execPath, ['-e', wakeupScript(1200)], { stdio: 'ignore' });
  assert.equal(await busy.exited, 0);

  const row = JSON.parse(
    await ecli.waitForLine(
      jsonLine((r) => (r.key as { u32?: number }).u32 === busy.pid),
      5000,
    ),
  );
  assert.deepEqual(Object.keys(row), ['buckets', 'key', 'timestamp', 'unit', 'value']);
  assert.equal(row.unit, 'usecs');
  assert.deepEqual(
    row.buckets.map((b: { count: number }) => b.count),
    row.value.slots,
  );
  assert.equal(row.value.comm, 'node');
  assert.equal(row.value.slots.length, 26);
  assert.ok(sum(row.value.slots) > 0, 'the process was woken up');
  assert.deepEqual(
    jsonRows(ecli).filter((r) => (r.key as { u32?: number }).u32 === 4294967295),
    [],
    'no all-tasks key in per-process mode',
  );

  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});

/** Whole-disk block devices that can be read directly (reading them makes the disk interrupt). */
function blockDevices(): string[] {
  return readdirSync('/sys/block')
    .filter((name) => !/^(loop|ram|zram|dm-|sr|md)/.test(name))
    .filter((name) => Number(readFileSync(`/sys/block/${name}/size`, 'utf8')) > 0)
    .map((name) => `/dev/${name}`)
    .filter((dev) => existsSync(dev));
}

/** Reads a few blocks of each disk with O_DIRECT, past the page cache, so the disk raises interrupts. */
function readDisksDirectly(): void {
  for (const device of blockDevices()) {
    for (let i = 0; i < 8; i++) {
      spawnSync('dd', [`if=${device}`, 'of=/dev/null', 'bs=4096', 'count=4', 'iflag=direct', `skip=${Math.floor(Math.random() * 4096)}`], {
        stdio: 'ignore',
      });
    }
  }
}

test('hardirqs prints a histogram with a count per interrupt handler', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const example = compileExample(t, 'hardirqs');
  const ecli = await startEcliFor(t, ['run', example.packagePath]);
  readDisksDirectly();

  const keyLine = await ecli.waitForLine((l) => l.startsWith('key =  '), 5000);
  await ecli.waitForLine(() => blockAfter(ecli.lines, keyLine).length > 0, 5000);
  const block = blockAfter(ecli.lines, keyLine);
  const handler = keyLine.slice('key =  '.length);
  assert.ok(handler !== '' && readFileSync('/proc/interrupts', 'utf8').includes(handler), `"${handler}" is a handler in /proc/interrupts`);
  const count = /^count = (\d+)$/.exec(block[1] ?? '');
  assert.ok(count && Number(count[1]) > 0, `count line: ${block[1]}`);
  const rows = block.slice(block.findIndex((l) => HEADING.test(l)) + 1);
  assert.ok(rows.length > 0 && rows.every((r) => HIST_ROW.test(r)), `histogram rows:\n${rows.join('\n')}`);

  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});

test('hardirqs -j names the struct key column after its member (the reference: "") and counts every histogram entry', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const example = compileExample(t, 'hardirqs');
  const ecli = await startEcliFor(t, ['run', '-j', example.packagePath]);
  readDisksDirectly();

  const row = JSON.parse(
    await ecli.waitForLine(
      jsonLine(() => true),
      5000,
    ),
  );
  assert.deepEqual(Object.keys(row.key), ['name']);
  assert.ok(readFileSync('/proc/interrupts', 'utf8').includes(row.key.name), `"${row.key.name}" is a handler in /proc/interrupts`);
  assert.deepEqual(Object.keys(row.value), ['count', 'slots']);
  assert.equal(row.value.slots.length, 20);
  // The program bumps count, then a slot; a sample can land in between on other CPUs.
  const counted = sum(row.value.slots);
  assert.ok(counted <= row.value.count && row.value.count - counted <= 64, `count ${row.value.count}, slots sum ${counted}`);

  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});

test('perf_event -j counts cpu-clock samples of a busy process', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const example = compileExample(t, 'perf_event');
  const ecli = await startEcliFor(t, ['run', '-j', example.packagePath]);
  const busy = startHelper(t, process.execPath, ['-e', busyScript(1500)], { stdio: 'ignore' });
  assert.equal(await busy.exited, 0);

  // 49 Hz for 1.5 s is about 70 samples; a loaded machine gives fewer.
  const row = JSON.parse(
    await ecli.waitForLine(
      jsonLine((r) => (r.key as { __u32?: number }).__u32 === busy.pid && (r.value as { count: number }).count >= 20),
      5000,
    ),
  );
  assert.equal(row.value.comm, 'node');
  assert.deepEqual(
    jsonRows(ecli).filter((r) => (r.key as { __u32?: number }).__u32 === 0),
    [],
    'the idle task is left out without --include_idle',
  );

  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});

test('perf_event prints default_kv rows as columns in plain mode', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const example = compileExample(t, 'perf_event');
  const ecli = await startEcliFor(t, ['run', example.packagePath]);
  assert.equal(ecli.lines[0] ?? (await ecli.waitForLine(() => true)), 'TIME     KEY      COUNT        COMM   ');
  const busy = startHelper(t, process.execPath, ['-e', busyScript(1000)], { stdio: 'ignore' });
  assert.equal(await busy.exited, 0);

  // The key and value members as columns, under the header: time, pid, count, comm.
  const row = await ecli.waitForLine((l) => new RegExp(`^\\d\\d:\\d\\d:\\d\\d +${busy.pid} +[1-9]\\d* +node$`).test(l), 5000);
  assert.ok(row.length > 0);

  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});
