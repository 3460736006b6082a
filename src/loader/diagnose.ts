/**
 * Turns a failed bpf_object__load or attach (its errno plus the libbpf messages it produced)
 * into a typed error that names the program and says what to do. Pure: kernel facts come from
 * the probes through the `facts` argument, asked only when a diagnosis needs them.
 */
import { EcliError } from '../errors.js';
import { didYouMean } from '../suggest.js';
import { type AttachKind, tracepointOf, uprobeTargetOf, usdtTargetOf, usesTrampoline } from '../model/attach-kind.js';
import { EACCES, EINVAL, ENOENT, EOPNOTSUPP, EPERM, describeErrno, errnoName } from './ffi/errno.js';
import { capabilityError, type ProcessCapabilities } from './capabilities.js';
import type { LockdownLevel, TrampolineProbe } from './probe.js';
import { summarizeVerifierLog } from './verifier-log.js';

export interface ProgramIdentity {
  name: string;
  sectionName: string;
  kind: AttachKind;
  /** It computes or compares in 32-bit subregisters (-mcpu=v3 and later), where the verifier can lose a bound. */
  narrowArithmetic?: boolean;
}

/** Verifier complaints about a value it could not bound. */
const UNBOUNDED = /unbounded memory access|min value is negative|value is outside of the allowed memory range/;

export interface LoadFacts {
  capabilities(): ProcessCapabilities;
  trampolines(): TrampolineProbe;
  bpfLsm(): boolean | undefined;
  lockdown(): LockdownLevel | undefined;
}

export interface AttachFacts {
  kprobes(): boolean;
  tracefs(): string | undefined;
  tracepointExists(tracefs: string, category: string, name: string): boolean;
  /** Every `category/name`, for "did you mean"; undefined when tracefs cannot be listed. */
  tracepoints(tracefs: string): readonly string[] | undefined;
  fileExists(path: string): boolean;
}

export interface LoadFailure {
  objectName: string;
  /** bpf_object__load's result: a negative errno. */
  error: number;
  /** Warning-level libbpf messages produced during the load, oldest first. */
  warnings: string[];
  programs: ProgramIdentity[];
  maps: { name: string; typeName: string }[];
  /** libbpf's messages were printed as they came (--verbose): the error does not repeat them. */
  printed?: boolean;
}

export interface AttachFailure {
  program: ProgramIdentity;
  errno: number;
  warnings: string[];
  /** As LoadFailure's. */
  printed?: boolean;
}

const RINGBUF_HINT = 'ring buffers need Linux 5.8+';
const BTF_HINT = 'set BTF_FILE_PATH to a BTF file for this kernel (for example from btfhub-archive)';
const TRAMPOLINE_ALTERNATIVE = 'use tracepoint (tp/...) or tp_btf/... programs instead';

export function describeProgram(program: ProgramIdentity): string {
  return `program ${program.name} (${program.sectionName})`;
}

/** The error's detail when it is libbpf's messages: none when --verbose printed them already. */
function libbpfDetail(text: string, failure: { printed?: boolean }): string | undefined {
  return failure.printed === true ? undefined : text;
}

export function diagnoseLoadFailure(failure: LoadFailure, facts: LoadFacts): EcliError {
  const { warnings } = failure;
  const refused = isPermissionError(failure.error)
    ? capabilityError(
        facts.capabilities(),
        failure.programs.map((p) => p.kind),
      )
    : undefined;
  if (refused !== undefined) return refused;
  const failedProgram = findFailedProgram(failure);
  if (failedProgram) return diagnoseProgramLoad(failedProgram, failure, facts);

  for (const warning of warnings) {
    const mapFailure = /map '([^']+)': failed to create: (.*)$/.exec(clean(warning));
    if (!mapFailure) continue;
    const map = failure.maps.find((m) => m.name === mapFailure[1]);
    if (map?.typeName === 'ringbuf' && Math.abs(failure.error) === EINVAL) {
      return new EcliError('KERNEL_UNSUPPORTED', `cannot create map ${map.name}: this kernel has no BPF ring buffer`, {
        hint: RINGBUF_HINT,
      });
    }
    return new EcliError('LOAD_FAILED', `cannot create map ${mapFailure[1]}: ${mapFailure[2]}`, {
      detail: libbpfDetail(warnings.join('\n'), failure),
    });
  }
  const kernelLacks = diagnoseKernelLacks(failure);
  if (kernelLacks !== undefined) return kernelLacks;
  if (warnings.some((w) => /failed to find valid kernel BTF|Error loading vmlinux BTF|kernel BTF is missing/.test(w))) {
    return new EcliError('KERNEL_UNSUPPORTED', `cannot load ${failure.objectName}: this kernel provides no usable BTF`, {
      hint: BTF_HINT,
      detail: libbpfDetail(warnings.join('\n'), failure),
    });
  }
  return new EcliError(
    'LOAD_FAILED',
    `cannot load ${failure.objectName}: ${errnoName(failure.error)}: ${firstReason(warnings) ?? describeErrno(failure.error)}`,
    { detail: libbpfDetail(warnings.join('\n'), failure) },
  );
}

/**
 * What the object needs from the kernel's BTF that this kernel does not have: a struct_ops
 * type (a module's, not loaded), a kfunc or kernel variable, or a kfunc the source declares
 * with another prototype. libbpf names it; the kernel's BTF itself is fine.
 */
function diagnoseKernelLacks(failure: LoadFailure): EcliError | undefined {
  const detail = libbpfDetail(failure.warnings.join('\n'), failure);
  for (const warning of failure.warnings.map(clean)) {
    const structOps = /struct_ops init_kern: struct (\w+) is not found in kernel BTF/.exec(warning);
    if (structOps) {
      return new EcliError(
        'KERNEL_UNSUPPORTED',
        `cannot load ${failure.objectName}: its struct_ops map implements struct ${structOps[1]}, which neither the kernel nor a loaded module defines`,
        {
          hint: `load the kernel module that defines struct ${structOps[1]}${structOps[1] === 'bpf_testmod_ops' ? " (the kernel selftests' bpf_testmod)" : ''}, or use a kernel that has it`,
          detail,
        },
      );
    }
    const missing = /extern \((func|var) ksym\) '(\w+)': not found in kernel(?: or module)? BTFs?/.exec(warning);
    if (missing) {
      const what = missing[1] === 'func' ? 'kfunc' : 'kernel symbol';
      return new EcliError(
        'KERNEL_UNSUPPORTED',
        `cannot load ${failure.objectName}: this kernel has no ${what} ${missing[2]} (in vmlinux or a loaded module)`,
        {
          hint: `it needs a newer kernel, or the module that provides it; a program that can do without it declares it __weak and checks bpf_ksym_exists(${missing[2]})`,
          detail,
        },
      );
    }
    const mismatch = /extern \(func ksym\) '(\w+)': func_proto \[\d+\] incompatible with (\S+) \[\d+\]/.exec(warning);
    if (mismatch) {
      return new EcliError(
        'LOAD_FAILED',
        `cannot load ${failure.objectName}: the source declares kfunc ${mismatch[1]} with another prototype than this kernel's (${mismatch[2]})`,
        { hint: `declare ${mismatch[1]} as this kernel does (vmlinux.h from its BTF has the prototype), or rename yours if it is not that kfunc`, detail },
      );
    }
  }
  return undefined;
}

function diagnoseProgramLoad(program: ProgramIdentity, failure: LoadFailure, facts: LoadFacts): EcliError {
  const what = describeProgram(program);
  const log = verifierLogOf(program.name, failure.warnings);
  if (log !== undefined && log.trim() !== '') {
    const { line, source, lines } = summarizeVerifierLog(log);
    const refusedHelper = /(?:program of this type cannot use helper|unknown func) (\w+)#\d+/.exec(line)?.[1];
    if (refusedHelper !== undefined) return helperRefused(program, refusedHelper, failure, log, facts);
    const at = source === undefined ? '' : ` at ${source.location === undefined ? '' : `${source.location} `}\`${source.code}\``;
    const fullLog = `the verifier's full log (${lines} line${lines === 1 ? '' : 's'})`;
    // libbpf poisons an access CO-RE could not relocate and the verifier trips on it: the cause is the BTF, not the code.
    const core = /failed to resolve CO-RE relocation .*?\b(struct|union|enum|typedef) (\w+)(?:\.(\w+))?/.exec(line);
    if (core) {
      const [, kind, type, member] = core;
      return new EcliError(
        'LOAD_FAILED',
        `${what}: CO-RE cannot relocate ${kind} ${type}${member === undefined ? '' : `.${member}`}${at}: the target BTF (the kernel's, or BTF_FILE_PATH's) has no ${kind} ${type}${member === undefined ? '' : ` with a member ${member}`}`,
        {
          hint: `give a BTF that has it with BTF_FILE_PATH=<file> (a user-space struct: the probed program's BTF), use a kernel that has it, or guard the access with bpf_core_field_exists()/bpf_core_type_exists()`,
          detail: libbpfDetail(log, failure),
        },
      );
    }
    const narrow =
      program.narrowArithmetic === true && UNBOUNDED.test(line)
        ? ' (its code computes in 32-bit registers, as clang does for -mcpu=v3 and later, where the verifier can lose a bound the 64-bit code keeps: bound the value explicitly, e.g. len &= MAX, or recompile with ecc -a -mcpu=v2)'
        : '';
    return new EcliError('LOAD_FAILED', `${what}: the verifier rejected it (${errnoName(failure.error)}): ${line}${at}`, {
      hint: `fix the program and recompile it${narrow}; ${failure.printed === true ? `${fullLog} is above` : `rerun with --verbose for ${fullLog}`}`,
      detail: libbpfDetail(log, failure),
    });
  }
  if (isPermissionError(failure.error)) {
    if (usesTrampoline(program.kind)) {
      if (program.kind === 'lsm' && facts.bpfLsm() === false) {
        return new EcliError('KERNEL_UNSUPPORTED', `${what}: BPF LSM is not enabled in this kernel`, {
          hint: 'boot with lsm=...,bpf (the current list plus bpf) on the kernel command line',
        });
      }
      const probe = facts.trampolines();
      if (probe !== 'allowed') {
        return new EcliError('KERNEL_UNSUPPORTED', `${what}: this kernel refuses BPF trampolines (fentry/fexit/LSM programs), even for root`, {
          hint: TRAMPOLINE_ALTERNATIVE,
          detail:
            probe === 'refused'
              ? 'tracefs refuses to list available_filter_functions: function tracing, which trampolines need, is closed'
              : 'the kernel answered EPERM with an empty verifier log',
        });
      }
    }
  }
  const reason = firstReason(failure.warnings.filter((w) => !w.includes('failed to load object')));
  return new EcliError('LOAD_FAILED', `${what}: the kernel refused to load it: ${describeErrno(failure.error)}${reason ? `: ${reason}` : ''}`, {
    detail: libbpfDetail(failure.warnings.join('\n'), failure),
  });
}

/** Helpers the kernel withholds from every program at a lockdown level (security/lockdown: LOCKDOWN_BPF_*). */
const LOCKED_DOWN_HELPERS: Record<string, { level: LockdownLevel; what: string }> = {
  bpf_probe_write_user: { level: 'integrity', what: 'BPF writes to user memory' },
  bpf_probe_read_kernel: { level: 'confidentiality', what: 'BPF reads of kernel memory' },
  bpf_probe_read_kernel_str: { level: 'confidentiality', what: 'BPF reads of kernel memory' },
  bpf_probe_read: { level: 'confidentiality', what: 'BPF reads of kernel memory' },
  bpf_probe_read_str: { level: 'confidentiality', what: 'BPF reads of kernel memory' },
};
const LOCKDOWN_RANK: Record<LockdownLevel, number> = { none: 0, integrity: 1, confidentiality: 2 };

/**
 * The verifier found a helper call the kernel does not offer this program: because of the
 * kernel lockdown (probed) when that forbids the helper, else because of the program type.
 */
function helperRefused(program: ProgramIdentity, helper: string, failure: LoadFailure, log: string, facts: LoadFacts): EcliError {
  const what = describeProgram(program);
  const locked = LOCKED_DOWN_HELPERS[helper];
  const level = locked === undefined ? undefined : facts.lockdown();
  if (locked !== undefined && level !== undefined && LOCKDOWN_RANK[level] >= LOCKDOWN_RANK[locked.level]) {
    return new EcliError(
      'KERNEL_UNSUPPORTED',
      `${what}: this kernel refuses the helper ${helper}: its lockdown is "${level}" (/sys/kernel/security/lockdown), which forbids ${locked.what}, even for root`,
      { hint: `drop the ${helper} call, or boot the kernel with lockdown=none`, detail: libbpfDetail(log, failure) },
    );
  }
  return new EcliError('LOAD_FAILED', `${what}: the kernel does not let ${program.kind} programs call the helper ${helper}`, {
    hint: `drop the call or move it to a program type that may make it (see man 7 bpf-helpers)${failure.printed === true ? '' : "; rerun with --verbose for the verifier's log"}`,
    detail: libbpfDetail(log, failure),
  });
}

export function diagnoseAttachFailure(failure: AttachFailure, facts: AttachFacts): EcliError {
  const { program, errno, warnings } = failure;
  const what = describeProgram(program);
  const reason = firstReason(warnings) ?? describeErrno(errno);
  if (Math.abs(errno) === EOPNOTSUPP && warnings.length === 0) {
    return new EcliError('ATTACH_FAILED', `cannot attach ${what}: libbpf cannot attach "${program.sectionName}" programs by itself`, {
      hint: 'auto-attaching sections include tp/<category>/<event>, raw_tp/<event>, tp_btf/<event>, fentry/<function>, kprobe/<function> and uprobe/<binary>:<function>; besides those only the exact sections xdp, tc and perf_event are attached',
    });
  }
  const generic = () =>
    new EcliError('ATTACH_FAILED', `cannot attach ${what}: ${errnoName(errno)}: ${reason}`, { detail: libbpfDetail(warnings.join('\n'), failure) });

  switch (program.kind) {
    case 'kprobe':
    case 'kretprobe':
      if (!facts.kprobes()) return noKprobes(program);
      return generic();
    case 'tracepoint': {
      const target = tracepointOf(program.sectionName);
      if (!target || Math.abs(errno) !== ENOENT) return generic();
      const tracefs = facts.tracefs();
      if (tracefs === undefined) {
        return new EcliError('KERNEL_UNSUPPORTED', `${what}: tracefs is not mounted, so tracepoint ${target.category}/${target.name} cannot be found`, {
          hint: 'mount -t tracefs tracefs /sys/kernel/tracing',
        });
      }
      if (!facts.tracepointExists(tracefs, target.category, target.name)) {
        const wanted = `${target.category}/${target.name}`;
        const prefix = program.sectionName.slice(0, program.sectionName.indexOf('/') + 1);
        const close = didYouMean(wanted, facts.tracepoints(tracefs) ?? [], (name) => `SEC("${prefix}${name}")`);
        return new EcliError('ATTACH_FAILED', `cannot attach ${what}: tracepoint ${wanted} does not exist on this kernel${close}`, {
          hint: `the available ones are listed under ${tracefs}/events/`,
        });
      }
      return generic();
    }
    case 'uprobe':
    case 'uretprobe': {
      const target = uprobeTargetOf(program.sectionName);
      if (!target) return generic();
      if (target.binary.includes('/') && !facts.fileExists(target.binary)) {
        return new EcliError('ATTACH_FAILED', `cannot attach ${what}: ${target.binary} does not exist`);
      }
      return new EcliError('ATTACH_FAILED', `cannot attach ${what}: cannot probe ${target.func} in ${target.binary}: ${errnoName(errno)}: ${reason}`, {
        detail: libbpfDetail(warnings.join('\n'), failure),
      });
    }
    case 'usdt': {
      const target = usdtTargetOf(program.sectionName);
      if (!target) return generic();
      if (target.binary.includes('/') && !facts.fileExists(target.binary)) {
        return new EcliError('ATTACH_FAILED', `cannot attach ${what}: ${target.binary} does not exist`);
      }
      if (Math.abs(errno) === ENOENT && warnings.length === 0) {
        return new EcliError('ATTACH_FAILED', `cannot attach ${what}: ${target.binary} has no USDT probe ${target.provider}:${target.name}`, {
          hint: `its probes are listed by: readelf -n ${target.binary} (the stapsdt notes)`,
        });
      }
      return generic();
    }
    default:
      return generic();
  }
}

/** libbpf's advice on EPERM as root, wrong on kernels that account BPF memory to cgroups: never shown. */
export function isMemlockAdvice(message: string): boolean {
  return /ulimit -l|RLIMIT_MEMLOCK/.test(message);
}

function noKprobes(program: ProgramIdentity): EcliError {
  return new EcliError('KERNEL_UNSUPPORTED', `${describeProgram(program)}: this kernel has no kprobe support (CONFIG_KPROBES is not set)`, {
    hint: 'use tracepoint (tp/...) or tp_btf/... programs instead, or a kernel built with CONFIG_KPROBES=y',
  });
}

/** The verifier log libbpf printed for a program that failed to load, if any. */
export function verifierLogOf(programName: string, warnings: string[]): string | undefined {
  for (const warning of warnings) {
    const start = warning.indexOf(`prog '${programName}': -- BEGIN PROG LOAD LOG --\n`);
    if (start < 0) continue;
    const body = warning.slice(warning.indexOf('\n', start) + 1);
    const end = body.lastIndexOf('-- END PROG LOAD LOG --');
    return end < 0 ? body : body.slice(0, end);
  }
  return undefined;
}

function findFailedProgram(failure: LoadFailure): ProgramIdentity | undefined {
  for (const warning of failure.warnings) {
    const match = /prog '([^']+)': (?:failed to load|BPF program load failed)/.exec(warning);
    if (match) {
      const program = failure.programs.find((p) => p.name === match[1]);
      if (program) return program;
    }
  }
  return undefined;
}

/** libbpf's first warning with its `libbpf: ` and `prog 'x': ` prefixes removed. */
function firstReason(warnings: string[]): string | undefined {
  const first = warnings.find((w) => clean(w) !== '' && !isMemlockAdvice(w));
  return first === undefined ? undefined : clean(first).split('\n')[0];
}

function clean(message: string): string {
  return message
    .replace(/^libbpf: /, '')
    .replace(/^prog '[^']+': /, '')
    .trim();
}

function isPermissionError(error: number): boolean {
  const n = Math.abs(error);
  return n === EPERM || n === EACCES;
}
