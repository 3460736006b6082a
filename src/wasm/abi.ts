/**
 * The wasm-bpf host ABI as a guest sees it: the functions of the host module `wasm_bpf` with
 * their exact WebAssembly signatures (those of the reference runtimes, wasm-bpf-rs and the C++
 * runtime, which agree on them), the poll TinyGo guests import instead, the map commands, and the
 * WASI preview 1 functions Node provides. checkModule refuses, before anything runs, a module that
 * imports something else or with another signature, or lacks an export the host calls. Pure.
 */
import { EcliError } from '../errors.js';
import { formatSignature, type FunctionSignature, type ModuleInfo, type ValueType } from './module-binary.js';

export const HOST_MODULE = 'wasm_bpf';
/**
 * TinyGo guests cannot hand over a function table index: they import a poll without one, from
 * module `callback-wrapper`, and the host calls back their export `go-callback` (what TinyGo
 * guests built with wasm-bpf's Go SDK do, and the wasm-bpf command's defaults). wasm-bpf-rs's
 * library defaults, which the reference ecli uses, name them the other way round (module
 * `go-callback`, export `callback-wrapper`): ecli takes both, each module with its export.
 */
export const CALLBACK_MODULES: Readonly<Record<string, string>> = { 'callback-wrapper': 'go-callback', 'go-callback': 'callback-wrapper' };
export const WASI_MODULE = 'wasi_snapshot_preview1';
export const TABLE_EXPORT = '__indirect_function_table';
export const MEMORY_EXPORT = 'memory';
export const START_EXPORT = '_start';

const sig = (params: ValueType[], results: ValueType[]): FunctionSignature => ({ params, results });

/** `wasm_bpf` functions. Handles are u64 (i64), pointers and fds i32, map flags u64. */
export const HOST_FUNCTIONS = {
  wasm_load_bpf_object: sig(['i32', 'i32'], ['i64']),
  wasm_attach_bpf_program: sig(['i64', 'i32', 'i32'], ['i32']),
  wasm_bpf_map_fd_by_name: sig(['i64', 'i32'], ['i32']),
  wasm_bpf_map_operate: sig(['i32', 'i32', 'i32', 'i32', 'i32', 'i64'], ['i32']),
  wasm_bpf_buffer_poll: sig(['i64', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], ['i32']),
  wasm_close_bpf_object: sig(['i64'], ['i32']),
} as const satisfies Record<string, FunctionSignature>;

export type HostFunctionName = keyof typeof HOST_FUNCTIONS;

/** The TinyGo poll: wasm_bpf_buffer_poll without sample_func. */
export const CALLBACK_POLL = 'wasm_bpf_buffer_poll';
export const CALLBACK_POLL_SIGNATURE: FunctionSignature = sig(['i64', 'i32', 'i32', 'i32', 'i32', 'i32'], ['i32']);

/** The map commands wasm_bpf_map_operate takes: the kernel's BPF_MAP_* command numbers. */
export const MAP_COMMAND = { lookup: 1, update: 2, delete: 3, getNextKey: 4 } as const;

/** WASI preview 1 (wasi_snapshot_preview1): every function Node's node:wasi provides. */
export const WASI_FUNCTIONS: ReadonlySet<string> = new Set([
  'args_get',
  'args_sizes_get',
  'environ_get',
  'environ_sizes_get',
  'clock_res_get',
  'clock_time_get',
  'fd_advise',
  'fd_allocate',
  'fd_close',
  'fd_datasync',
  'fd_fdstat_get',
  'fd_fdstat_set_flags',
  'fd_fdstat_set_rights',
  'fd_filestat_get',
  'fd_filestat_set_size',
  'fd_filestat_set_times',
  'fd_pread',
  'fd_prestat_get',
  'fd_prestat_dir_name',
  'fd_pwrite',
  'fd_read',
  'fd_readdir',
  'fd_renumber',
  'fd_seek',
  'fd_sync',
  'fd_tell',
  'fd_write',
  'path_create_directory',
  'path_filestat_get',
  'path_filestat_set_times',
  'path_link',
  'path_open',
  'path_readlink',
  'path_remove_directory',
  'path_rename',
  'path_symlink',
  'path_unlink_file',
  'poll_oneoff',
  'proc_exit',
  'proc_raise',
  'sched_yield',
  'random_get',
  'sock_accept',
  'sock_recv',
  'sock_send',
  'sock_shutdown',
]);

/** What the host must find among a module's exports, given what it imports. */
export interface ModuleNeeds {
  /** It imports wasm_bpf_buffer_poll: the host calls back through the function table. */
  table: boolean;
  /** The export the host calls back, for a module that imports a TinyGo poll. */
  callbackExport: string | undefined;
}

/**
 * Refuses (PACKAGE_INVALID) a module that imports what the host does not provide, or a host
 * function with another signature, or that lacks `_start`, its memory, or the export through
 * which the host calls it back.
 */
export function checkModule(info: ModuleInfo, source: string): ModuleNeeds {
  const refuse: (what: string, hint: string) => never = (what, hint) => {
    throw new EcliError('PACKAGE_INVALID', `${source} ${what}`, { hint });
  };
  for (const { module, name, description } of info.imports) {
    const expected = expectedImport(module, name);
    if (expected === undefined) {
      refuse(
        `imports ${module}.${name} (${description.kind}), which ecli does not provide`,
        `a wasm-bpf module may import the ${HOST_MODULE} functions (${Object.keys(HOST_FUNCTIONS).join(', ')}), ${Object.keys(CALLBACK_MODULES)
          .map((m) => `${m}.${CALLBACK_POLL}`)
          .join(' or ')} and WASI preview 1`,
      );
    }
    if (expected === 'wasi') {
      if (description.kind !== 'function') refuse(`imports ${module}.${name} as a ${description.kind}; WASI provides functions`, 'rebuild it for wasm32-wasi');
      continue;
    }
    if (description.kind !== 'function' || !sameSignature(description.signature, expected)) {
      const got = description.kind === 'function' ? formatSignature(description.signature) : `a ${description.kind}`;
      refuse(
        `imports ${module}.${name} as ${got}, but the host function is ${formatSignature(expected)}`,
        'the module was built against another version of the ABI; rebuild it with sdk/wasm/libbpf-wasm.h',
      );
    }
  }
  const exported = (name: string, kind: string): boolean => info.exports.some((e) => e.name === name && e.kind === kind);
  if (!exported(START_EXPORT, 'function')) {
    refuse(
      `exports no ${START_EXPORT} function: it is not a WASI command`,
      'build it as a program with a main() (clang --target=wasm32-wasi), not as a library or reactor',
    );
  }
  if (!exported(MEMORY_EXPORT, 'memory')) refuse(`exports no memory named "${MEMORY_EXPORT}"`, 'WASI needs the module to export its memory');
  const imports = (module: string, name: string): boolean => info.imports.some((i) => i.module === module && i.name === name);
  const callbackModule = Object.keys(CALLBACK_MODULES).find((module) => imports(module, CALLBACK_POLL));
  const needs: ModuleNeeds = {
    table: imports(HOST_MODULE, 'wasm_bpf_buffer_poll'),
    callbackExport: callbackModule === undefined ? undefined : CALLBACK_MODULES[callbackModule],
  };
  if (needs.table && !exported(TABLE_EXPORT, 'table')) {
    refuse(`imports wasm_bpf_buffer_poll but exports no ${TABLE_EXPORT}, through which the host calls back`, 'link it with -Wl,--export-table');
  }
  if (needs.callbackExport !== undefined && !exported(needs.callbackExport, 'function')) {
    refuse(
      `imports ${callbackModule}.${CALLBACK_POLL} but exports no "${needs.callbackExport}" function to call back`,
      'build it with the TinyGo wasm-bpf SDK',
    );
  }
  return needs;
}

function expectedImport(module: string, name: string): FunctionSignature | 'wasi' | undefined {
  if (module === WASI_MODULE) return WASI_FUNCTIONS.has(name) ? 'wasi' : undefined;
  if (module === HOST_MODULE) return Object.hasOwn(HOST_FUNCTIONS, name) ? HOST_FUNCTIONS[name as HostFunctionName] : undefined;
  if (Object.hasOwn(CALLBACK_MODULES, module) && name === CALLBACK_POLL) return CALLBACK_POLL_SIGNATURE;
  return undefined;
}

function sameSignature(a: FunctionSignature, b: FunctionSignature): boolean {
  const same = (x: readonly ValueType[], y: readonly ValueType[]): boolean => x.length === y.length && x.every((t, i) => t === y[i]);
  return same(a.params, b.params) && same(a.results, b.results);
}
