import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capabilityError, effectiveCapabilities, missingCapabilities, requiredCapabilities } from '../../src/loader/capabilities.js';

/** CapEff of a root shell on Linux 6.x: every capability up to CAP_CHECKPOINT_RESTORE (40). */
const FULL = 0x1ffffffffffn;
const bit = (n: number): bigint => 1n << BigInt(n);
const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;
const CAP_PERFMON = 38;
const CAP_BPF = 39;

test('CapEff is read from a /proc status text; a status without it has no capabilities', () => {
  const status = 'Name:\tnode\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001fffedfefff\nCapBnd:\t000001ffffffffff\n';
  assert.equal(effectiveCapabilities(status), 0x1fffedfefffn);
  assert.equal(effectiveCapabilities('Name:\tnode\n'), 0n);
});

test('XDP and TC programs also need CAP_NET_ADMIN; CAP_SYS_ADMIN stands for every capability', () => {
  assert.deepEqual(requiredCapabilities(['tracepoint', 'uprobe']), ['CAP_BPF', 'CAP_PERFMON']);
  assert.deepEqual(requiredCapabilities(['tracepoint', 'tc']), ['CAP_BPF', 'CAP_PERFMON', 'CAP_NET_ADMIN']);
  assert.deepEqual(requiredCapabilities(['xdp']), ['CAP_BPF', 'CAP_PERFMON', 'CAP_NET_ADMIN']);
  assert.deepEqual(requiredCapabilities(['tcx']), ['CAP_BPF', 'CAP_PERFMON', 'CAP_NET_ADMIN']);
  const tracing = requiredCapabilities(['tracepoint']);
  assert.deepEqual(missingCapabilities(bit(CAP_BPF) | bit(CAP_PERFMON), tracing), []);
  assert.deepEqual(missingCapabilities(bit(CAP_BPF), tracing), ['CAP_PERFMON']);
  const network = requiredCapabilities(['xdp']);
  assert.deepEqual(missingCapabilities(bit(CAP_SYS_ADMIN), network), []);
  assert.deepEqual(missingCapabilities(bit(CAP_BPF) | bit(CAP_PERFMON) | bit(CAP_NET_ADMIN), network), []);
  assert.deepEqual(missingCapabilities(bit(CAP_BPF) | bit(CAP_PERFMON), network), ['CAP_NET_ADMIN']);
  assert.deepEqual(missingCapabilities(FULL & ~bit(CAP_BPF) & ~bit(CAP_SYS_ADMIN), network), ['CAP_BPF']);
});

test('root with its capabilities dropped is refused, naming what it lacks and how to grant it', () => {
  assert.equal(capabilityError({ euid: 0, effective: FULL }, ['tracepoint', 'xdp']), undefined);
  const dropped = capabilityError({ euid: 0, effective: 0n }, ['tracepoint']);
  assert.equal(dropped?.code, 'PERMISSION');
  assert.equal(dropped.message, 'loading BPF needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN); this process (uid 0) lacks CAP_BPF and CAP_PERFMON');
  assert.equal(dropped.hint, "root's capabilities are dropped here; grant them (for example docker run --cap-add BPF --cap-add PERFMON)");
  const noNetAdmin = capabilityError({ euid: 0, effective: FULL & ~bit(CAP_NET_ADMIN) & ~bit(CAP_SYS_ADMIN) }, ['tc']);
  assert.equal(
    noNetAdmin?.message,
    'loading XDP and TC programs needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (or CAP_SYS_ADMIN); this process (uid 0) lacks CAP_NET_ADMIN',
  );
  assert.equal(noNetAdmin.hint, "root's capabilities are dropped here; grant them (for example docker run --cap-add NET_ADMIN)");
  assert.equal(capabilityError({ euid: 1000, effective: 0n }, ['tracepoint'])?.hint, 'run it with sudo');
});
