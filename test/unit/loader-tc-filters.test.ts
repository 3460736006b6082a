import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLSACT_INGRESS, decodeDumpPart, encodeFilterDump } from '../../src/loader/tc-filters.js';

/** An RTM_NEWTFILTER message (type 44) for `seq`, with `options` as its TCA_OPTIONS payload. */
function filterMessage(seq: number, priority: number, handle: number, options?: Buffer): Buffer {
  const kind = Buffer.from([8, 0, 1, 0, 0x62, 0x70, 0x66, 0]); // TCA_KIND "bpf"
  const attrs = [kind];
  if (options) attrs.push(Buffer.concat([u16(4 + options.length), u16(2 | 0x8000), options]));
  const tcmsg = Buffer.alloc(20);
  tcmsg.writeInt32LE(1, 4);
  tcmsg.writeUInt32LE(handle, 8);
  tcmsg.writeUInt32LE(CLSACT_INGRESS, 12);
  tcmsg.writeUInt32LE(((priority << 16) | 0x0300) >>> 0, 16);
  return nlmsg(44, seq, Buffer.concat([tcmsg, ...attrs]));
}

function nlmsg(type: number, seq: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32LE(16 + payload.length, 0);
  header.writeUInt16LE(type, 4);
  header.writeUInt32LE(seq, 8);
  return Buffer.concat([header, payload, Buffer.alloc((4 - (payload.length % 4)) % 4)]);
}

const u16 = (n: number) => Buffer.from([n & 0xff, n >> 8]);
const bpfId = (id: number) => Buffer.concat([u16(8), u16(11), Buffer.from(new Uint32Array([id]).buffer)]);

test('the dump request asks for every filter under the parent', () => {
  const request = Buffer.from(encodeFilterDump(3, CLSACT_INGRESS, 77));
  assert.equal(request.length, 36);
  assert.equal(request.readUInt32LE(0), 36);
  assert.equal(request.readUInt16LE(4), 46); // RTM_GETTFILTER
  assert.equal(request.readUInt16LE(6), 0x301); // NLM_F_REQUEST | NLM_F_DUMP
  assert.equal(request.readUInt32LE(8), 77);
  assert.equal(request.readInt32LE(20), 3);
  assert.equal(request.readUInt32LE(28), CLSACT_INGRESS);
});

test('dump replies give each filter with its priority, handle and BPF program id', () => {
  const datagram = Buffer.concat([
    filterMessage(5, 49152, 0),
    filterMessage(5, 49152, 1, bpfId(941)),
    filterMessage(5, 7, 7, Buffer.from([8, 0, 4, 0, 1, 0, 0, 0])), // classic BPF: no TCA_BPF_ID
    filterMessage(6, 1, 1, bpfId(1)), // another request's
  ]);
  assert.deepEqual(decodeDumpPart(datagram, 5), {
    entries: [
      { priority: 49152, handle: 0 },
      { priority: 49152, handle: 1, progId: 941 },
      { priority: 7, handle: 7 },
    ],
    done: false,
  });
  assert.deepEqual(decodeDumpPart(nlmsg(3, 5, Buffer.alloc(4)), 5), { entries: [], done: true });
});

test('an error reply ends the dump with its errno', () => {
  const error = Buffer.alloc(4);
  error.writeInt32LE(-19, 0);
  assert.deepEqual(decodeDumpPart(nlmsg(2, 9, error), 9), { entries: [], done: true, error: -19 });
});
