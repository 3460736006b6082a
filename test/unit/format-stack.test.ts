import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf } from '../../src/btf/btf.js';
import { checkExportStruct } from '../../src/btf/export-check.js';
import { EcliError } from '../../src/errors.js';
import { createStackTraceFormatter } from '../../src/format/stack.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

function stackEvent(names = ['pid', 'cpu_id', 'comm', 'kstack_sz', 'ustack_sz', 'kstack', 'ustack'], commSigned = true) {
  const b = new BtfBuilder();
  const u32 = b.typedef('__u32', b.int('unsigned int', 4));
  const s32 = b.typedef('__s32', b.int('int', 4, { signed: true }));
  const u64 = b.typedef('__u64', b.int('unsigned long long', 8));
  const stack = b.typedef('stack_trace_t', b.array(u64, 16));
  const comm = b.array(commSigned ? b.int('char', 1, { signed: true }) : b.int('unsigned char', 1), 16);
  const types = [u32, u32, comm, s32, s32, stack, stack];
  const id = b.struct(
    'stacktrace_event',
    names.map((name, i) => ({ name, type: types[i]! })),
  );
  const btf = Btf.parse(b.build());
  const columns = checkExportStruct(btf, { name: 'stacktrace_event', type_id: id, size: btf.sizeOf(id), members: names.map((name) => ({ name, type: '' })) });
  const record = (kstackBytes: number, ustackBytes: number): Buffer => {
    const data = Buffer.alloc(columns.size);
    const at = (i: number) => columns.members[i]!.offset;
    data.writeUInt32LE(4660, at(0));
    data.writeUInt32LE(22136, at(1));
    data.write('test-comm', at(2));
    data.writeInt32LE(kstackBytes, at(3));
    data.writeInt32LE(ustackBytes, at(4));
    for (let i = 0; i < 16; i++) {
      data.writeBigUInt64LE(0x10000n + BigInt(i), at(5) + i * 8);
      data.writeBigUInt64LE(0x10000n + BigInt(i), at(6) + i * 8);
    }
    return data;
  };
  return { btf, columns, record };
}

const frames = (n: number) => Array.from({ length: n }, (_, i) => `  ${i} [<${(0x10000 + i).toString(16).padStart(16, '0')}>]\n`).join('');

test('stack trace: the upstream expected block (addresses only)', () => {
  const { btf, columns, record } = stackEvent();
  const formatter = createStackTraceFormatter(btf, columns);
  const text = formatter.format(record(16, 128));
  assert.equal(text, `COMM: test-comm (pid=4660) @ CPU 22136\nKernel:\n${frames(2)}Userspace:\n${frames(16)}`);
  assert.ok(text!.startsWith('COMM: test-comm (pid=4660) @ CPU 22136\nKernel:\n  0 [<0000000000010000>]\n  1 [<0000000000010001>]\nUserspace:\n'));
  assert.ok(text!.endsWith('  15 [<000000000001000f>]\n'));
});

test('stack trace: missing stacks print a line; no stacks at all prints nothing', () => {
  const { btf, columns, record } = stackEvent();
  const formatter = createStackTraceFormatter(btf, columns);
  assert.equal(formatter.format(record(0, 8)), `COMM: test-comm (pid=4660) @ CPU 22136\nNo Kernel Stack\nUserspace:\n${frames(1)}`);
  assert.equal(formatter.format(record(24, -14)), `COMM: test-comm (pid=4660) @ CPU 22136\nKernel:\n${frames(3)}No Userspace Stack\n`);
  assert.equal(formatter.format(record(0, 0)), undefined);
  assert.equal(formatter.format(record(7, -1)), undefined);
  // A size past the array is capped at the array.
  assert.equal(formatter.format(record(8000, 0)), `COMM: test-comm (pid=4660) @ CPU 22136\nKernel:\n${frames(16)}No Userspace Stack\n`);
});

test('stack trace: field_map renames members; missing or mistyped fields fail at build', () => {
  const renamed = stackEvent(['tgid', 'cpu', 'task', 'ksz', 'usz', 'ks', 'us']);
  const formatter = createStackTraceFormatter(renamed.btf, renamed.columns, {
    pid: 'tgid',
    cpu_id: 'cpu',
    comm: 'task',
    kstack_sz: 'ksz',
    ustack_sz: 'usz',
    kstack: 'ks',
    ustack: 'us',
  });
  assert.equal(formatter.format(renamed.record(8, 0)), `COMM: test-comm (pid=4660) @ CPU 22136\nKernel:\n${frames(1)}No Userspace Stack\n`);
  assert.throws(
    () => createStackTraceFormatter(renamed.btf, renamed.columns),
    (e: unknown) => e instanceof EcliError && e.code === 'PACKAGE_INVALID' && e.message.includes('has no member "pid" for field pid'),
  );
  const unsignedComm = stackEvent(undefined, false);
  assert.throws(
    () => createStackTraceFormatter(unsignedComm.btf, unsignedComm.columns),
    (e: unknown) => e instanceof EcliError && e.message.includes('member "comm" (field comm) is unsigned char[16], expected a char array'),
  );
});

test('stack trace: a short record is a RUNTIME error', () => {
  const { btf, columns } = stackEvent();
  const formatter = createStackTraceFormatter(btf, columns);
  assert.throws(
    () => formatter.format(new Uint8Array(40)),
    (e: unknown) => e instanceof EcliError && e.code === 'RUNTIME',
  );
});

test('stack trace: a symbolizer adds sym+0xoff to the frames it names, kernel and user (of the event pid)', () => {
  const { btf, columns, record } = stackEvent();
  const asked: string[] = [];
  const formatter = createStackTraceFormatter(
    btf,
    columns,
    {},
    {
      kernel: (address) => (asked.push(`k${address}`), address === 0x10000n ? 'do_syscall_64+0x46' : undefined),
      user: (pid, address) => (asked.push(`u${pid}:${address}`), address === 0x10001n ? 'main+0x51' : undefined),
    },
  );
  assert.equal(
    formatter.format(record(16, 16)),
    'COMM: test-comm (pid=4660) @ CPU 22136\nKernel:\n  0 [<0000000000010000>] do_syscall_64+0x46\n  1 [<0000000000010001>]\nUserspace:\n  0 [<0000000000010000>]\n  1 [<0000000000010001>] main+0x51\n',
  );
  assert.deepEqual(asked, ['k65536', 'k65537', 'u4660:65536', 'u4660:65537']);
});
