/**
 * Builds what the benchmark runs, under bench/out: the C helpers (cc), the two high-rate
 * packages and the two execsnoop examples (./ecc), and the exec target (a copy of true).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export interface Package {
  json: string;
  object: string;
}

export interface Built {
  rusage: string;
  rateGen: string;
  execGen: string;
  consumer: string;
  ringbufRate: Package;
  perfRate: Package;
  execsnoop: Package;
  execsnoopFull: Package;
  /** Directory of the exec target; exec it as `./${EXEC_TARGET}` from there. */
  execDir: string;
}

/** examples/wasm/execve twice: as a JSON package, and as a wasm-bpf guest of the same BPF object. */
export interface WasmExecve {
  json: string;
  wasm: string;
}

/** The exec storm's program: a short unique name every tracer shows (comm, file name or argv). */
export const EXEC_TARGET = 'xbenchx';

export function buildAll(root: string, out: string, log: (line: string) => void): Built {
  const binDir = path.join(out, 'bin');
  mkdirSync(binDir, { recursive: true });
  const cc = (name: string, libs: string[] = []): string => {
    const target = path.join(binDir, name);
    execFileSync('cc', ['-O2', '-Wall', '-o', target, path.join(root, 'bench/c', `${name}.c`), ...libs], { stdio: 'inherit' });
    return target;
  };
  log('building the C helpers (cc -O2)');
  const built = {
    rusage: cc('rusage'),
    rateGen: cc('rate-gen'),
    execGen: cc('exec-gen'),
    consumer: cc('consumer', ['-lbpf']),
  };
  const ecc = (name: string, source: string, header: string): Package => {
    const dir = path.join(out, 'pkg', name);
    mkdirSync(dir, { recursive: true });
    try {
      execFileSync(path.join(root, 'ecc'), ['-o', dir, path.join(root, source), path.join(root, header)], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
      throw new Error(`./ecc ${source} failed: ${stderr.split('\n').slice(-3).join(' | ')}`);
    }
    const base = path.basename(source, '.bpf.c');
    return { json: path.join(dir, 'package.json'), object: path.join(dir, `${base}.bpf.o`) };
  };
  log('compiling the packages (./ecc)');
  const execDir = path.join(out, 'exec');
  mkdirSync(execDir, { recursive: true });
  copyFileSync('/bin/true', path.join(execDir, EXEC_TARGET));
  return {
    ...built,
    ringbufRate: ecc('ringbuf-rate', 'bench/bpf/ringbuf-rate.bpf.c', 'bench/bpf/rate-event.h'),
    perfRate: ecc('perf-rate', 'bench/bpf/perf-rate.bpf.c', 'bench/bpf/rate-event.h'),
    execsnoop: ecc('execsnoop', 'examples/execsnoop/execsnoop.bpf.c', 'examples/execsnoop/execsnoop.h'),
    execsnoopFull: ecc('execsnoop-full', 'examples/execsnoop-full/execsnoop-full.bpf.c', 'examples/execsnoop-full/execsnoop-full.h'),
    execDir,
  };
}

/**
 * examples/wasm/execve compiled by ./ecc with --wasm-skeleton (the package and the guest's
 * skeleton come from one object), and its guest by clang-19 for wasm32-wasi (make setup installs it).
 */
export function buildWasmExecve(root: string, out: string, log: (line: string) => void): WasmExecve {
  const source = path.join(root, 'examples/wasm/execve');
  const dir = path.join(out, 'pkg', 'wasm-execve');
  mkdirSync(dir, { recursive: true });
  log('compiling examples/wasm/execve (./ecc --wasm-skeleton, clang-19 --target=wasm32-wasi)');
  const run = (command: string, args: string[]): void => {
    try {
      execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
      throw new Error(`${command} failed: ${stderr.split('\n').slice(-3).join(' | ')}`);
    }
  };
  run(path.join(root, 'ecc'), ['-o', dir, '--wasm-skeleton', path.join(source, 'execve.bpf.c'), path.join(source, 'execve.h')]);
  const wasm = path.join(dir, 'execve.wasm');
  run('clang-19', ['--target=wasm32-wasi', '-O2', `-I${dir}`, `-I${source}`, '-Wl,--export-table', '-o', wasm, path.join(source, 'execve.c')]);
  return { json: path.join(dir, 'package.json'), wasm };
}
