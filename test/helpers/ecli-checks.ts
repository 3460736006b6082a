/** Checks shared by the integration tests that run packages: clean start/stop and plain-text rows. */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { loadedProgramIds, programIdsHeldBy, startEcli, type RunningEcli } from './ecli-process.js';

/** startEcli, and a SIGKILL when the test ends without having stopped it (a failed assertion). */
export async function startEcliFor(t: TestContext, args: string[], options: Parameters<typeof startEcli>[1] = {}): Promise<RunningEcli> {
  const running = await startEcli(args, options);
  t.after(() => {
    if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
  });
  return running;
}

/**
 * Stops ecli with `signal`, expects exit status 0, and checks that none of the programs it held
 * (found by id, so programs of the same name loaded by other tests do not matter) stays loaded.
 * Returns those program ids.
 */
export async function stopAndCheckUnloaded(running: RunningEcli, signal: NodeJS.Signals = 'SIGINT'): Promise<number[]> {
  assert.ok(running.child.exitCode === null && running.child.signalCode === null, `ecli exited before ${signal}\n${running.stderr()}`);
  const ours = programIdsHeldBy(running.child.pid!);
  const loaded = loadedProgramIds();
  assert.deepEqual(ours.filter((id) => !loaded.includes(id)), [], 'the programs ecli holds are loaded');
  assert.equal(await running.stop(signal), 0, `exit status after ${signal}\n${running.stderr()}`);
  // The kernel frees a detached program after an RCU grace period or from a work queue (TC
  // filters, raw tracepoints), so its id may outlive the process briefly; a leak stays forever.
  const deadline = Date.now() + UNLOAD_GRACE_MS;
  let left = loadedProgramIds().filter((id) => ours.includes(id));
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = loadedProgramIds().filter((id) => ours.includes(id));
  }
  assert.deepEqual(left, [], `programs still loaded ${UNLOAD_GRACE_MS} ms after ${signal}`);
  return ours;
}

const UNLOAD_GRACE_MS = 3000;

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

/** The parsed JSON of a line, or undefined when it is not JSON (never throws inside a line waiter). */
export function jsonOf(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
