import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EcliError } from '../../src/errors.js';
import { BPF_TCX_EGRESS, BPF_TCX_INGRESS, linkCreateAttr, progInfoName, progQueryAttr } from '../../src/loader/tcx-attr.js';
import { tcHookPlan } from '../../src/model/tc-hook.js';
import type { ProgMeta } from '../../src/package/types.js';

const u32s = (attr: Buffer) => Array.from({ length: attr.length / 4 }, (_, i) => attr.readUInt32LE(i * 4));

test('a TCX link with no order: prog_fd, ifindex, attach type, no flags, nothing after', () => {
  assert.deepEqual(u32s(linkCreateAttr(7, 1, BPF_TCX_INGRESS)), [7, 1, 46, 0, 0, 0, 0, 0]);
});

test('before/after the whole chain set BPF_F_BEFORE/BPF_F_AFTER alone; a program id adds BPF_F_ID and relative_id', () => {
  assert.deepEqual(u32s(linkCreateAttr(7, 3, BPF_TCX_EGRESS, { position: 'before' })).slice(0, 5), [7, 3, 47, 1 << 3, 0]);
  assert.deepEqual(u32s(linkCreateAttr(7, 3, BPF_TCX_EGRESS, { position: 'after' })).slice(0, 5), [7, 3, 47, 1 << 4, 0]);
  assert.deepEqual(u32s(linkCreateAttr(7, 3, BPF_TCX_EGRESS, { position: 'before', relativeId: 42 })).slice(0, 5), [7, 3, 47, (1 << 3) | (1 << 5), 42]);
});

test('a hook query puts the id buffer and its capacity where union bpf_attr.query has them', () => {
  const attr = progQueryAttr(2, BPF_TCX_INGRESS, 0x1122334455667788n, 64);
  assert.equal(attr.length, 64);
  assert.deepEqual([attr.readUInt32LE(0), attr.readUInt32LE(4), attr.readBigUInt64LE(16), attr.readUInt32LE(24)], [2, 46, 0x1122334455667788n, 64]);
});

const prog = (attach: string, extra: Partial<ProgMeta> = {}): ProgMeta => ({ name: 'p', attach, link: true, ...extra });
const refusal = (pattern: RegExp) => (e: EcliError) => e.code === 'PACKAGE_INVALID' && pattern.test(e.message);

test('tc hook plans: tcx sections and plain tc go through TCX; tcopts or a custom parent need netlink', () => {
  assert.deepEqual(tcHookPlan(prog('tcx/ingress'), 'tcx'), { via: 'tcx', direction: 'ingress', ifindex: 1 });
  assert.deepEqual(tcHookPlan(prog('tcx/egress', { tcx: { interface: 'veth0', before: 'other_prog' } }), 'tcx'), {
    via: 'tcx',
    direction: 'egress',
    ifindex: 1,
    interface: 'veth0',
    order: { position: 'before', anchor: 'other_prog' },
  });
  assert.deepEqual(tcHookPlan(prog('tcx/ingress', { tcx: { ifindex: 3, after: true } }), 'tcx').order, { position: 'after', anchor: true });
  assert.deepEqual(tcHookPlan(prog('tc', { tchook: { ifindex: 2, attach_point: 'BPF_TC_EGRESS' } }), 'tc'), { via: 'tcx', direction: 'egress', ifindex: 2 });
  assert.equal(tcHookPlan(prog('tc', { tcopts: { handle: 1, priority: 1 } }), 'tc').via, 'netlink');
  assert.equal(tcHookPlan(prog('tc', { tchook: { attach_point: 'BPF_TC_CUSTOM' } }), 'tc').via, 'netlink');
});

test('tc hook plans refuse what cannot work, before anything is loaded', () => {
  assert.throws(() => tcHookPlan(prog('tcx/other'), 'tcx'), refusal(/program p \(tcx\/other\): a TCX section is tcx\/ingress or tcx\/egress/));
  assert.throws(() => tcHookPlan(prog('tcx/ingress', { tcx: { before: 1, after: 2 } }), 'tcx'), refusal(/both "before" and "after"/));
  assert.throws(() => tcHookPlan(prog('tcx/ingress', { tcx: { interface: 'lo', ifindex: 1 } }), 'tcx'), refusal(/both "interface" and "ifindex"/));
  for (const anchor of ['', 0, -3, 1.5]) {
    assert.throws(() => tcHookPlan(prog('tcx/ingress', { tcx: { before: anchor as never } }), 'tcx'), refusal(/"before" is/), JSON.stringify(anchor));
  }
});

test('the name of a bpf_prog_info image stops at its NUL', () => {
  const info = new Uint8Array(80);
  info.set(Buffer.from('tcx_count\0junk'), 64);
  assert.equal(progInfoName(info), 'tcx_count');
});
