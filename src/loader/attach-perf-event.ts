/**
 * Attachment for programs in the exact section `perf_event`: one sampling perf event per
 * online CPU, each with a BPF link (libbpf closes the event fd when the link goes). Without
 * an event named in the meta we sample CPU cycles, falling back to the software cpu-clock when
 * the machine has no CPU PMU (typical of VMs).
 */
import { EcliError } from '../errors.js';
import { type AttachContext, type AttachMeta, type AttachTarget, type Attachment, linkAttachment, warningsSince } from './attachment.js';
import { describeProgram } from './diagnose.js';
import { ENODEV, ENOENT, EOPNOTSUPP, describeErrno, errnoName } from './ffi/errno.js';
import type { Native } from './ffi/native.js';
import { SOFTWARE_FALLBACK, type PerfEventSpec, encodePerfEventAttr, resolvePerfEvent } from '../model/perf-event.js';
import { onlineCpus } from './probe.js';

const PERF_FLAG_FD_CLOEXEC = 8;
const ALL_PROCESSES = -1;
const NO_GROUP = -1;

export function attachPerfEvent(target: AttachTarget, meta: AttachMeta, context: AttachContext): Attachment[] {
  const what = describeProgram(target.info);
  const cpus = onlineCpus();
  // The model validated the package's event; a caller without one gets the default.
  let spec = meta.perfEvent ?? resolvePerfEvent(undefined, target.info.name);
  let opened = openOnCpus(context.sys, spec, cpus);
  if ('errno' in opened && spec.type === 'hardware' && isNoPmu(opened.errno)) {
    if (spec.explicit) {
      throw new EcliError(
        'KERNEL_UNSUPPORTED',
        `${what}: this machine has no hardware perf events (no CPU PMU); use "perf_event": {"type": "software", "config": "cpu-clock"}`,
      );
    }
    context.warn(`${what}: this machine has no hardware perf events (no CPU PMU); sampling the software cpu-clock instead`);
    spec = { ...spec, ...SOFTWARE_FALLBACK };
    opened = openOnCpus(context.sys, spec, cpus);
  }
  if ('errno' in opened) {
    throw new EcliError(
      'ATTACH_FAILED',
      `cannot attach ${what}: cannot open a ${spec.type} ${spec.config} perf event on CPU ${opened.cpu}: ${describeErrno(opened.errno)}`,
    );
  }

  const { libbpf, close } = context.sys;
  const attachments: Attachment[] = [];
  for (const [index, fd] of opened.fds.entries()) {
    const mark = context.log.mark();
    const link = libbpf.bpf_program__attach_perf_event(target.handle, fd);
    if (link.ptr === null) {
      opened.fds.slice(index).forEach((rest) => close(rest));
      attachments.reverse().forEach((attachment) => attachment.detach());
      const reason = warningsSince(context.log, mark)[0]?.replace(/^libbpf: /, '') ?? describeErrno(link.errno);
      throw new EcliError('ATTACH_FAILED', `cannot attach ${what} to its perf event on CPU ${cpus[index]}: ${errnoName(link.errno)}: ${reason}`);
    }
    attachments.push(linkAttachment(context.sys, link.ptr, `${spec.config} perf event on CPU ${cpus[index]}`));
  }
  return attachments;
}

/** The fds, one per CPU, or the first failure (having closed what was opened). */
function openOnCpus(sys: Native, spec: PerfEventSpec, cpus: number[]): { fds: number[] } | { errno: number; cpu: number } {
  const { perfEventOpen, close } = sys;
  const attr = encodePerfEventAttr(spec);
  const fds: number[] = [];
  for (const cpu of cpus) {
    const fd = perfEventOpen(attr, ALL_PROCESSES, cpu, NO_GROUP, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) {
      fds.forEach((opened) => close(opened));
      return { errno: -fd, cpu };
    }
    fds.push(fd);
  }
  return { fds };
}

function isNoPmu(errno: number): boolean {
  return errno === ENOENT || errno === EOPNOTSUPP || errno === ENODEV;
}
