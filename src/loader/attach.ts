/**
 * Attaching a loaded program: libbpf's auto-attach by section name first; when libbpf cannot
 * (EOPNOTSUPP), the special attachers for the exact sections `xdp`, `tc` and `perf_event`,
 * as the reference runner does, `tcx/ingress`, `tcx/egress`, which libbpf 1.1 does not know, and
 * `sockops` (a cgroup, as wasm-bpf's runtimes attach it). Failures become typed errors naming the program.
 */
import { existsSync } from 'node:fs';
import { attachCgroup } from './attach-cgroup.js';
import { attachPerfEvent } from './attach-perf-event.js';
import { attachTcHook } from './attach-tcx.js';
import { attachXdp } from './attach-xdp.js';
import { type AttachContext, type AttachMeta, type AttachTarget, type Attachment, linkAttachment, warningsSince } from './attachment.js';
import { type AttachFacts, diagnoseAttachFailure } from './diagnose.js';
import { EOPNOTSUPP } from './ffi/errno.js';
import { findTracefs, hasKprobes, listTracepoints, tracepointExists } from './probe.js';

type SpecialAttacher = (target: AttachTarget, meta: AttachMeta, context: AttachContext) => Attachment | Attachment[];

const SPECIAL_ATTACHERS: Record<string, SpecialAttacher> = {
  xdp: attachXdp,
  tc: attachTcHook,
  'tcx/ingress': attachTcHook,
  'tcx/egress': attachTcHook,
  perf_event: attachPerfEvent,
  sockops: attachCgroup,
};

export const ATTACH_FACTS: AttachFacts = {
  kprobes: hasKprobes,
  tracefs: findTracefs,
  tracepointExists,
  tracepoints: listTracepoints,
  fileExists: existsSync,
};

export function attachProgram(target: AttachTarget, meta: AttachMeta, context: AttachContext): Attachment[] {
  const mark = context.log.mark();
  const link = context.sys.libbpf.bpf_program__attach(target.handle);
  if (link.ptr !== null) return [linkAttachment(context.sys, link.ptr, target.info.sectionName)];

  const special = Object.hasOwn(SPECIAL_ATTACHERS, target.info.sectionName) ? SPECIAL_ATTACHERS[target.info.sectionName] : undefined;
  if (link.errno === EOPNOTSUPP && special) return [special(target, meta, context)].flat();
  throw diagnoseAttachFailure(
    { program: target.info, errno: link.errno, warnings: warningsSince(context.log, mark), printed: context.log.verbose },
    ATTACH_FACTS,
  );
}
