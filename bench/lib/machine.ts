/** The machine and tool versions a benchmark ran with. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Machine {
  date: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  libbpf: string;
  koffi: string;
  clang: string;
  bpftrace: string;
  libbpfTools: string;
}

function quiet(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'not installed';
  }
}

export function describeMachine(root: string): Machine {
  const koffi = JSON.parse(readFileSync(path.join(root, 'node_modules/koffi/package.json'), 'utf8')) as { version: string };
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: os.release(),
    node: process.version,
    libbpf: quiet('dpkg-query', ['-W', '-f=${Version}', 'libbpf1']),
    koffi: koffi.version,
    clang: quiet('clang', ['--version']).split('\n')[0] ?? '',
    bpftrace: quiet('bpftrace', ['--version']),
    libbpfTools: quiet('dpkg-query', ['-W', '-f=${Version}', 'libbpf-tools']),
  };
}
