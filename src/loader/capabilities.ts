/**
 * The capabilities loading a package needs, and which of them a process lacks. Pure: the
 * effective set comes from /proc/self/status through the probes. The kernel checks
 * capabilities, never the uid, so root whose capabilities were dropped (a container, capsh,
 * setpriv) is refused like any user.
 */
import { EcliError } from '../errors.js';
import type { AttachKind } from '../model/attach-kind.js';

const CAPABILITY_BITS = { CAP_NET_ADMIN: 12n, CAP_SYS_ADMIN: 21n, CAP_PERFMON: 38n, CAP_BPF: 39n } as const;
export type Capability = keyof typeof CAPABILITY_BITS;

/** Program kinds the kernel loads and attaches only with CAP_NET_ADMIN. */
const NETWORK_KINDS: ReadonlySet<AttachKind> = new Set(['xdp', 'tc', 'tcx']);

export interface ProcessCapabilities {
  euid: number;
  /** The CapEff mask; 0 when the status has none. */
  effective: bigint;
}

/** The CapEff line of a /proc/<pid>/status text. */
export function effectiveCapabilities(procStatus: string): bigint {
  const match = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(procStatus);
  return match ? BigInt(`0x${match[1]}`) : 0n;
}

/** CAP_BPF and CAP_PERFMON, plus CAP_NET_ADMIN when one of the programs is XDP or TC. */
export function requiredCapabilities(kinds: readonly AttachKind[]): Capability[] {
  const required: Capability[] = ['CAP_BPF', 'CAP_PERFMON'];
  if (kinds.some((kind) => NETWORK_KINDS.has(kind))) required.push('CAP_NET_ADMIN');
  return required;
}

/** Those of `required` the effective set lacks; none with CAP_SYS_ADMIN, which stands for all of them. */
export function missingCapabilities(effective: bigint, required: readonly Capability[]): Capability[] {
  const has = (cap: Capability): boolean => ((effective >> CAPABILITY_BITS[cap]) & 1n) === 1n;
  return has('CAP_SYS_ADMIN') ? [] : required.filter((cap) => !has(cap));
}

/** The PERMISSION error naming what is missing, or undefined when nothing is. */
export function capabilityError(process: ProcessCapabilities, kinds: readonly AttachKind[]): EcliError | undefined {
  const required = requiredCapabilities(kinds);
  const missing = missingCapabilities(process.effective, required);
  if (missing.length === 0) return undefined;
  const what = required.includes('CAP_NET_ADMIN') ? 'loading XDP and TC programs' : 'loading BPF';
  return new EcliError(
    'PERMISSION',
    `${what} needs ${englishList(required)} (or CAP_SYS_ADMIN); this process (uid ${process.euid}) lacks ${englishList(missing)}`,
    {
      hint:
        process.euid === 0
          ? `root's capabilities are dropped here; grant them (for example docker run ${missing.map((cap) => `--cap-add ${cap.slice(4)}`).join(' ')})`
          : 'run it with sudo',
    },
  );
}

function englishList(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
