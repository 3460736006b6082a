/**
 * Output that cannot be written is an error, not a quiet loss: stdout on /dev/full (ENOSPC) ends
 * `ecli run` with RUNTIME (exit 9), saying how many lines were written and how many were not,
 * with every program detached; `ecli inspect` to /dev/full fails the same way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import { assertGoneWithin, startEcliFor } from '../helpers/ecli-checks.js';
import { ecliPath, loadedPrograms, programIdsHeldBy } from '../helpers/ecli-process.js';
import { haveRoot } from '../helpers/env.js';
import { prepareExecsnoop, execOnce } from '../helpers/execsnoop-run.js';
import { spawnSync } from 'node:child_process';

test('ecli run -j with stdout on /dev/full: exit 9 with the line counts, programs detached', async (t) => {
  if (!haveRoot(t)) return;
  const { packagePath, exe } = prepareExecsnoop(t);
  const full = openSync('/dev/full', 'w');
  t.after(() => closeSync(full));
  const running = await startEcliFor(t, ['run', '-j', packagePath], { stdoutFd: full });
  const ours = programIdsHeldBy(running.child.pid!);
  assert.ok(ours.length > 0, `ecli holds no program\n${running.stderr()}`);
  await execOnce(exe);
  assert.equal(await running.exited(10_000), 9, running.stderr());
  const lines = running.stderr().trimEnd().split('\n');
  assert.match(lines.at(-2)!, /^ecli: error: writing to stdout failed \(ENOSPC\) after 0 lines; (1 line was|[1-9]\d* lines were) not written$/);
  assert.equal(lines.at(-1), 'hint: free space where stdout goes, or send it elsewhere');
  await assertGoneWithin(() => loadedPrograms().filter((p) => ours.includes(p.id)), 3000, 'programs still loaded after the failed write');
});

test('ecli run (plain text) fails on its header line; ecli inspect fails too', (t) => {
  if (!haveRoot(t)) return;
  const { packagePath } = prepareExecsnoop(t);
  for (const args of [
    ['run', packagePath],
    ['inspect', packagePath],
  ]) {
    const full = openSync('/dev/full', 'w');
    const result = spawnSync(ecliPath, args, { stdio: ['ignore', full, 'pipe'], encoding: 'utf8', timeout: 30_000 });
    closeSync(full);
    assert.equal(result.status, 9, `ecli ${args[0]}: ${result.stderr}`);
    assert.match(result.stderr, /^ecli: error: writing to stdout failed \(ENOSPC\)/m);
  }
});
