/**
 * The package model: buildPackageSpec turns a decoded package (meta + BPF ELF) into one typed,
 * immutable PackageSpec: programs, maps, exports and why they are printed, options, data
 * sections, BTF needs. The ELF and its BTF are parsed here, once. Every check that needs no
 * kernel happens here, so a broken package is refused (exit 4) before privileges are looked at.
 * `run` loads what the spec describes; `inspect` renders it.
 */
import { Btf } from '../btf/btf.js';
import type { DataSectionLayout } from '../btf/layout.js';
import { findSection, parseElf, type ElfFile } from '../elf/elf.js';
import { EcliError } from '../errors.js';
import { packageHelpTexts, type PackageHelpTexts } from '../options/help.js';
import { withInitialValues } from '../options/initial.js';
import { buildOptionSpecs, type OptionSpec } from '../options/spec.js';
import type { ComposedPackage, EunomiaObjectMeta } from '../package/types.js';
import { btfNeedsOf, type BtfNeeds } from './btf-needs.js';
import { dataSectionSpecs, type DataSectionSpec } from './data-sections.js';
import { planExports, type ExportSpec } from './exports.js';
import { iteratorSpecs, type IteratorSpec } from './iterators.js';
import { mapSpecs, type MapSpec } from './maps.js';
import { checkPerfBufferPages, checkSampleInterval } from './meta-numbers.js';
import { programSpecs, type ProgramSpec } from './programs.js';

export interface PackageSpec {
  /** How to name the package in messages: a path, a URL or `<stdin>`. */
  readonly source: string;
  readonly objectName: string;
  readonly meta: EunomiaObjectMeta;
  /** The BPF ELF bytes, as libbpf opens them. */
  readonly object: Uint8Array;
  readonly elf: ElfFile;
  readonly btf: Btf;
  readonly programs: readonly ProgramSpec[];
  readonly maps: readonly MapSpec[];
  /** What the run prints, in order; empty for packages that only bpf_printk. */
  readonly exports: readonly ExportSpec[];
  /** Its iterator programs, whose text the run prints after attaching (once, or every --interval). */
  readonly iterators: readonly IteratorSpec[];
  /** Non-fatal findings (several exportable maps, dropped column names), for stderr. */
  readonly warnings: readonly string[];
  readonly options: readonly OptionSpec[];
  readonly dataSections: readonly DataSectionSpec[];
  readonly btfNeeds: BtfNeeds;
  /** Pages of each CPU's perf buffer (a power of two). */
  readonly perfBufferPages: number;
  /** The package's --help and --version texts. */
  readonly help: PackageHelpTexts;
}

export interface DecodedInput {
  source: string;
  pkg: ComposedPackage;
  /** The BPF ELF decoded from `bpf_object`. */
  elf: Uint8Array;
}

/** libbpf's and the reference's default size of each CPU's perf buffer. */
const DEFAULT_PERF_BUFFER_PAGES = 64;

export function buildPackageSpec(input: DecodedInput): PackageSpec {
  const { source } = input;
  const meta = input.pkg.meta;
  const elf = parseElf(input.elf, source);
  const btfSection = findSection(elf, '.BTF');
  if (!btfSection) {
    throw new EcliError('BTF_INVALID', `${source}: the BPF object has no .BTF section`, {
      hint: 'compile with clang -g (./ecc does) so the object carries BTF',
    });
  }
  const btf = Btf.parse(btfSection.data);
  const programs = programSpecs(meta.bpf_skel.progs);
  const maps = mapSpecs(meta.bpf_skel.maps, btf, elf, source);
  for (const map of maps) if (map.meta.sample) checkSampleInterval(map.meta.sample.interval, map.name, source);
  const plan = planExports(meta, btf, maps);
  const dataSections = dataSectionSpecs(meta, btf, elf, source);
  return Object.freeze({
    source,
    objectName: meta.bpf_skel.obj_name,
    meta,
    object: input.elf,
    elf,
    btf,
    programs: Object.freeze(programs),
    maps: Object.freeze(maps),
    exports: Object.freeze(plan.exports),
    iterators: Object.freeze(iteratorSpecs(programs)),
    warnings: Object.freeze(plan.warnings),
    options: Object.freeze(withInitialValues(buildOptionSpecs(meta, btf), settableLayouts(dataSections))),
    dataSections: Object.freeze(dataSections),
    btfNeeds: Object.freeze(btfNeedsOf(elf, programs)),
    perfBufferPages: perfBufferPages(meta, source),
    help: Object.freeze(packageHelpTexts(meta)),
  });
}

function settableLayouts(sections: readonly DataSectionSpec[]): DataSectionLayout[] {
  return sections.flatMap((s) => (s.settable ? [s.layout] : []));
}

function perfBufferPages(meta: EunomiaObjectMeta, source: string): number {
  return checkPerfBufferPages(meta.perf_buffer_pages ?? DEFAULT_PERF_BUFFER_PAGES, source);
}
