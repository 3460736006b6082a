import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureVmlinuxHeader } from '../../src/compiler/vmlinux.js';
import { findExecutable } from '../../src/compiler/process.js';
import { RingBufferReader } from '../../src/loader/buffers.js';
import { OpenedObject } from '../../src/loader/object.js';
import { ensureTracefs } from '../../src/loader/probe.js';
import { haveRoot, skipUnlessCi } from '../helpers/env.js';

// One 36-byte record per getppid() of the test process: 48 bytes in the ring with the header,
// which does not divide the 4 KiB ring, so records regularly wrap around its end.
const SOURCE = `#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
const volatile int target_tgid = 0;
__u64 next_seq = 0;
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	__u8 *e = bpf_ringbuf_reserve(&rb, 36, 0);
	if (!e)
		return 0;
	__u64 seq = __sync_fetch_and_add(&next_seq, 1);
	*(__u64 *)e = seq;
	for (int i = 8; i < 36; i++)
		e[i] = (seq + i) & 0xff;
	bpf_ringbuf_submit(e, 0);
	return 0;
}
char LICENSE[] SEC("license") = "GPL";
`;

test('ring buffer reader: records that wrap around the end of the ring arrive whole and in order', async (t) => {
  if (!haveRoot(t)) return;
  if (!findExecutable(['clang'])) {
    skipUnlessCi(t, 'needs clang to compile the BPF program');
    return;
  }
  ensureTracefs();
  const dir = mkdtempSync(path.join(tmpdir(), 'ring-buffer-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'wrap.bpf.c'), SOURCE);
  const includeDir = (await ensureVmlinuxHeader()).dir;
  execFileSync('clang', ['-g', '-O2', '-target', 'bpf', `-I${includeDir}`, '-c', path.join(dir, 'wrap.bpf.c'), '-o', path.join(dir, 'wrap.bpf.o')]);

  const opened = OpenedObject.open(readFileSync(path.join(dir, 'wrap.bpf.o')), { objectName: 'wrap_bpf' });
  t.after(() => opened.close());
  const image = Buffer.alloc(4);
  image.writeInt32LE(process.pid);
  opened.maps.find((m) => m.name.endsWith('.rodata'))!.setInitialValue(image);
  const object = opened.load();
  t.after(() => object.close());
  for (const program of object.programs) object.attach(program);

  const seqs: bigint[] = [];
  const broken: string[] = [];
  const reader = new RingBufferReader(object.findMap('rb')!, {
    onRecord: (data, offset, length) => {
      const seq = data.readBigUInt64LE(offset);
      seqs.push(seq);
      if (length !== 36) broken.push(`record ${seq}: ${length} bytes`);
      for (let i = 8; i < 36; i++) {
        if (data[offset + i] !== Number((seq + BigInt(i)) & 0xffn)) broken.push(`record ${seq}: byte ${i} is ${data[offset + i]}`);
      }
    },
  });
  t.after(() => reader.close());
  const rounds = 40;
  const perRound = 50; // 2400 bytes: less than the ring holds, so nothing is dropped
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < perRound; i++) void process.ppid; // each read is a getppid() call
    reader.poll(0);
  }
  assert.deepEqual(broken.slice(0, 5), []);
  assert.equal(seqs.length, rounds * perRound);
  assert.ok(
    seqs.every((seq, i) => seq === BigInt(i)),
    'records out of order or missing',
  );
});
