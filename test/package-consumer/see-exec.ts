/**
 * Built and run by test/integration/npm-package.test.ts inside a fresh project that installed
 * the packed tarball: `node see-exec.js <execsnoop package.json> <exe>`. Prints `attached`,
 * execs `exe` when a line arrives on stdin, prints the event of that exec, closes the session,
 * prints the stats, and exits when stdin ends (so the test can look at the kernel in between).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { openPackage, type EventRecord, type SessionStats } from 'ecli-ts';

interface ExecEvent extends EventRecord {
  pid: number;
  ppid: number;
  comm: string;
}

const [packagePath, exe] = process.argv.slice(2) as [string, string];
const input = createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();
const pkg = await openPackage(packagePath);
const session = await pkg.run({ signal: AbortSignal.timeout(20_000) });
console.log('attached');
await lines.next();
const child = spawn(exe, [], { stdio: 'ignore' });
for await (const event of session.events<ExecEvent>()) {
  if (event.pid !== child.pid) continue;
  console.log(JSON.stringify({ seen: event }));
  await session.close();
}
const stats: SessionStats = session.stats;
console.log(JSON.stringify({ closed: session.closed, stats }));
await lines.next();
