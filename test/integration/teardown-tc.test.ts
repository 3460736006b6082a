/**
 * TC teardown, with real filters on `lo` of a private network namespace: ecli removes exactly
 * the filter it added (at the handle and priority the kernel chose), leaves other filters and a
 * clsact qdisc they still use, and reports a detach that fails. The test program only reports
 * UDP datagrams to its `--port` and returns TC_ACT_UNSPEC, so every filter on the hook runs and
 * two ecli on one interface each see their own packets.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEcliFor, stopAndCheckUnloaded } from '../helpers/ecli-checks.js';
import { eccCompile, programIdsHeldBy, type RunningEcli } from '../helpers/ecli-process.js';
import { haveRoot, repoRoot } from '../helpers/env.js';
import { haveCommands, haveToolchain, jsonRows, sleep, startHelper, tempDir } from '../helpers/examples.js';
import { privateNetns, sendUdp, type Netns } from '../helpers/netns.js';

const HEADER = `#ifndef __PORT_H
#define __PORT_H
struct seen {
	__u32 port;
	__u32 len;
};
#endif
`;

const SOURCE = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "port.h"

#define TC_ACT_UNSPEC -1

const volatile __u16 port = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} rb SEC(".maps");

/// @tchook {"ifindex": 1, "attach_point": "BPF_TC_INGRESS"}
/// @tcopts {"handle": 0, "priority": 0}
SEC("tc")
int count_port(struct __sk_buff *skb)
{
	__u8 proto;
	__u16 dport;
	struct seen *e;

	if (skb->protocol != bpf_htons(0x0800))
		return TC_ACT_UNSPEC;
	if (bpf_skb_load_bytes(skb, 14 + 9, &proto, 1) || proto != 17)
		return TC_ACT_UNSPEC;
	if (bpf_skb_load_bytes(skb, 14 + 20 + 2, &dport, 2) || bpf_ntohs(dport) != port)
		return TC_ACT_UNSPEC;
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return TC_ACT_UNSPEC;
	e->port = port;
	e->len = skb->len;
	bpf_ringbuf_submit(e, 0);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
`;

const PAYLOAD = 10;
/** Ethernet (14) + IPv4 (20) + UDP (8) headers around each payload on lo. */
const FRAME = 14 + 20 + 8 + PAYLOAD;
const PORT_A = 7001;
const PORT_B = 7002;
/** The priorities the kernel gives the first and the second filter added with priority 0. */
const FIRST_PRIORITY = 49152;
const SECOND_PRIORITY = 49151;

function ready(t: TestContext): boolean {
  return haveRoot(t) && haveToolchain(t) && haveCommands(t, ['unshare', 'nsenter', 'ip', 'tc']);
}

function compilePortCounter(t: TestContext): string {
  const dir = tempDir(t, 'ecli-teardown-');
  writeFileSync(join(dir, 'port.bpf.c'), SOURCE);
  writeFileSync(join(dir, 'port.h'), HEADER);
  return eccCompile(join(dir, 'port.bpf.c'), join(dir, 'port.h'), dir);
}

function startCounter(t: TestContext, netns: Netns, packagePath: string, port: number): Promise<RunningEcli> {
  return startEcliFor(t, ['run', '-j', '--time', 'none', packagePath, '--port', String(port)], { prefix: netns.prefix });
}

/** The `pref` of each bpf filter on lo's ingress (one per filter, not per classifier line). */
function filterPriorities(netns: Netns): number[] {
  const shown = netns.run('tc', ['filter', 'show', 'dev', 'lo', 'ingress']).stdout;
  return [...shown.matchAll(/^filter .*pref (\d+) bpf chain 0 handle/gm)].map((m) => Number(m[1])).sort((a, b) => a - b);
}

function hasClsact(netns: Netns): boolean {
  return /qdisc clsact/.test(netns.run('tc', ['qdisc', 'show', 'dev', 'lo']).stdout);
}

async function waitForRows(ecli: RunningEcli, count: number): Promise<void> {
  await ecli.waitForLine(() => jsonRows(ecli).length >= count, 5000);
  await sleep(200); // nothing more arrives
}

function succeeded(netns: Netns, command: string, args: string[]): void {
  const result = netns.run(command, args);
  assert.equal(result.status, 0, `${command} ${args.join(' ')}: ${result.stderr}`);
}

test('two ecli on one interface: each sees its own packets; the first to stop (SIGQUIT) leaves the other filter', async (t) => {
  if (!ready(t)) return;
  const packagePath = compilePortCounter(t);
  const netns = await privateNetns(t);
  const a = await startCounter(t, netns, packagePath, PORT_A);
  const b = await startCounter(t, netns, packagePath, PORT_B);
  assert.deepEqual(filterPriorities(netns), [SECOND_PRIORITY, FIRST_PRIORITY], 'the kernel chose a priority for each');

  sendUdp(netns, { count: 3, payload: PAYLOAD, port: PORT_A });
  sendUdp(netns, { count: 4, payload: PAYLOAD, port: PORT_B });
  await waitForRows(a, 3);
  await waitForRows(b, 4);
  assert.deepEqual(jsonRows(a), Array(3).fill({ port: PORT_A, len: FRAME }));
  assert.deepEqual(jsonRows(b), Array(4).fill({ port: PORT_B, len: FRAME }));

  await stopAndCheckUnloaded(a, 'SIGQUIT', ['count_port']);
  assert.doesNotMatch(a.stderr(), /error/);
  assert.deepEqual(filterPriorities(netns), [SECOND_PRIORITY], "only a's filter is gone");
  assert.ok(hasClsact(netns), "a created the clsact qdisc, but b's filter still uses it");
  sendUdp(netns, { count: 2, payload: PAYLOAD, port: PORT_B });
  await waitForRows(b, 6);
  assert.deepEqual(jsonRows(b), Array(6).fill({ port: PORT_B, len: FRAME }));

  await stopAndCheckUnloaded(b, 'SIGTERM', ['count_port']);
  assert.doesNotMatch(b.stderr(), /error/);
  assert.deepEqual(filterPriorities(netns), []);
  // b did not create the qdisc, and a (which did) was gone: it stays, empty.
  assert.ok(hasClsact(netns));
});

test('two ecli on one interface: the one that created the clsact qdisc deletes it when it stops last', async (t) => {
  if (!ready(t)) return;
  const packagePath = compilePortCounter(t);
  const netns = await privateNetns(t);
  const a = await startCounter(t, netns, packagePath, PORT_A);
  const b = await startCounter(t, netns, packagePath, PORT_B);

  await stopAndCheckUnloaded(b, 'SIGINT', ['count_port']);
  assert.deepEqual(filterPriorities(netns), [FIRST_PRIORITY], "only b's filter is gone");
  sendUdp(netns, { count: 2, payload: PAYLOAD, port: PORT_A });
  await waitForRows(a, 2);
  assert.deepEqual(jsonRows(a), Array(2).fill({ port: PORT_A, len: FRAME }));

  await stopAndCheckUnloaded(a, 'SIGHUP', ['count_port']);
  assert.deepEqual(filterPriorities(netns), []);
  assert.ok(!hasClsact(netns), 'the qdisc a created is deleted once no filter uses it');
});

test('a clsact qdisc and filter that were there before stay; the filter ecli added with priority 0 goes', async (t) => {
  if (!ready(t)) return;
  const packagePath = compilePortCounter(t);
  const netns = await privateNetns(t);
  succeeded(netns, 'tc', ['qdisc', 'add', 'dev', 'lo', 'clsact']);
  // A classic BPF filter that never matches: someone else's, not ecli's.
  succeeded(netns, 'tc', ['filter', 'add', 'dev', 'lo', 'ingress', 'pref', '7', 'handle', '7', 'bpf', 'bytecode', '1,6 0 0 0,']);

  const ecli = await startCounter(t, netns, packagePath, PORT_A);
  assert.deepEqual(filterPriorities(netns), [7, FIRST_PRIORITY]);
  sendUdp(netns, { count: 1, payload: PAYLOAD, port: PORT_A });
  await waitForRows(ecli, 1);

  await stopAndCheckUnloaded(ecli, 'SIGTERM', ['count_port']);
  assert.deepEqual(filterPriorities(netns), [7]);
  assert.ok(hasClsact(netns));
});

test('a filter removed by someone else while ecli runs: the failed detach is reported, exit 9', async (t) => {
  if (!ready(t)) return;
  const packagePath = compilePortCounter(t);
  const netns = await privateNetns(t);
  const ecli = await startCounter(t, netns, packagePath, PORT_A);
  succeeded(netns, 'tc', ['filter', 'del', 'dev', 'lo', 'ingress', 'pref', String(FIRST_PRIORITY), 'handle', '0x1', 'bpf']);

  assert.equal(await ecli.stop('SIGINT'), 9, ecli.stderr());
  assert.match(
    ecli.stderr(),
    /\necli: error: cannot detach TC filter on ifindex 1 ingress \(handle 0x1, priority 49152\): it is not there any more \(something else removed it\)\n$/,
  );
  assert.ok(!hasClsact(netns), 'the qdisc ecli created, now unused, is deleted all the same');
});

test('a filter replaced by someone else at the same handle and priority is left in place: exit 9', async (t) => {
  if (!ready(t)) return;
  const packagePath = compilePortCounter(t);
  const netns = await privateNetns(t);
  const ecli = await startCounter(t, netns, packagePath, PORT_A);
  const [progId] = programIdsHeldBy(ecli.child.pid!);
  const filter = ['dev', 'lo', 'ingress', 'pref', String(FIRST_PRIORITY), 'handle', '0x1', 'bpf'];
  succeeded(netns, 'tc', ['filter', 'del', ...filter]);
  succeeded(netns, 'tc', ['filter', 'add', ...filter, 'bytecode', '1,6 0 0 0,']);

  assert.equal(await ecli.stop('SIGTERM'), 9, ecli.stderr());
  assert.match(
    ecli.stderr(),
    new RegExp(
      `\\necli: error: TC filter on ifindex 1 ingress \\(handle 0x1, priority 49152\\) was replaced by another filter \\(not ecli's program id ${progId}\\): left in place\\n$`,
    ),
  );
  assert.deepEqual(filterPriorities(netns), [FIRST_PRIORITY], 'the other filter is still there');
  assert.ok(hasClsact(netns), 'and so is the qdisc it uses');
});

/** A library user in the namespace: runs the port counter on `port`, says `attached`, then idles; `own-handler` adds a SIGTERM handler that closes the session. */
function startLibraryUser(t: TestContext, netns: Netns, packagePath: string, port: number, ownHandler: boolean) {
  const script = join(tempDir(t, 'ecli-library-user-'), 'user.mjs');
  writeFileSync(
    script,
    `import { openPackage } from ${JSON.stringify(join(repoRoot, 'dist/src/api/index.js'))};
const pkg = await openPackage(${JSON.stringify(packagePath)});
const session = await pkg.run({ options: { port: ${port} } });
if (${ownHandler}) process.on('SIGTERM', () => void session.close().then(() => process.exit(0)));
console.log('attached');
`,
  );
  return startHelper(t, netns.prefix[0]!, [...netns.prefix.slice(1), process.execPath, script]);
}

async function waitForAttached(user: { stdout(): string }): Promise<void> {
  for (let i = 0; !user.stdout().includes('attached'); i++) {
    assert.ok(i < 250, 'the library user did not attach within 5 s');
    await sleep(20);
  }
}

test('the library: SIGTERM to a process with no handler of its own detaches its session (the TC filter and qdisc go) and ends it by SIGTERM', async (t) => {
  if (!ready(t)) return;
  const packagePath = compilePortCounter(t);
  const netns = await privateNetns(t);
  const user = startLibraryUser(t, netns, packagePath, PORT_A, false);
  await waitForAttached(user);
  assert.deepEqual(filterPriorities(netns), [FIRST_PRIORITY]);
  user.child.kill('SIGTERM');
  assert.equal(await user.exited, 'SIGTERM');
  assert.deepEqual(filterPriorities(netns), []);
  assert.ok(!hasClsact(netns), 'the qdisc the session created is deleted');
});

test('the library: a process with its own SIGTERM handler decides; this one closes the session and exits 0', async (t) => {
  if (!ready(t)) return;
  const packagePath = compilePortCounter(t);
  const netns = await privateNetns(t);
  const user = startLibraryUser(t, netns, packagePath, PORT_B, true);
  await waitForAttached(user);
  user.child.kill('SIGTERM');
  assert.equal(await user.exited, 0);
  assert.deepEqual(filterPriorities(netns), []);
});
