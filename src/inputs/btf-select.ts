/**
 * Which BTF describes the running kernel: BTF_FILE_PATH if set, else the kernel's own
 * /sys/kernel/btf/vmlinux (undefined: libbpf finds it), else the package's btfhub-archive file
 * for this system's os-release ID/VERSION_ID, machine and kernel release.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { KERNEL_BTF_PATH } from '../btf/kernel-btf-path.js';
import { EcliError } from '../errors.js';
import { btfRelativePath, describeTarget, isSafeComponent, type BtfTarget } from './btfhub.js';

const OS_RELEASE_PATHS = ['/etc/os-release', '/usr/lib/os-release'];

export interface BtfFileChecks {
  isReadable(path: string): boolean;
  isFile(path: string): boolean;
}

export interface BtfSelectInput {
  /** The extracted btfhub-archive directory of the package, if it has one. */
  archiveDir?: string;
  env: Record<string, string | undefined>;
  /** Text of /etc/os-release; read from the system when absent. */
  osRelease?: string;
  /** `uname -m` and `uname -r`; taken from the system when absent. */
  uname?: { machine: string; release: string };
  fs?: BtfFileChecks;
}

const systemChecks: BtfFileChecks = {
  isReadable(path) {
    try {
      accessSync(path, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  },
  isFile(path) {
    try {
      return statSync(path).isFile();
    } catch {
      return false;
    }
  },
};

/** The BTF file to give libbpf as btf_custom_path, or undefined to use the kernel's own. */
export function selectBtfPath(input: BtfSelectInput): string | undefined {
  const fs = input.fs ?? systemChecks;
  const fromEnv = input.env.BTF_FILE_PATH;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!fs.isFile(fromEnv) || !fs.isReadable(fromEnv)) {
      throw new EcliError('INPUT_NOT_FOUND', `BTF_FILE_PATH=${fromEnv}: no such readable file`, {
        hint: 'point BTF_FILE_PATH at a vmlinux BTF file, or unset it to use the kernel BTF',
      });
    }
    return fromEnv;
  }
  if (fs.isReadable(KERNEL_BTF_PATH)) return undefined;

  const target = systemTarget(input);
  if (input.archiveDir !== undefined && [target.id, target.versionId, target.arch, target.release].every(isSafeComponent)) {
    const candidate = join(input.archiveDir, btfRelativePath(target));
    if (fs.isFile(candidate) && fs.isReadable(candidate)) return candidate;
  }
  throw new EcliError('KERNEL_UNSUPPORTED', `this kernel has no BTF (${KERNEL_BTF_PATH}) and the package carries none for ${describeTarget(target)}`, {
    hint: 'set BTF_FILE_PATH=<vmlinux BTF file> or pack one with ecli pack --btf',
  });
}

function systemTarget(input: BtfSelectInput): BtfTarget {
  const release = parseOsRelease(input.osRelease ?? readOsRelease());
  const uname = input.uname ?? { machine: os.machine(), release: os.release() };
  // os-release(5): ID defaults to "linux"; VERSION_ID may be absent (rolling distributions).
  return { id: release.ID ?? 'linux', versionId: release.VERSION_ID ?? '', arch: uname.machine, release: uname.release };
}

function readOsRelease(): string {
  for (const path of OS_RELEASE_PATHS) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      // try the next location
    }
  }
  return '';
}

/** KEY=value lines; values may be quoted with "..." or '...' and use backslash escapes. */
export function parseOsRelease(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*?)\s*$/.exec(line);
    if (match === null) continue;
    const [, key, raw] = match as unknown as [string, string, string];
    const quoted = /^(["'])(.*)\1$/.exec(raw);
    fields[key] = quoted === null ? raw : quoted[2]!.replace(/\\(.)/g, '$1');
  }
  return fields;
}
