/**
 * Kernel capability probes: plain reads of /proc and /sys (plus mounting tracefs on request),
 * so that error messages say what this kernel lacks instead of guessing from an errno.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, openSync, readFileSync, closeSync } from 'node:fs';
import { KERNEL_BTF_PATH } from '../btf/kernel-btf-path.js';
import { EcliError } from '../errors.js';
import { subdirectoriesOf } from '../files/stat.js';
import type { AttachKind } from '../model/attach-kind.js';
import { capabilityError, effectiveCapabilities, type ProcessCapabilities } from './capabilities.js';

const TRACEFS_MOUNT_POINTS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];
const KPROBE_PMU = '/sys/bus/event_source/devices/kprobe';
const SECURITYFS = '/sys/kernel/security';
const LSM_LIST = `${SECURITYFS}/lsm`;
const LOCKDOWN = `${SECURITYFS}/lockdown`;
const CPU_ONLINE = '/sys/devices/system/cpu/online';

/** Where tracefs is mounted (the folder holding `events/`), or undefined. */
export function findTracefs(): string | undefined {
  return TRACEFS_MOUNT_POINTS.find((dir) => existsSync(`${dir}/events`));
}

/**
 * findTracefs(), mounting tracefs at /sys/kernel/tracing first when it is missing and we are
 * root. Undefined when it is still unavailable.
 */
export function ensureTracefs(): string | undefined {
  const found = findTracefs();
  if (found !== undefined || process.geteuid?.() !== 0) return found;
  try {
    execFileSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS_MOUNT_POINTS[0]!], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return findTracefs();
}

/** kprobes work through the kprobe PMU or, on old kernels, tracefs' kprobe_events. */
export function hasKprobes(): boolean {
  if (existsSync(KPROBE_PMU)) return true;
  const tracefs = findTracefs();
  return tracefs !== undefined && existsSync(`${tracefs}/kprobe_events`);
}

export type TrampolineProbe = 'allowed' | 'refused' | 'unknown';

/**
 * Whether function tracing, which BPF trampolines (fentry/fexit/fmod_ret/LSM) are built on, is
 * open to us: a kernel that refuses root a read of available_filter_functions also refuses
 * to attach trampolines. 'unknown' without tracefs.
 */
export function probeTrampolines(): TrampolineProbe {
  const tracefs = findTracefs();
  if (tracefs === undefined) return 'unknown';
  try {
    closeSync(openSync(`${tracefs}/available_filter_functions`, 'r'));
    return 'allowed';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'EPERM' || code === 'EACCES' ? 'refused' : 'unknown';
  }
}

/** True/false from securityfs' LSM list; undefined when securityfs is not mounted. */
export function isBpfLsmEnabled(): boolean | undefined {
  try {
    return readFileSync(LSM_LIST, 'utf8').trim().split(',').includes('bpf');
  } catch {
    return undefined;
  }
}

export type LockdownLevel = 'none' | 'integrity' | 'confidentiality';

/**
 * The kernel lockdown level (the bracketed word of securityfs' lockdown file). When securityfs
 * is not mounted, it is read in a private mount namespace, so the host's mounts do not change.
 * Undefined without the lockdown LSM or when it cannot be read.
 */
export function lockdownLevel(): LockdownLevel | undefined {
  let text: string;
  try {
    text =
      existsSync(LOCKDOWN) || existsSync(LSM_LIST)
        ? readFileSync(LOCKDOWN, 'utf8')
        : execFileSync('unshare', ['--mount', 'sh', '-c', `mount -t securityfs securityfs ${SECURITYFS} && cat ${LOCKDOWN}`], {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'ignore'],
            timeout: 5000,
          });
  } catch {
    return undefined;
  }
  const level = /\[(\w+)\]/.exec(text)?.[1];
  return level === 'none' || level === 'integrity' || level === 'confidentiality' ? level : undefined;
}

export function hasVmlinuxBtf(): boolean {
  try {
    accessSync(KERNEL_BTF_PATH, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

export function tracepointExists(tracefs: string, category: string, name: string): boolean {
  return existsSync(`${tracefs}/events/${category}/${name}`);
}

/** `category/name` of every tracepoint under tracefs' events/; undefined when it cannot be read (not root). */
export function listTracepoints(tracefs: string): string[] | undefined {
  const events = `${tracefs}/events`;
  const categories = subdirectoriesOf(events);
  if (categories === undefined) return undefined;
  return categories.flatMap((category) => (subdirectoriesOf(`${events}/${category}`) ?? []).map((name) => `${category}/${name}`));
}

/** CPUs that are online now (perf events can only be opened on those). */
export function onlineCpus(): number[] {
  return parseCpuList(readFileSync(CPU_ONLINE, 'utf8'));
}

/** `0-3,6,8-9` → [0,1,2,3,6,8,9]. */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) throw new EcliError('INTERNAL', `cannot parse the CPU list "${text.trim()}"`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** The effective uid and capabilities of this process, from /proc/self/status. */
export function processCapabilities(): ProcessCapabilities {
  return { euid: process.geteuid?.() ?? 0, effective: effectiveCapabilities(readFileSync('/proc/self/status', 'utf8')) };
}

/** Throws the PERMISSION error before anything is loaded when the programs need capabilities this process lacks. */
export function checkPrivileges(kinds: readonly AttachKind[]): void {
  const refused = capabilityError(processCapabilities(), kinds);
  if (refused !== undefined) throw refused;
}
