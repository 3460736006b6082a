/**
 * Reading a Wasm module's binary (imports with their signatures, exports, memory limits), capping
 * its memory, and the ABI check that refuses a module ecli cannot run, on modules built byte by byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { EcliError } from '../../src/errors.js';
import { HOST_FUNCTIONS, WASI_FUNCTIONS, checkModule } from '../../src/wasm/abi.js';
import { readModuleInfo, withMemoryLimit } from '../../src/wasm/module-binary.js';
import { wasmModuleReport, wasmModuleSummary } from '../../src/wasm/module-report.js';
import { WasmBuilder, op } from '../helpers/wasm-builder.js';
import { errorWith } from '../helpers/assertions.js';

interface GuestShape {
  /** Host functions to import, with their signatures as the module declares them. */
  host?: { name: string; params: ('i32' | 'i64')[]; results: ('i32' | 'i64')[]; module?: string }[];
  memory?: { min: number; max?: number } | false;
  start?: boolean;
  table?: boolean;
  /** The name under which the callback is exported. */
  callback?: string;
}

/** A module shaped like a wasm-bpf guest (with `_start`, `memory`, and the imports asked for). */
function guest(shape: GuestShape = {}): Uint8Array<ArrayBuffer> {
  const m = new WasmBuilder();
  const exitType = m.type(['i32'], []);
  m.importFunction('wasi_snapshot_preview1', 'proc_exit', exitType);
  for (const f of shape.host ?? []) m.importFunction(f.module ?? 'wasm_bpf', f.name, m.type(f.params, f.results));
  const voidType = m.type([], []);
  const start = m.function(voidType, []);
  const callback = m.function(m.type(['i32', 'i32', 'i32'], ['i32']), op.i32Const(0));
  if (shape.memory !== false) m.memory(shape.memory?.min ?? 1, shape.memory?.max);
  if (shape.memory !== false) m.export('memory', 'memory', 0);
  if (shape.start !== false) m.export('_start', 'function', start);
  if (shape.table === true) m.table([callback]).export('__indirect_function_table', 'table', 0);
  if (shape.callback !== undefined) m.export(shape.callback, 'function', callback);
  return m.build();
}

const ALL_HOST = Object.entries(HOST_FUNCTIONS).map(([name, s]) => ({
  name,
  params: [...s.params] as ('i32' | 'i64')[],
  results: [...s.results] as ('i32' | 'i64')[],
}));

test('the imports come with their signatures, the exports with their kinds, the memory with its limits', () => {
  const bytes = guest({ host: ALL_HOST, memory: { min: 2, max: 300 }, table: true });
  assert.ok(WebAssembly.validate(bytes));
  const info = readModuleInfo(bytes, 'g.wasm');
  assert.deepEqual(info.imports[0], {
    module: 'wasi_snapshot_preview1',
    name: 'proc_exit',
    description: { kind: 'function', signature: { params: ['i32'], results: [] } },
  });
  assert.deepEqual(info.imports.find((i) => i.name === 'wasm_bpf_map_operate')?.description, {
    kind: 'function',
    signature: { params: ['i32', 'i32', 'i32', 'i32', 'i32', 'i64'], results: ['i32'] },
  });
  assert.deepEqual(info.exports, [
    { name: 'memory', kind: 'memory' },
    { name: '_start', kind: 'function' },
    { name: '__indirect_function_table', kind: 'table' },
  ]);
  assert.deepEqual(info.memories, [{ minPages: 2, maxPages: 300, shared: false, memory64: false }]);
  assert.deepEqual(checkModule(info, 'g.wasm'), { table: true, callbackExport: undefined });
});

test('malformed modules are one PACKAGE_INVALID line with the byte where reading stopped', () => {
  const bytes = guest({ host: ALL_HOST });
  const cases: [Uint8Array, RegExp][] = [
    [Uint8Array.from([1, 2, 3, 4]), /no \\0asm magic \(at byte 0\)/],
    [Uint8Array.from([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0]), /not version 1 of the binary format/],
    [bytes.subarray(0, bytes.length - 3), /section 10 runs past the end of the module \(at byte \d+\)/],
    [Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), /a number is (too long|out of range)/],
    [Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 3, 1, 0x50, 0]), /a type that is not a function type \(at byte 11\)/],
  ];
  for (const [broken, message] of cases) {
    assert.throws(
      () => readModuleInfo(broken, 'bad.wasm'),
      errorWith('PACKAGE_INVALID', new RegExp(`^bad\\.wasm is not a valid WebAssembly module: (?:${message.source})`)),
    );
  }
});

test('every prefix of a module reads as a module or fails with PACKAGE_INVALID, never anything else', () => {
  const bytes = guest({ host: ALL_HOST, table: true, memory: { min: 1, max: 2 } });
  for (let length = 0; length < bytes.length; length++) {
    try {
      readModuleInfo(bytes.subarray(0, length), 'p.wasm');
    } catch (error) {
      assert.ok(error instanceof EcliError && error.code === 'PACKAGE_INVALID', `prefix of ${length} bytes: ${String(error)}`);
    }
  }
});

test('withMemoryLimit gives a memory without a maximum one, lowers a higher one, keeps a lower one, and refuses one that needs more to start', async () => {
  const unbounded = guest({ memory: { min: 2 } });
  const capped = withMemoryLimit(unbounded, 16, 'g.wasm') as Uint8Array<ArrayBuffer>;
  assert.deepEqual(readModuleInfo(capped, 'g.wasm').memories[0], { minPages: 2, maxPages: 16, shared: false, memory64: false });
  assert.ok(WebAssembly.validate(capped));
  const memory = (await WebAssembly.instantiate(capped, { wasi_snapshot_preview1: { proc_exit: () => undefined } })).instance.exports[
    'memory'
  ] as WebAssembly.Memory;
  assert.throws(() => memory.grow(15), /Maximum memory size exceeded/);
  memory.grow(14);

  assert.equal(readModuleInfo(withMemoryLimit(guest({ memory: { min: 1, max: 65536 } }), 300, 'g.wasm'), 'g.wasm').memories[0]?.maxPages, 300);
  const lower = guest({ memory: { min: 1, max: 8 } });
  assert.equal(withMemoryLimit(lower, 300, 'g.wasm'), lower, 'unchanged');
  const noMemory = guest({ memory: false });
  assert.equal(withMemoryLimit(noMemory, 1, 'g.wasm'), noMemory);
  assert.throws(
    () => withMemoryLimit(guest({ memory: { min: 40 } }), 16, 'g.wasm'),
    errorWith('USAGE', /^g\.wasm needs 2560 KiB of memory to start, more than the limit of 1 MiB$/),
  );
});

test('checkModule refuses what ecli does not provide, a host function of another signature, and missing exports', () => {
  const refused = (shape: GuestShape, message: RegExp): void => {
    assert.throws(() => checkModule(readModuleInfo(guest(shape), 'g.wasm'), 'g.wasm'), errorWith('PACKAGE_INVALID', message));
  };
  refused(
    { host: [{ name: 'wasm_load_bpf_object', module: 'env', params: ['i32'], results: [] }] },
    /^g\.wasm imports env\.wasm_load_bpf_object \(function\), which ecli does not provide$/,
  );
  refused(
    { host: [{ name: 'wasm_open_everything', params: [], results: [] }] },
    /imports wasm_bpf\.wasm_open_everything \(function\), which ecli does not provide/,
  );
  refused(
    { host: [{ name: 'wasm_attach_bpf_program', params: ['i32', 'i32', 'i32'], results: ['i32'] }] },
    /^g\.wasm imports wasm_bpf\.wasm_attach_bpf_program as \(i32, i32, i32\) -> i32, but the host function is \(i64, i32, i32\) -> i32$/,
  );
  refused({ start: false }, /exports no _start function: it is not a WASI command/);
  refused({ memory: false }, /exports no memory named "memory"/);
  refused(
    { host: [{ name: 'wasm_bpf_buffer_poll', params: ['i64', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], results: ['i32'] }] },
    /exports no __indirect_function_table/,
  );
  const tinyPoll = (module: string): NonNullable<GuestShape['host']>[number] => ({
    name: 'wasm_bpf_buffer_poll',
    module,
    params: ['i64', 'i32', 'i32', 'i32', 'i32', 'i32'],
    results: ['i32'],
  });
  refused({ host: [tinyPoll('callback-wrapper')] }, /imports callback-wrapper\.wasm_bpf_buffer_poll but exports no "go-callback" function/);
  refused({ host: [tinyPoll('go-callback')] }, /imports go-callback\.wasm_bpf_buffer_poll but exports no "callback-wrapper" function/);
  // What TinyGo guests import and export; and wasm-bpf-rs's library defaults, the other way round.
  const tinyGo = guest({ host: [tinyPoll('callback-wrapper')], callback: 'go-callback' });
  assert.deepEqual(checkModule(readModuleInfo(tinyGo, 'g.wasm'), 'g.wasm'), { table: false, callbackExport: 'go-callback' });
  const swapped = guest({ host: [tinyPoll('go-callback')], callback: 'callback-wrapper' });
  assert.deepEqual(checkModule(readModuleInfo(swapped, 'g.wasm'), 'g.wasm'), { table: false, callbackExport: 'callback-wrapper' });
});

test('WASI_FUNCTIONS is exactly what node:wasi provides', () => {
  const emitWarning = process.emitWarning;
  process.emitWarning = () => undefined;
  try {
    const { WASI } = createRequire(import.meta.url)('node:wasi') as typeof import('node:wasi');
    assert.deepEqual([...WASI_FUNCTIONS].sort(), Object.keys(new WASI({ version: 'preview1' }).wasiImport).sort());
  } finally {
    process.emitWarning = emitWarning;
  }
});

test('the report for inspect and the one line for pull', () => {
  const bytes = guest({ host: ALL_HOST, table: true, memory: { min: 2 } });
  const report = wasmModuleReport(bytes, 'g.wasm');
  assert.equal(report.runnable, true);
  assert.equal(report.imports.length, 7);
  assert.deepEqual(report.memory, { minPages: 2 });
  assert.equal(
    wasmModuleSummary(bytes, 'g.wasm'),
    'a wasm-bpf module: imports 6 wasm_bpf functions, 1 WASI preview 1 function; exports memory, _start, __indirect_function_table',
  );
  const refused = guest({ start: false });
  assert.match(
    wasmModuleSummary(refused, 'r.wasm'),
    /^a WebAssembly module: imports 1 WASI preview 1 function; exports memory; ecli run refuses it: r\.wasm exports no _start/,
  );
});
