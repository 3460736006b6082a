/**
 * The xdp and tc examples, compiled by ./ecc and run by ./ecli on `lo` (ifindex 1) of a private
 * network namespace: the test's packets are the only ones there, so counts are exact, and no
 * other run (or a filter something else left on the host's lo) can get in the way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { haveRoot } from '../helpers/env.js';
import { assertGoneWithin, startEcliFor, stopAndCheckUnloaded } from '../helpers/ecli-checks.js';
import { loadedPrograms, programIdsHeldBy, runTool, type RunningEcli } from '../helpers/ecli-process.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { eccCompile } from '../helpers/ecli-process.js';
import { compileExample, haveCommands, haveToolchain, jsonLine, jsonRows, sleep, tempDir } from '../helpers/examples.js';
import { privateNetns, sendUdp, type Netns } from '../helpers/netns.js';

const DATAGRAMS = 5;
const PAYLOAD = 100;
/** Ethernet (14) + IPv4 (20) + UDP (8) headers around each payload on lo. */
const FRAME = 14 + 20 + 8 + PAYLOAD;
const ETH_P_IP = 0x0800;

function sendDatagrams(netns: Netns): void {
  sendUdp(netns, { count: DATAGRAMS, payload: PAYLOAD });
}

test('xdp attaches to lo and counts packets and bytes per ethertype', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t) || !haveCommands(t, ['unshare', 'nsenter', 'ip'])) return;
  const example = compileExample(t, 'xdp');
  const netns = await privateNetns(t);

  const ecli = await startEcliFor(t, ['run', '-j', '--time', 'none', example.packagePath], { prefix: netns.prefix });
  const link = netns.run('ip', ['link', 'show', 'lo']);
  assert.match(link.stdout, /\bxdp(generic)?\b/);
  assert.match(link.stdout, /prog\/xdp id \d+ name xdp_count/);

  sendDatagrams(netns);
  const row = JSON.parse(
    await ecli.waitForLine(
      jsonLine((r) => (r.value as { packets: number }).packets === DATAGRAMS),
      5000,
    ),
  );
  assert.deepEqual(row, { key: { __u32: ETH_P_IP }, value: { bytes: DATAGRAMS * FRAME, packets: DATAGRAMS } });
  assert.deepEqual(
    jsonRows(ecli).filter((r) => (r.key as { __u32: number }).__u32 !== ETH_P_IP),
    [],
    'only IPv4 went through this lo',
  );

  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
  assert.doesNotMatch(netns.run('ip', ['link', 'show', 'lo']).stdout, /xdp/, 'detached at exit');
});

test('tc attaches to lo ingress and reports every packet through the ring buffer', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t) || !haveCommands(t, ['unshare', 'nsenter', 'tc'])) return;
  const example = compileExample(t, 'tc');
  const netns = await privateNetns(t);

  const ecli = await startEcliFor(t, ['run', '-j', '--time', 'none', example.packagePath], { prefix: netns.prefix });
  const filters = netns.run('tc', ['filter', 'show', 'dev', 'lo', 'ingress']);
  assert.match(filters.stdout, /\bbpf\b.*handle 0x1 tc_ingress.*direct-action/);

  sendDatagrams(netns);
  await ecli.waitForLine(() => jsonRows(ecli).length >= DATAGRAMS, 5000);
  await sleep(300);
  assert.deepEqual(jsonRows(ecli), Array(DATAGRAMS).fill({ ifindex: 1, len: FRAME, protocol: ETH_P_IP }));

  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
  assert.equal(netns.run('tc', ['filter', 'show', 'dev', 'lo', 'ingress']).stdout, '', 'filter removed at exit');
  assert.doesNotMatch(netns.run('tc', ['qdisc', 'show', 'dev', 'lo']).stdout, /clsact/, 'the clsact hook ecli created is removed too');
});

/** BPF_LINK_TYPE_TCX, which bpftool 7.1 (Debian 12) prints as a number: it predates TCX. */
const LINK_TYPE_TCX = 11;

/** The TCX links (bpftool link list) of the programs ecli holds. */
function tcxLinksOf(ecli: RunningEcli, programIds = programIdsHeldBy(ecli.child.pid!)): { id: number; prog_id: number }[] {
  const listed = runTool('bpftool', ['link', 'list', '--json']);
  assert.equal(listed.status, 0, listed.stderr);
  const links = JSON.parse(listed.stdout) as { id: number; type: number | string; prog_id: number }[];
  return links.filter((l) => (l.type === LINK_TYPE_TCX || l.type === 'tcx') && programIds.includes(l.prog_id));
}

for (const signal of ['SIGINT', 'SIGKILL'] as const) {
  test(`tcx attaches a TCX link to lo ingress, counts packets and bytes, and leaves nothing after ${signal}`, async (t) => {
    if (!haveRoot(t) || !haveToolchain(t) || !haveCommands(t, ['unshare', 'nsenter', 'ip', 'tc', 'bpftool'])) return;
    const example = compileExample(t, 'tcx');
    const netns = await privateNetns(t);

    const ecli = await startEcliFor(t, ['run', '-j', '--time', 'none', example.packagePath], { prefix: netns.prefix });
    const programIds = programIdsHeldBy(ecli.child.pid!);
    assert.equal(tcxLinksOf(ecli, programIds).length, 1, `one TCX link while ecli runs\n${ecli.stderr()}`);
    // bpftool 7.5 lists TCX links as `lo(1) tcx/ingress tcx_count ...`, netlink filters as `lo(1) clsact/ingress ...`.
    assert.doesNotMatch(netns.run('bpftool', ['net', 'show']).stdout, /clsact\/\w+ tcx_count/, 'not a netlink tc filter');
    assert.equal(netns.run('tc', ['filter', 'show', 'dev', 'lo', 'ingress']).stdout, '', 'no netlink filter either');

    sendDatagrams(netns);
    const row = JSON.parse(
      await ecli.waitForLine(
        jsonLine((r) => (r.value as { packets: number }).packets === DATAGRAMS),
        5000,
      ),
    );
    assert.deepEqual(row, { key: { __u32: ETH_P_IP }, value: { bytes: DATAGRAMS * FRAME, packets: DATAGRAMS } });

    if (signal === 'SIGINT') {
      await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
    } else {
      assert.equal(await ecli.stop('SIGKILL'), 'SIGKILL');
      await assertGoneWithin(() => loadedPrograms().filter((p) => programIds.includes(p.id)), 3000, 'programs still loaded after SIGKILL');
    }
    const deadline = Date.now() + 3000;
    while (tcxLinksOf(ecli, programIds).length > 0 && Date.now() < deadline) await sleep(50);
    assert.deepEqual(tcxLinksOf(ecli, programIds), [], `the TCX link is gone after ${signal}`);
    assert.equal(netns.run('tc', ['filter', 'show', 'dev', 'lo', 'ingress']).stdout, '');
    assert.doesNotMatch(netns.run('tc', ['qdisc', 'show', 'dev', 'lo']).stdout, /clsact/);
  });
}

/** Ahead of tcx_count by name, drops the UDP datagrams of DROPPED_PAYLOAD bytes; passes the rest on. */
const DROPPER_SOURCE = (frame: number) => `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/// @tcx {"interface": "lo", "before": "tcx_count"}
SEC("tcx/ingress")
int tcx_drop_first(struct __sk_buff *skb)
{
	return skb->len == ${frame} ? TCX_DROP : TCX_NEXT;
}

char LICENSE[] SEC("license") = "GPL";
`;
const DROPPED_PAYLOAD = 77;

test('@tcx "before" puts a TCX program ahead of one already on the hook, by name', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t) || !haveCommands(t, ['unshare', 'nsenter', 'ip'])) return;
  const counter = compileExample(t, 'tcx');
  const dir = tempDir(t, 'ecli-tcx-order-');
  writeFileSync(path.join(dir, 'dropper.bpf.c'), DROPPER_SOURCE(14 + 20 + 8 + DROPPED_PAYLOAD));
  const dropperPackage = eccCompile(path.join(dir, 'dropper.bpf.c'), undefined, dir);
  const netns = await privateNetns(t);

  const counting = await startEcliFor(t, ['run', '-j', counter.packagePath], { prefix: netns.prefix });
  const dropping = await startEcliFor(t, ['run', dropperPackage], { prefix: netns.prefix });
  // Sent without waiting for them: the dropper, first in the chain, takes them before tcx_count.
  const blackhole = `const c = require('node:dgram').createSocket('udp4'); let n = 0;
for (let i = 0; i < ${DATAGRAMS}; i++) c.send(Buffer.alloc(${DROPPED_PAYLOAD}), 9, '127.0.0.1', () => { if (++n === ${DATAGRAMS}) c.close(); });`;
  const sent = netns.run(process.execPath, ['-e', blackhole]);
  assert.equal(sent.status, 0, sent.stderr);
  sendDatagrams(netns);

  const row = JSON.parse(
    await counting.waitForLine(
      jsonLine((r) => (r.value as { packets: number }).packets >= DATAGRAMS),
      5000,
    ),
  );
  assert.deepEqual(row.value, { bytes: DATAGRAMS * FRAME, packets: DATAGRAMS }, 'tcx_count saw none of the dropped datagrams');
  await stopAndCheckUnloaded(dropping, 'SIGINT', ['tcx_drop_first']);
  await stopAndCheckUnloaded(counting, 'SIGINT', counter.programNames);
});
