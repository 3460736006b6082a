/**
 * Wire types of an eunomia-bpf package, mirroring schemas/package.schema.json. Field names are
 * the wire names (`bpf_skel`, the misspelt `intepreter`). These describe a package *after*
 * validation and normalisation: `maps`, `progs` and `export_types` are always arrays, and
 * `sample`/`doc` are absent rather than null. Other optional fields keep their wire absence;
 * the modules that read them apply the reference's defaults.
 */

/** `{bpf_object, bpf_object_size, meta}` as written by ecc to package.json. */
export interface ComposedPackage {
  /** base64(zlib(ELF)). */
  bpf_object: string;
  /** Length of the uncompressed ELF. */
  bpf_object_size: number;
  meta: EunomiaObjectMeta;
  [key: string]: unknown;
}

export interface EunomiaObjectMeta {
  bpf_skel: BpfSkeletonMeta;
  /** The compiler, when it is ecli-ts's ecc (`ecli-ts 0.1.0`); the reference's writes none. */
  built_by?: string;
  export_types: ExportedTypesStructMeta[];
  perf_buffer_pages?: number;
  perf_buffer_time_ms?: number;
  poll_timeout_ms?: number;
  debug_verbose?: boolean;
  print_header?: boolean;
  enable_multiple_export_types?: boolean;
  [key: string]: unknown;
}

export interface BpfSkeletonMeta {
  obj_name: string;
  data_sections: DataSectionMeta[];
  maps: MapMeta[];
  progs: ProgMeta[];
  doc?: BpfSkeletonDoc;
  [key: string]: unknown;
}

export interface BpfSkeletonDoc {
  version?: string;
  brief?: string;
  details?: string;
  description?: string;
  [key: string]: unknown;
}

export interface DataSectionMeta {
  /** `.rodata`, `.bss`, ... */
  name: string;
  variables: DataSectionVariableMeta[];
  [key: string]: unknown;
}

export interface DataSectionVariableMeta {
  name: string;
  /** C type string with qualifiers stripped, e.g. `unsigned long long`, `char[16]`. */
  type: string;
  /** Initial value to write into the section image. */
  value?: unknown;
  description?: string;
  cmdarg?: CmdArg;
  [key: string]: unknown;
}

export interface CmdArg {
  default?: unknown;
  long?: string;
  short?: string;
  help?: string;
  [key: string]: unknown;
}

export interface MapMeta {
  name: string;
  ident: string;
  mmaped?: boolean;
  /** Present: the map is sampled (polled) rather than streamed. */
  sample?: MapSampleMeta;
  export_config?: ExportConfig;
  intepreter?: Interpreter;
  [key: string]: unknown;
}

export type SampleMapType = 'log2_hist' | 'linear_hist' | 'default_kv';

export interface MapSampleMeta {
  /** Milliseconds between polls. */
  interval: number;
  type?: SampleMapType;
  unit?: string;
  clear_map?: boolean;
  [key: string]: unknown;
}

export interface ExportCustomMember {
  name: string;
  offset: number;
  btf_type_id: number;
  [key: string]: unknown;
}

export type ExportConfig = 'no_export' | 'default' | { btf_type_id: number } | { custom_members: ExportCustomMember[] };

export interface StackTraceFieldMap {
  pid?: string;
  cpu_id?: string;
  comm?: string;
  kstack_sz?: string;
  ustack_sz?: string;
  kstack?: string;
  ustack?: string;
  [key: string]: unknown;
}

export type Interpreter = 'default_struct' | { stack_trace: { field_map?: StackTraceFieldMap; with_symbols?: boolean; [key: string]: unknown } };

/** `true`: first (before) or last (after) in the chain; a number: a program id; a string: a program name. */
export type TcxAnchor = true | number | string;

export type TcAttachPoint = 'BPF_TC_INGRESS' | 'BPF_TC_EGRESS' | 'BPF_TC_CUSTOM';

export interface ProgMeta {
  /** libbpf program name (the C function). */
  name: string;
  /** The full SEC() string. */
  attach: string;
  link: boolean;
  /** XDP only. */
  ifindex?: number;
  /** XDP only. */
  flags?: number;
  xdpopts?: { old_prog_fd?: number; [key: string]: unknown };
  tchook?: { ifindex?: number; attach_point?: TcAttachPoint; [key: string]: unknown };
  tcopts?: { handle?: number; priority?: number; [key: string]: unknown };
  /** TCX only (`@tcx`): the interface and the place in the hook's chain. */
  tcx?: { interface?: string; ifindex?: number; before?: TcxAnchor; after?: TcxAnchor; [key: string]: unknown };
  /** `perf_event` programs only: the sampling event (default hardware cpu-cycles, 49 Hz). */
  perf_event?: PerfEventMeta;
  [key: string]: unknown;
}

export interface PerfEventMeta {
  type?: 'software' | 'hardware';
  /** perf's event name: `cpu-clock`, `cycles`, `page-faults`... */
  config?: string;
  /** Samples per second; exclusive with sample_period. */
  sample_freq?: number;
  /** Events per sample. */
  sample_period?: number;
  [key: string]: unknown;
}

export interface ExportedTypesStructMeta {
  name: string;
  members: ExportedTypesStructMemberMeta[];
  size: number;
  /** BTF type id of the struct in the package's own ELF. */
  type_id: number;
  [key: string]: unknown;
}

export interface ExportedTypesStructMemberMeta {
  name: string;
  /** Informational C type string. */
  type: string;
  /** Our ecc's additions (the reference writes only name and type). */
  offset?: number;
  size?: number;
  kind?: string;
  /** How the member is shown (from a `/// @display` comment); JSON keeps its value and may add a `<name>_text` twin. */
  display?: DisplayHint;
  /** The member that tells an event's container (from a `/// @container` comment). */
  container?: ContainerMark;
  [key: string]: unknown;
}

/** What a member marked with `/// @container "..."` holds: a cgroup id (bpf_get_current_cgroup_id()) or a process id. */
export const CONTAINER_MARKS = ['cgroup_id', 'pid'] as const;
export type ContainerMark = (typeof CONTAINER_MARKS)[number];

/**
 * Display hints of exported struct members: `args` shows an array of strings as one shell-quoted
 * command line; `hidden` leaves the member out of plain text. The value hints (`errno` ... `port`)
 * show a readable form in plain text and add it to JSON as `<name>_text` (format/hints.ts).
 */
export const DISPLAY_HINTS = ['args', 'hidden', 'errno', 'signal', 'hex', 'flags', 'duration', 'boot_ns', 'ipv4', 'ipv6', 'port'] as const;
export type DisplayHint = (typeof DISPLAY_HINTS)[number];
