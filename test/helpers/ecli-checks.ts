/**
 * Checks shared by the integration tests that run packages: ecli started and always stopped,
 * its programs loaded while it runs and unloaded after, and plain-text rows.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadedPrograms, programIdsHeldBy, startEcli, type LoadedProgram, type RunningEcli } from './ecli-process.js';

/** How long a program may stay loaded after ecli exits (see assertGoneWithin). */
const UNLOAD_GRACE_MS = 3000;
/** After a test that left ecli running, how long it gets to exit on SIGINT before SIGKILL. */
const CLEANUP_SIGINT_MS = 5000;

function isRunning(running: RunningEcli): boolean {
  return running.child.exitCode === null && running.child.signalCode === null;
}

/**
 * startEcli, stopped when the test ends without having stopped it (a failed assertion): SIGINT
 * first, since only ecli's own teardown removes TC filters, then SIGKILL if it does not exit.
 */
export async function startEcliFor(t: TestContext, args: string[], options: Parameters<typeof startEcli>[1] = {}): Promise<RunningEcli> {
  const running = await startEcli(args, options);
  t.after(async () => {
    if (!isRunning(running)) return;
    await running.stop('SIGINT', CLEANUP_SIGINT_MS).catch(() => running.stop('SIGKILL').catch(() => undefined));
  });
  return running;
}

/**
 * Polls `remaining()` until it is empty, for at most `graceMs`, then fails with `message` if
 * programs are left. The kernel frees a detached program after an RCU grace period or from a
 * work queue (TC filters, raw tracepoints), so it may outlive the process briefly; a leak stays forever.
 */
export async function assertGoneWithin(remaining: () => LoadedProgram[], graceMs: number, message: string): Promise<void> {
  const deadline = Date.now() + graceMs;
  let left = remaining();
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = remaining();
  }
  assert.deepEqual(
    left.map((p) => `${p.name} (id ${p.id})`),
    [],
    message,
  );
}

/**
 * Stops ecli with `signal`, expects exit status 0, and checks that none of the programs it held
 * (found by id, so programs of the same name loaded by other tests do not matter) stays loaded.
 * Before stopping, checks that those programs are loaded and include one named each of
 * `programNames` (15-character names, as the kernel keeps them). Returns the program ids.
 */
export async function stopAndCheckUnloaded(running: RunningEcli, signal: NodeJS.Signals = 'SIGINT', programNames: readonly string[] = []): Promise<number[]> {
  assert.ok(isRunning(running), `ecli exited before ${signal}\n${running.stderr()}`);
  const ours = programIdsHeldBy(running.child.pid!);
  const loaded = loadedPrograms();
  assert.deepEqual(
    ours.filter((id) => !loaded.some((p) => p.id === id)),
    [],
    'the programs ecli holds are loaded',
  );
  const heldNames = new Set(loaded.filter((p) => ours.includes(p.id)).map((p) => p.name));
  assert.deepEqual(
    programNames.filter((name) => !heldNames.has(name)),
    [],
    'programs not loaded while ecli runs',
  );
  assert.equal(await running.stop(signal), 0, `exit status after ${signal}\n${running.stderr()}`);
  const ourPrograms = (): LoadedProgram[] => loadedPrograms().filter((p) => ours.includes(p.id));
  await assertGoneWithin(ourPrograms, UNLOAD_GRACE_MS, `programs still loaded ${UNLOAD_GRACE_MS} ms after ${signal}`);
  return ours;
}

/**
 * For an ecli run that ends by itself (a refusal), leaving no process to inspect: notes the
 * programs named one of `programNames` loaded now. `assertNoneAdded()` then fails if a program
 * of those names that was not loaded then is still loaded after the grace period.
 */
export function watchProgramNames(programNames: readonly string[]): { assertNoneAdded(): Promise<void> } {
  const named = (): LoadedProgram[] => loadedPrograms().filter((p) => programNames.includes(p.name));
  const before = new Set(named().map((p) => p.id));
  return {
    assertNoneAdded: () => assertGoneWithin(() => named().filter((p) => !before.has(p.id)), UNLOAD_GRACE_MS, 'still loaded after ecli exited'),
  };
}

/**
 * Splits a plain-text event row into its values using the header's column offsets: after the
 * time and one space, a value starts at its column's offset when the row is shorter than that,
 * else after exactly one space; the last value runs to the end of the row. So values other
 * than the last must not contain spaces.
 */
export function parsePlainRow(header: string, row: string): { time: string; values: Record<string, string> } {
  const columns = [...header.matchAll(/(\S+) */g)].slice(1).map((m) => ({ name: m[1]!, offset: m.index! }));
  const time = row.slice(0, 8);
  assert.equal(row[8], ' ', `a space after the time in ${JSON.stringify(row)}`);
  let at = 9;
  const values: Record<string, string> = {};
  columns.forEach(({ name, offset }, i) => {
    const start = at < offset ? offset : at + 1;
    assert.equal(row.slice(at, start), ' '.repeat(start - at), `padding before ${name} in ${JSON.stringify(row)}`);
    const end = i === columns.length - 1 ? row.length : row.indexOf(' ', start);
    assert.ok(end >= start, `no value for ${name} in ${JSON.stringify(row)}`);
    values[name] = row.slice(start, end);
    at = end;
  });
  return { time, values };
}

/** ecli's own time stamp of a JSON line (`--time iso`, the default), not a member of the package's struct. */
const ECLI_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/;

/**
 * The parsed JSON of a line without ecli's own `timestamp` member (so tests compare the package's
 * fields), or undefined when it is not JSON (never throws inside a line waiter).
 */
export function jsonOf(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null) return undefined;
    const object = value as Record<string, unknown>;
    if (typeof object['timestamp'] === 'string' && ECLI_TIMESTAMP.test(object['timestamp'])) delete object['timestamp'];
    return object;
  } catch {
    return undefined;
  }
}
