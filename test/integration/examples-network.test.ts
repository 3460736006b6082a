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
import { compileExample, haveCommands, haveToolchain, jsonLine, jsonRows, sleep } from '../helpers/examples.js';
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

  const ecli = await startEcliFor(t, ['run', '-j', example.packagePath], { prefix: netns.prefix });
  const link = netns.run('ip', ['link', 'show', 'lo']);
  assert.match(link.stdout, /\bxdp(generic)?\b/);
  assert.match(link.stdout, /prog\/xdp id \d+ name xdp_count/);

  sendDatagrams(netns);
  const row = JSON.parse(await ecli.waitForLine(jsonLine((r) => (r.value as { packets: number }).packets === DATAGRAMS), 5000));
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

  const ecli = await startEcliFor(t, ['run', '-j', example.packagePath], { prefix: netns.prefix });
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

    const ecli = await startEcliFor(t, ['run', '-j', example.packagePath], { prefix: netns.prefix });
    const programIds = programIdsHeldBy(ecli.child.pid!);
    assert.equal(tcxLinksOf(ecli, programIds).length, 1, `one TCX link while ecli runs\n${ecli.stderr()}`);
    assert.doesNotMatch(netns.run('bpftool', ['net', 'show']).stdout, /tcx_count/, 'not a netlink tc filter');
    assert.equal(netns.run('tc', ['filter', 'show', 'dev', 'lo', 'ingress']).stdout, '', 'no netlink filter either');

    sendDatagrams(netns);
    const row = JSON.parse(await ecli.waitForLine(jsonLine((r) => (r.value as { packets: number }).packets === DATAGRAMS), 5000));
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
