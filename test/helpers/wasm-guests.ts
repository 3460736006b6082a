/**
 * Builds the Wasm guests the tests run, the way a user builds one: `./ecc --wasm-skeleton` writes
 * the BPF object, its C skeleton and sdk/wasm/libbpf-wasm.h into a folder, then clang compiles
 * the guest's user space for wasm32-wasi against them (Debian's clang-19 or clang-14 with lld,
 * wasi-libc and the wasm32 compiler runtime, which make setup installs). Guests are
 * examples/wasm/<name>/ and test/wasm-guests/<name>/; each is built once per test process.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { findExecutable } from '../../src/compiler/process.js';
import { repoRoot, skipUnlessCi } from './env.js';
import { eccPath, runTool } from './ecli-process.js';
import { haveToolchain } from './examples.js';

export interface BuiltGuest {
  /** `<dir>/<name>.wasm`. */
  wasm: string;
  /** Where ecc and clang wrote everything (`<name>.bpf.o`, `<name>.skel.h`, `package.json`...). */
  dir: string;
  /** The guest's BPF program names as the kernel keeps them (15 characters). */
  programNames: string[];
}

/** clang builds for wasm32-wasi when it has the wasm32 compiler runtime; Debian's clang-19 first. */
const CLANGS = [
  { clang: 'clang-19', runtime: '/usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a' },
  { clang: 'clang-14', runtime: '/usr/lib/llvm-14/lib/clang/14.0.6/lib/wasi/libclang_rt.builtins-wasm32.a' },
];
const WASI_LIBC = '/usr/include/wasm32-wasi/stdio.h';

const built = new Map<string, BuiltGuest>();
let buildRoot: string | undefined;

/** The clang that can build guests, or undefined (after skipping, or failing in CI). */
export function haveWasmToolchain(t: TestContext): boolean {
  if (!haveToolchain(t)) return false;
  const missing = [];
  if (wasmClang() === undefined) missing.push('clang-19 (or clang-14) with libclang-rt-19-dev-wasm32 and lld-19');
  if (!existsSync(WASI_LIBC)) missing.push('wasi-libc');
  if (missing.length === 0) return true;
  skipUnlessCi(t, `building Wasm guests needs ${missing.join(' and ')} (make setup installs them)`);
  return false;
}

function wasmClang(): string | undefined {
  return CLANGS.find(({ clang, runtime }) => existsSync(runtime) && findExecutable([clang]) !== undefined)?.clang;
}

/** examples/wasm/<name> or test/wasm-guests/<name>, built (once per process) into a folder removed at exit. */
export function buildGuest(name: string): BuiltGuest {
  const cached = built.get(name);
  if (cached !== undefined) return cached;
  const source = [path.join(repoRoot, 'examples/wasm', name), path.join(repoRoot, 'test/wasm-guests', name)].find((dir) =>
    existsSync(path.join(dir, `${name}.c`)),
  );
  assert.ok(source !== undefined, `no Wasm guest named ${name}`);
  if (buildRoot === undefined) {
    const root = mkdtempSync(path.join(tmpdir(), 'ecli-wasm-guests-'));
    buildRoot = root;
    process.on('exit', () => rmSync(root, { recursive: true, force: true }));
  }
  const dir = path.join(buildRoot, name);
  const header = path.join(source, `${name}.h`);
  const ecc = runTool(eccPath, [path.join(source, `${name}.bpf.c`), ...(existsSync(header) ? [header] : []), '-o', dir, '--wasm-skeleton']);
  assert.equal(ecc.status, 0, `ecc --wasm-skeleton for ${name} failed:\n${ecc.stderr}`);
  const clang = wasmClang();
  assert.ok(clang !== undefined, 'no clang that builds for wasm32-wasi');
  const wasm = path.join(dir, `${name}.wasm`);
  const args = [
    '--target=wasm32-wasi',
    '-O2',
    '-Wall',
    '-Wextra',
    '-Werror',
    `-I${dir}`,
    `-I${source}`,
    '-Wl,--export-table',
    '-o',
    wasm,
    path.join(source, `${name}.c`),
  ];
  const compiled = runTool(clang, args);
  assert.equal(compiled.status, 0, `${clang} ${args.join(' ')} failed:\n${compiled.stderr}`);
  const skeleton = JSON.parse(readFileSync(path.join(dir, `${name}.skel.json`), 'utf8')) as { bpf_skel: { progs: { name: string }[] } };
  const guest = { wasm, dir, programNames: skeleton.bpf_skel.progs.map((p) => p.name.slice(0, 15)) };
  built.set(name, guest);
  return guest;
}
