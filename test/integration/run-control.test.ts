/**
 * Runs that stop by themselves: `--count N` after N events (or N sampled intervals), `--duration`
 * after a time, and a stdout whose reader goes away (`| head -1`) while the tracepoint is quiet.
 * Each exits 0 with everything detached and prints the one-line summary on stderr.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { assertGoneWithin, startEcliFor } from '../helpers/ecli-checks.js';
import { loadedPrograms, programIdsHeldBy, type RunningEcli } from '../helpers/ecli-process.js';
import { fixturesDir, haveRoot } from '../helpers/env.js';
import { haveToolchain, jsonRows, startHelper } from '../helpers/examples.js';
import { compileGetppidCalls } from '../helpers/getppid-calls.js';

const SUMMARY = /\necli: printed (\d+) (events?|intervals?) in (\d+\.\d{3}) s; (\d+) lost, (\d+) malformed, (\d+) dropped\n$/;

function summaryOf(ecli: RunningEcli): { count: number; unit: string; seconds: number; lost: number; malformed: number; dropped: number } {
  const match = SUMMARY.exec(ecli.stderr()) ?? assert.fail(`no exit summary as the last stderr line:\n${ecli.stderr()}`);
  const [, count, unit, seconds, lost, malformed, dropped] = match;
  return { count: Number(count), unit: unit!, seconds: Number(seconds), lost: Number(lost), malformed: Number(malformed), dropped: Number(dropped) };
}

/** Waits for ecli to exit by itself with status 0, then checks that the programs it held are unloaded. */
async function exitsCleanly(ecli: RunningEcli, ours: number[], timeoutMs = 10_000): Promise<void> {
  assert.equal(await ecli.exited(timeoutMs), 0, ecli.stderr());
  assert.doesNotMatch(ecli.stderr(), /error|warning/i);
  await assertGoneWithin(() => loadedPrograms().filter((p) => ours.includes(p.id)), 3000, 'programs still loaded after ecli exited');
}

function heldPrograms(ecli: RunningEcli): number[] {
  const ours = programIdsHeldBy(ecli.child.pid!);
  assert.notDeepEqual(ours, [], `ecli holds no program\n${ecli.stderr()}`);
  return ours;
}

/** A process that never calls getppid, so the package prints nothing for it. */
function quietPid(t: TestContext): number {
  return startHelper(t, 'sleep', ['300'], { stdio: 'ignore' }).pid;
}

test('--count 5 prints exactly five events of a busy process, then detaches and exits 0', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const packagePath = compileGetppidCalls(t);
  const busy = startHelper(t, process.execPath, ['-e', 'for (;;) process.ppid;'], { stdio: 'ignore' });
  const ecli = await startEcliFor(t, ['run', '-j', '--time', 'none', '--count', '5', packagePath, '--pid', String(busy.pid)]);
  const ours = ecli.child.exitCode === null ? heldPrograms(ecli) : [];
  await exitsCleanly(ecli, ours);
  const rows = jsonRows(ecli);
  assert.equal(rows.length, 5, ecli.lines.join('\n'));
  assert.ok(rows.every((row) => row['pid'] === busy.pid));
  const summary = summaryOf(ecli);
  assert.deepEqual([summary.count, summary.unit, summary.lost, summary.malformed, summary.dropped], [5, 'events', 0, 0, 0]);
});

test('--duration 1500ms stops a quiet run after 1.5 s: exit 0, detached, 0 events in the summary', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const packagePath = compileGetppidCalls(t);
  const ecli = await startEcliFor(t, ['run', '--duration', '1500ms', packagePath, '--pid', String(quietPid(t))]);
  const started = Date.now();
  const ours = heldPrograms(ecli);
  await exitsCleanly(ecli, ours);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 1400 && elapsed < 4000, `exited ${elapsed} ms after attaching`);
  const summary = summaryOf(ecli);
  assert.equal(summary.count, 0);
  assert.ok(summary.seconds >= 1.5 && summary.seconds < 1.6, `summary says ${summary.seconds} s`);
  assert.deepEqual(ecli.lines, ['TIME     PID      SEQ    ']);
});

test('stdout read by `head -1` on a quiet tracepoint: within 1 s of head exiting, everything is detached and ecli exits 0', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const packagePath = compileGetppidCalls(t);
  const ecli = await startEcliFor(t, ['run', packagePath, '--pid', String(quietPid(t))]);
  const ours = heldPrograms(ecli);
  assert.equal(await ecli.waitForLine(() => true), 'TIME     PID      SEQ    ');
  // What `head -1` does after its line: close the pipe's only read end and exit. Nothing more
  // is printed (the process filtered on never calls getppid), so no write meets EPIPE.
  const closed = Date.now();
  ecli.child.stdout!.destroy();
  assert.equal(await ecli.exited(5000), 0, ecli.stderr());
  const exitedAfter = Date.now() - closed;
  assert.ok(exitedAfter < 1000, `ecli exited ${exitedAfter} ms after its reader went away`);
  assert.doesNotMatch(ecli.stderr(), /error|EPIPE|warning/i);
  await assertGoneWithin(() => loadedPrograms().filter((p) => ours.includes(p.id)), 3000, 'programs still loaded after ecli exited');
  assert.equal(summaryOf(ecli).count, 0);
});

test('--count 2 on a package printing a sampled map counts intervals (runqlat fixture, 1 s interval)', async (t) => {
  if (!haveRoot(t)) return;
  const ecli = await startEcliFor(t, ['run', '--count', '2', join(fixturesDir, 'runqlat.json')]);
  const ours = ecli.child.exitCode === null ? heldPrograms(ecli) : [];
  const started = Date.now();
  await exitsCleanly(ecli, ours);
  // The first interval is read one interval after attaching, the second one interval later.
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 1800 && elapsed < 5000, `exited ${elapsed} ms after attaching`);
  const summary = summaryOf(ecli);
  assert.deepEqual([summary.count, summary.unit], [2, 'intervals']);
});

test('--count 1 on runqlat: its one histogram comes after one interval, with what the kernel counted meanwhile, not empty at once (#28.2)', async (t) => {
  if (!haveRoot(t)) return;
  const ecli = await startEcliFor(t, ['run', '--count', '1', join(fixturesDir, 'runqlat.json')]);
  const ours = ecli.child.exitCode === null ? heldPrograms(ecli) : [];
  const started = Date.now();
  await exitsCleanly(ecli, ours);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 800, `exited ${elapsed} ms after attaching: the interval was read at once`);
  // Only an interval with entries prints its time line; the machine schedules all the time.
  assert.ok(
    ecli.lines.some((line) => /^\d\d:\d\d:\d\d$/.test(line)),
    ecli.lines.join('\n'),
  );
  assert.ok(
    ecli.lines.some((line) => /^\s+\d+ -> \d+\s+: [1-9]/.test(line)),
    ecli.lines.join('\n'),
  );
});

test('Ctrl-C before the first interval is over prints the partial interval of runqlat, as runqlat does', async (t) => {
  if (!haveRoot(t)) return;
  const ecli = await startEcliFor(t, ['run', join(fixturesDir, 'runqlat.json')]);
  const ours = heldPrograms(ecli);
  await new Promise((resolve) => setTimeout(resolve, 400));
  assert.equal(await ecli.stop('SIGINT'), 0, ecli.stderr());
  await assertGoneWithin(() => loadedPrograms().filter((p) => ours.includes(p.id)), 3000, 'programs still loaded after ecli exited');
  assert.ok(
    ecli.lines.some((line) => /^\s+\d+ -> \d+\s+: [1-9]/.test(line)),
    ecli.lines.join('\n'),
  );
  const summary = summaryOf(ecli);
  assert.deepEqual([summary.count, summary.unit], [1, 'interval']);
  assert.ok(summary.seconds < 1, `stopped after ${summary.seconds} s, before the first full interval`);
});

test('a bad --count or --duration is a usage error (exit 2) before the package is read', async (t) => {
  for (const [flag, value, message] of [
    ['--count', '0', /--count "0" is not a positive whole number/],
    ['--duration', '10x', /--duration "10x" is not a duration/],
  ] as const) {
    const ecli = await startEcliFor(t, ['run', flag, value, '/nonexistent/package.json']);
    assert.equal(await ecli.exited(), 2, ecli.stderr());
    assert.match(ecli.stderr(), message);
  }
});

test('--sort -u32 --top 3 on runqlat per process: each interval shows at most three histograms, pids descending', async (t) => {
  if (!haveRoot(t)) return;
  const ecli = await startEcliFor(t, ['run', '--count', '2', '--sort', '-u32', '--top', '3', join(fixturesDir, 'runqlat.json'), '--targ_per_process']);
  const ours = heldPrograms(ecli);
  await exitsCleanly(ecli, ours);
  // Each interval starts with its time line; its histograms follow, each after its key line.
  const intervals: number[][] = [];
  for (const line of ecli.lines) {
    if (/^\d\d:\d\d:\d\d$/.test(line)) intervals.push([]);
    else if (line.startsWith('key =  ')) intervals.at(-1)!.push(Number(line.slice('key =  '.length)));
  }
  // An empty interval prints nothing, not even its time.
  assert.ok(intervals.length >= 1 && intervals.length <= 2, ecli.lines.join('\n'));
  for (const keys of intervals) {
    assert.ok(keys.length > 0 && keys.length <= 3, ecli.lines.join('\n'));
    assert.deepEqual(
      keys,
      [...keys].sort((x, y) => y - x),
    );
  }
});

test('--sort on a package that prints events is a usage error (exit 2), with nothing loaded', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const packagePath = compileGetppidCalls(t);
  const ecli = await startEcliFor(t, ['run', '--sort', 'pid', packagePath]);
  assert.equal(await ecli.exited(), 2, ecli.stderr());
  assert.match(ecli.stderr(), /--sort and --top order the entries of sampled maps; the events of map rb are printed as they arrive/);
});
