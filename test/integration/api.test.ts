/**
 * The library API against the kernel, in this test process: execsnoop's exec events arrive
 * through `for await`, runqlat's histogram through samples(); close() and the AbortSignal
 * detach everything (the programs this process held are gone); unread samples of a wide map stay
 * within the queue's byte limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { openPackage, type Sample, type Session } from '../../src/api/index.js';
import { assertGoneWithin } from '../helpers/ecli-checks.js';
import { loadedPrograms, programIdsHeldBy } from '../helpers/ecli-process.js';
import { haveRoot } from '../helpers/env.js';
import { compileExample, haveToolchain, tempDir } from '../helpers/examples.js';
import { execOnce } from '../helpers/execsnoop-run.js';
import { callGetppid, compileWideArray } from '../helpers/wide-map.js';

interface ExecEvent {
  pid: number;
  ppid: number;
  comm: string;
}

const UNLOAD_GRACE_MS = 3000;

/** The programs this process holds now; after `session` closes they must all be gone. */
function heldPrograms(names: readonly string[]): number[] {
  const ours = programIdsHeldBy(process.pid);
  const held = loadedPrograms().filter((p) => ours.includes(p.id));
  assert.deepEqual(
    names.filter((name) => !held.some((p) => p.name === name)),
    [],
    'programs loaded while the session runs',
  );
  return ours;
}

async function assertUnloaded(session: Session, ours: readonly number[]): Promise<void> {
  assert.equal(session.closed, true);
  assert.deepEqual(
    programIdsHeldBy(process.pid).filter((id) => ours.includes(id)),
    [],
    'no program fd left open',
  );
  await assertGoneWithin(() => loadedPrograms().filter((p) => ours.includes(p.id)), UNLOAD_GRACE_MS, 'programs still loaded after close()');
}

test('execsnoop through the API: our own exec arrives as a typed object; close() detaches and is idempotent', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const { packagePath, programNames } = compileExample(t, 'execsnoop');
  const exe = path.join(tempDir(t, 'a'), 't');
  copyFileSync('/bin/true', exe);
  const pkg = await openPackage(packagePath);
  const session = await pkg.run({ signal: AbortSignal.timeout(20_000) });
  t.after(() => session.close());
  const ours = heldPrograms(programNames);
  const pid = await execOnce(exe);
  let seen: ExecEvent | undefined;
  for await (const event of session.events<ExecEvent>()) {
    if (event.pid !== pid) continue;
    seen = event;
    await session.close();
  }
  assert.deepEqual(seen && [seen.comm, seen.ppid], [exe, process.pid], 'the exec event, before the 20 s timeout');
  assert.ok(session.stats.received >= 1 && session.stats.malformed === 0, JSON.stringify(session.stats));
  await session.close();
  await assertUnloaded(session, ours);
});

test('runqlat through the API: samples() yields its log2 histogram; aborting the signal detaches', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const { packagePath, programNames } = compileExample(t, 'runqlat');
  const pkg = await openPackage(packagePath);
  const controller = new AbortController();
  const session = await pkg.run({ signal: controller.signal });
  t.after(() => session.close());
  const ours = heldPrograms(programNames);
  assert.throws(() => session.events(), /exports no ring buffer/);
  const samples = [];
  for await (const sample of session.samples<unknown, { slots: number[] }>()) {
    samples.push(sample);
    // The first read comes one interval after run(), and has seen the scheduler run meanwhile.
    controller.abort();
  }
  assert.equal(samples.length, 1);
  assert.deepEqual([samples[0]!.map, samples[0]!.type], ['hists', 'log2_hist']);
  const slots = samples[0]!.entries.flatMap((entry) => entry.value.slots);
  assert.ok(
    slots.some((count) => count > 0),
    `a non-empty histogram: ${JSON.stringify(samples[0]!.entries).slice(0, 300)}`,
  );
  await assertUnloaded(session, ours);
});

/** Bytes the JS heap and array buffers hold after a full garbage collection. */
function heldAfterGc(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

test('unread samples() of a 20,000-entry map: the queue holds at most queueBytes, drops the rest, and what it holds decodes', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const ENTRIES = 20_000;
  const QUEUE_BYTES = 4 * 1024 * 1024;
  const packagePath = compileWideArray(t, ENTRIES, 100);
  const pkg = await openPackage(packagePath);
  const before = heldAfterGc();
  const session = await pkg.run({ options: { target_pid: process.pid }, queueBytes: QUEUE_BYTES });
  t.after(() => session.close());
  callGetppid(ENTRIES + 5);
  // 40 reads of 20,000 entries (12 bytes each as read): 9.6 MB, as 800,000 decoded objects many times that.
  await sleep(4000);
  const grown = heldAfterGc() - before;
  assert.ok(session.stats.dropped > 0, `some reads dropped: ${JSON.stringify(session.stats)}`);
  assert.ok(grown < QUEUE_BYTES + 16 * 1024 * 1024, `memory grew by ${(grown / 1e6).toFixed(1)} MB with nothing read`);
  // The queue kept the first reads; a read from after the calls has them all. (Key and value
  // members are named after their types: the map's structs are not export types.)
  const total = (sample: Sample) => sample.entries.reduce((sum, { value }) => sum + Number(Object.values(value)[0]), 0);
  let counted: Sample | undefined;
  for await (const sample of session.samples()) {
    assert.equal(sample.entries.length, ENTRIES);
    if (total(sample) < ENTRIES + 5) continue;
    counted = sample;
    break;
  }
  assert.ok(counted, 'a queued read has every call');
  assert.deepEqual(
    counted.entries.slice(0, 3).map(({ key, value }) => [Object.values(key)[0], Object.values(value)[0]]),
    [
      [0, 2],
      [1, 2],
      [2, 2],
    ],
  );
  assert.equal(session.stats.malformed, 0);
  await session.close();
});
