import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EcliError } from '../../src/errors.js';
import { BPF_TCX_EGRESS, BPF_TCX_INGRESS, linkCreateAttr, progInfoName, progQueryAttr, tcxDirectionOf, tcxOrderOf } from '../../src/loader/tcx-attr.js';

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

test('sections and orders: tcx/ingress and tcx/egress only; one of before/after, with a usable anchor', () => {
  assert.deepEqual([tcxDirectionOf('tcx/ingress'), tcxDirectionOf('tcx/egress'), tcxDirectionOf('tcx/other'), tcxDirectionOf('tc')], ['ingress', 'egress', undefined, undefined]);
  assert.equal(tcxOrderOf({}, 'p'), undefined);
  assert.deepEqual(tcxOrderOf({ before: true }, 'p'), { position: 'before', anchor: true });
  assert.deepEqual(tcxOrderOf({ after: 'other_prog' }, 'p'), { position: 'after', anchor: 'other_prog' });
  assert.throws(() => tcxOrderOf({ before: 1, after: 2 }, 'program p (tcx/ingress)'), (e: EcliError) => e.code === 'PACKAGE_INVALID' && /both "before" and "after"/.test(e.message));
  for (const anchor of ['', 0, -3, 1.5]) {
    assert.throws(() => tcxOrderOf({ before: anchor as never }, 'p'), (e: EcliError) => e.code === 'PACKAGE_INVALID', JSON.stringify(anchor));
  }
});

test('the name of a bpf_prog_info image stops at its NUL', () => {
  const info = new Uint8Array(80);
  info.set(Buffer.from('tcx_count\0junk'), 64);
  assert.equal(progInfoName(info), 'tcx_count');
});
