/**
 * Stop always stops: ecli's stdout is a FIFO whose reader never reads, while a busy process
 * produces events. SIGTERM detaches everything and exits 0 after the output grace period; a
 * second signal ends the wait at once; either way the lines stdout never took are reported.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { OUTPUT_GRACE_MS } from '../../src/runner/print.js';
import { assertGoneWithin, startEcliFor, stopAndCheckUnloaded } from '../helpers/ecli-checks.js';
import { loadedPrograms, programIdsHeldBy, runTool, type RunningEcli } from '../helpers/ecli-process.js';
import { compileGetppidCalls, GETPPID_PROGRAM } from '../helpers/getppid-calls.js';
import { haveRoot } from '../helpers/env.js';
import { haveCommands, haveToolchain, sleep, startHelper, tempDir } from '../helpers/examples.js';

const DROPPED =
  /\necli: dropped (\d+) lines because stdout could not keep up \((\d+) of them still waiting for stdout when ecli stopped\)\necli: printed (\d+) events in [\d.]+ s; 0 lost, 0 malformed, (\d+) dropped\n$/;

/** ecli running the getppid counter for a busy process, its stdout a FIFO nobody reads. */
async function stalledRun(t: TestContext): Promise<RunningEcli> {
  const dir = tempDir(t, 'ecli-stalled-');
  const packagePath = compileGetppidCalls(t);
  const fifo = join(dir, 'stdout');
  assert.equal(runTool('mkfifo', [fifo]).status, 0);
  // Holds the FIFO open for reading and never reads it.
  startHelper(t, 'sh', ['-c', `exec sleep 300 < '${fifo}'`], { stdio: 'ignore' });
  const stdoutFd = openSync(fifo, 'w');
  t.after(() => closeSync(stdoutFd));
  const busy = startHelper(t, process.execPath, ['-e', 'for (;;) process.ppid;'], { stdio: 'ignore' });
  const ecli = await startEcliFor(t, ['run', '-j', packagePath, '--pid', String(busy.pid)], { stdoutFd });
  await sleep(1500); // the FIFO (64 KiB) fills within milliseconds; then output queues in ecli
  return ecli;
}

function ready(t: TestContext): boolean {
  return haveRoot(t) && haveToolchain(t) && haveCommands(t, ['mkfifo', 'sh', 'sleep']);
}

test('SIGTERM with a stalled stdout: detached, exit 0 after the grace period, the unwritten lines reported', async (t) => {
  if (!ready(t)) return;
  const ecli = await stalledRun(t);
  await stopAndCheckUnloaded(ecli, 'SIGTERM', [GETPPID_PROGRAM]);
  const [, dropped, waiting, , summarized] = DROPPED.exec(ecli.stderr()) ?? assert.fail(`no dropped-lines notice and summary:\n${ecli.stderr()}`);
  assert.ok(Number(waiting) > 0 && Number(dropped) >= Number(waiting), ecli.stderr());
  assert.equal(summarized, dropped, 'the exit summary counts the same dropped lines');
});

test('a second signal ends the wait for a stalled stdout at once: detached, exit 0, the unwritten lines reported', async (t) => {
  if (!ready(t)) return;
  const ecli = await stalledRun(t);
  const ours = programIdsHeldBy(ecli.child.pid!);
  assert.notDeepEqual(ours, []);
  ecli.child.kill('SIGTERM');
  await sleep(300);
  // Well before the grace period (OUTPUT_GRACE_MS) would end the wait.
  assert.equal(await ecli.stop('SIGINT', OUTPUT_GRACE_MS - 1000), 0, ecli.stderr());
  await assertGoneWithin(() => loadedPrograms().filter((p) => ours.includes(p.id)), 3000, 'programs still loaded after exit');
  assert.match(ecli.stderr(), DROPPED);
});

test('the summary counts the events that reached stdout, not those formatted: a reader that read nothing until ecli exited gets them, and the rest were dropped (#28.3)', async (t) => {
  if (!ready(t)) return;
  const dir = tempDir(t, 'ecli-stalled-');
  const packagePath = compileGetppidCalls(t);
  const fifo = join(dir, 'stdout');
  assert.equal(runTool('mkfifo', [fifo]).status, 0);
  // This test holds the read end and reads nothing until ecli has exited.
  const readEnd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  t.after(() => closeSync(readEnd));
  const stdoutFd = openSync(fifo, 'w');
  const busy = startHelper(t, process.execPath, ['-e', 'for (;;) process.ppid;'], { stdio: 'ignore' });
  const ecli = await startEcliFor(t, ['run', '-j', packagePath, '--pid', String(busy.pid)], { stdoutFd });
  closeSync(stdoutFd);
  await sleep(1500);
  await stopAndCheckUnloaded(ecli, 'SIGTERM', [GETPPID_PROGRAM]);
  const [, , waiting, printed] = DROPPED.exec(ecli.stderr()) ?? assert.fail(`no dropped-lines notice and summary:\n${ecli.stderr()}`);
  let text = '';
  const chunk = Buffer.alloc(64 * 1024);
  for (let n = readSync(readEnd, chunk); n > 0; n = readSync(readEnd, chunk)) text += chunk.toString('utf8', 0, n);
  const rows = text.split('\n').filter((line) => line.endsWith('}')).length;
  assert.ok(rows > 0, 'the FIFO took some rows');
  // A write the FIFO took only in part is counted with the lines still waiting.
  assert.ok(Number(printed) <= rows && rows <= Number(printed) + Number(waiting), `printed ${printed}, waiting ${waiting}, the reader got ${rows}`);
});
