/**
 * What `ecli inspect` and `ecli pull` tell about a Wasm module without running it: what it
 * imports (the host functions with their signatures), what it exports, its memory, and whether
 * `ecli run` would take it (the ABI check). Pure.
 */
import { EcliError } from '../errors.js';
import { CALLBACK_MODULES, HOST_MODULE, WASI_MODULE, checkModule } from './abi.js';
import { formatPages, formatSignature, readModuleInfo, type ModuleInfo } from './module-binary.js';

export interface WasmModuleReport {
  source: string;
  kind: 'wasm-module';
  size: number;
  /** Whether `ecli run` takes it, and why not. */
  runnable: boolean;
  problem?: string;
  imports: { module: string; name: string; kind: string; signature?: string }[];
  exports: { name: string; kind: string }[];
  /** The memory the module defines, in 64 KiB pages. */
  memory?: { minPages: number; maxPages?: number };
}

export function wasmModuleReport(bytes: Uint8Array, source: string): WasmModuleReport {
  const info = readModuleInfo(bytes, source);
  const problem = abiProblem(info, source);
  const memory = info.memories[0];
  return {
    source,
    kind: 'wasm-module',
    size: bytes.length,
    runnable: problem === undefined,
    ...(problem === undefined ? {} : { problem }),
    imports: info.imports.map(({ module, name, description }) => ({
      module,
      name,
      kind: description.kind,
      ...(description.kind === 'function' ? { signature: formatSignature(description.signature) } : {}),
    })),
    exports: info.exports.map(({ name, kind }) => ({ name, kind })),
    ...(memory === undefined ? {} : { memory: { minPages: memory.minPages, ...(memory.maxPages === undefined ? {} : { maxPages: memory.maxPages }) } }),
  };
}

/** One line for `ecli pull`: `a wasm-bpf module: imports 6 wasm_bpf functions and 9 of WASI preview 1; exports _start, memory, ...`. */
export function wasmModuleSummary(bytes: Uint8Array, source: string): string {
  const info = readModuleInfo(bytes, source);
  const problem = abiProblem(info, source);
  const count = (module: string): number => info.imports.filter((i) => i.module === module).length;
  const callbacks = Object.keys(CALLBACK_MODULES).reduce((sum, module) => sum + count(module), 0);
  const imported = [
    [count(HOST_MODULE), `${HOST_MODULE} function`],
    [callbacks, 'TinyGo poll'],
    [count(WASI_MODULE), 'WASI preview 1 function'],
    [info.imports.length - count(HOST_MODULE) - callbacks - count(WASI_MODULE), 'other import'],
  ]
    .filter(([n]) => (n as number) > 0)
    .map(([n, what]) => `${n} ${what}${n === 1 ? '' : 's'}`);
  const what = count(HOST_MODULE) + callbacks > 0 ? 'a wasm-bpf module' : 'a WebAssembly module';
  const verdict = problem === undefined ? '' : `; ecli run refuses it: ${problem}`;
  return `${what}: imports ${imported.length === 0 ? 'nothing' : imported.join(', ')}; exports ${exportsText(info)}${verdict}`;
}

/** Why `ecli run` refuses the module (the ABI check's message), or undefined when it takes it. */
function abiProblem(info: ModuleInfo, source: string): string | undefined {
  try {
    checkModule(info, source);
    return undefined;
  } catch (error) {
    if (!(error instanceof EcliError)) throw error;
    return error.message;
  }
}

export function memoryText(memory: WasmModuleReport['memory']): string {
  if (memory === undefined) return 'none of its own';
  const max = memory.maxPages === undefined ? 'no maximum' : `at most ${formatPages(memory.maxPages)}`;
  return `${formatPages(memory.minPages)} at start, ${max}`;
}

function exportsText(info: ModuleInfo): string {
  return info.exports.length === 0 ? 'nothing' : info.exports.map((e) => e.name).join(', ');
}
