/**
 * A private network namespace for tests that attach to network interfaces: its lo carries only
 * the test's packets, so counts are exact, and nothing on the host's interfaces is touched.
 */
import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { runTool, type Completed } from './ecli-process.js';
import { sleep, startHelper } from './examples.js';

export interface Netns {
  /** Runs `command` inside the namespace to completion. */
  run(command: string, args: string[], options?: { env?: NodeJS.ProcessEnv; input?: string }): Completed;
  /** For startEcli: run ecli inside the namespace. */
  prefix: string[];
}

/** A new network namespace with lo up, held by a sleeping process that is killed after the test. */
export async function privateNetns(t: TestContext): Promise<Netns> {
  const holder = startHelper(t, 'unshare', ['--net', 'sleep', '300'], { stdio: 'ignore' });
  const own = readlinkSync('/proc/self/ns/net');
  // unshare execs sleep once the namespace exists; until then the pid is still in ours.
  for (let i = 0; readlinkSync(`/proc/${holder.pid}/ns/net`) === own; i++) {
    assert.ok(i < 100, 'unshare --net did not create a namespace');
    await sleep(20);
  }
  const prefix = ['nsenter', '-t', String(holder.pid), '-n'];
  const run = (command: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}) =>
    runTool(prefix[0]!, [...prefix.slice(1), command, ...args], options);
  const up = run('ip', ['link', 'set', 'lo', 'up']);
  assert.equal(up.status, 0, up.stderr);
  return { run, prefix };
}

/**
 * Sends `count` UDP datagrams of `payload` bytes to a socket bound on 127.0.0.1:`port` (0: any
 * free port) inside the namespace, and waits until all arrived (so no ICMP error comes back).
 */
export function sendUdp(netns: Netns, { count, payload, port = 0 }: { count: number; payload: number; port?: number }): void {
  const script = `
const dgram = require('node:dgram');
const server = dgram.createSocket('udp4');
const client = dgram.createSocket('udp4');
let received = 0;
server.on('message', () => { if (++received === ${count}) { server.close(); client.close(); } });
server.bind(${port}, '127.0.0.1', () => {
  for (let i = 0; i < ${count}; i++) client.send(Buffer.alloc(${payload}), server.address().port, '127.0.0.1');
});
setTimeout(() => { console.error('received ' + received); process.exit(1); }, 5000).unref();
`;
  const sent = netns.run(process.execPath, ['-e', script]);
  assert.equal(sent.status, 0, sent.stderr);
}
