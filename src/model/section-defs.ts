/**
 * libbpf's table of program section names (`section_defs[]` in libbpf.c), with the release that
 * added each, so that ecc can refuse a section no libbpf knows and ecli can say which libbpf a
 * section needs. Pure.
 *
 * A name ending in `+` matches itself exactly or followed by `/...` (`tp+`: `tp/sched/x`); any
 * other name matches only exactly, as libbpf ≥ 1.0 does.
 */

export interface LibbpfRelease {
  major: number;
  minor: number;
}

/** The oldest libbpf ecli drives: the one Debian 12 ships. */
export const OLDEST_LIBBPF: LibbpfRelease = Object.freeze({ major: 1, minor: 1 });

export interface SectionDef {
  /** As libbpf's table writes it: `tracepoint+`, `xdp.frags/devmap`, `cgroup/connect4`. */
  def: string;
  /** The first libbpf release that knows it; 1.1 stands for "every release ecli supports". */
  since: LibbpfRelease;
}

const V1_1 = [
  'socket',
  'sk_reuseport/migrate',
  'sk_reuseport',
  'kprobe+',
  'uprobe+',
  'uprobe.s+',
  'kretprobe+',
  'uretprobe+',
  'uretprobe.s+',
  'kprobe.multi+',
  'kretprobe.multi+',
  'ksyscall+',
  'kretsyscall+',
  'usdt+',
  'tc',
  'classifier',
  'action',
  'tracepoint+',
  'tp+',
  'raw_tracepoint+',
  'raw_tp+',
  'raw_tracepoint.w+',
  'raw_tp.w+',
  'tp_btf+',
  'fentry+',
  'fmod_ret+',
  'fexit+',
  'fentry.s+',
  'fmod_ret.s+',
  'fexit.s+',
  'freplace+',
  'lsm+',
  'lsm.s+',
  'lsm_cgroup+',
  'iter+',
  'iter.s+',
  'syscall',
  'xdp.frags/devmap',
  'xdp/devmap',
  'xdp.frags/cpumap',
  'xdp/cpumap',
  'xdp.frags',
  'xdp',
  'perf_event',
  'lwt_in',
  'lwt_out',
  'lwt_xmit',
  'lwt_seg6local',
  'sockops',
  'sk_skb/stream_parser',
  'sk_skb/stream_verdict',
  'sk_skb',
  'sk_msg',
  'lirc_mode2',
  'flow_dissector',
  'cgroup_skb/ingress',
  'cgroup_skb/egress',
  'cgroup/skb',
  'cgroup/sock_create',
  'cgroup/sock_release',
  'cgroup/sock',
  'cgroup/post_bind4',
  'cgroup/post_bind6',
  'cgroup/bind4',
  'cgroup/bind6',
  'cgroup/connect4',
  'cgroup/connect6',
  'cgroup/sendmsg4',
  'cgroup/sendmsg6',
  'cgroup/recvmsg4',
  'cgroup/recvmsg6',
  'cgroup/getpeername4',
  'cgroup/getpeername6',
  'cgroup/getsockname4',
  'cgroup/getsockname6',
  'cgroup/sysctl',
  'cgroup/getsockopt',
  'cgroup/setsockopt',
  'cgroup/dev',
  'struct_ops+',
  'sk_lookup',
];

/** What each later release added to the table. */
const ADDED: readonly [LibbpfRelease, readonly string[]][] = [
  [{ major: 1, minor: 2 }, ['struct_ops.s+']],
  [
    { major: 1, minor: 3 },
    [
      'uprobe.multi+',
      'uprobe.multi.s+',
      'uretprobe.multi+',
      'uretprobe.multi.s+',
      'usdt.s+',
      'tc/ingress',
      'tc/egress',
      'tcx/ingress',
      'tcx/egress',
      'netkit/primary',
      'netkit/peer',
      'netfilter',
      'cgroup/connect_unix',
      'cgroup/sendmsg_unix',
      'cgroup/recvmsg_unix',
      'cgroup/getpeername_unix',
      'cgroup/getsockname_unix',
    ],
  ],
  [{ major: 1, minor: 4 }, ['sk_skb/verdict']],
  [{ major: 1, minor: 5 }, ['kprobe.session+']],
  [{ major: 1, minor: 6 }, ['uprobe.session+', 'uprobe.session.s+']],
  [{ major: 1, minor: 7 }, ['fsession+', 'fsession.s+']],
];

export const SECTION_DEFS: readonly SectionDef[] = [
  ...V1_1.map((def) => ({ def, since: OLDEST_LIBBPF })),
  ...ADDED.flatMap(([since, defs]) => defs.map((def) => ({ def, since }))),
];

function matches(def: string, section: string): boolean {
  if (!def.endsWith('+')) return section === def;
  const prefix = def.slice(0, -1);
  return section === prefix || section.startsWith(`${prefix}/`);
}

/** The oldest table entry that matches `section`; undefined when no libbpf release knows it. */
export function findSectionDef(section: string): SectionDef | undefined {
  return SECTION_DEFS.find((entry) => matches(entry.def, section));
}

/** The section spelled the way a known entry would be, for "did you mean": the prefix replaced, the rest kept. */
export function sectionSuggestions(section: string): string[] {
  const slash = section.indexOf('/');
  const rest = slash < 0 ? '' : section.slice(slash);
  return SECTION_DEFS.map(({ def }) => (def.endsWith('+') ? `${def.slice(0, -1)}${rest}` : def));
}

export function releaseAtLeast(version: LibbpfRelease, wanted: LibbpfRelease): boolean {
  return compareReleases(version, wanted) >= 0;
}

/** Orders libbpf releases: negative when `a` is older than `b`, 0 when the same, positive when newer. */
export function compareReleases(a: LibbpfRelease, b: LibbpfRelease): number {
  return a.major - b.major || a.minor - b.minor;
}

/** Whether a libbpf of this release finds `section` in its own table. */
export function libbpfKnowsSection(release: LibbpfRelease, section: string): boolean {
  const def = findSectionDef(section);
  return def !== undefined && releaseAtLeast(release, def.since);
}
