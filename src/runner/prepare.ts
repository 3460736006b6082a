/**
 * The pure half of a run: reads the object's BTF, parses the package's program options and
 * builds the initial images of its data sections. Nothing here touches the kernel, so every
 * mistake in a package or on the command line is reported before anything is loaded.
 */
import { Btf } from '../btf/btf.js';
import { dataSectionLayout } from '../btf/layout.js';
import { findSection, parseElf, type ElfFile } from '../elf/elf.js';
import { EcliError } from '../errors.js';
import { writeOptionValues } from '../options/encode.js';
import { packageHelpTexts } from '../options/help.js';
import { parseProgramArgs } from '../options/parse.js';
import { buildOptionSpecs } from '../options/spec.js';
import type { ComposedPackage } from '../package/types.js';

/** Data sections whose initial image a package may set (libbpf mmaps these internal maps). */
const SETTABLE_SECTIONS = new Set(['.rodata', '.bss', '.data']);

export interface SectionImage {
  section: string;
  /** libbpf's name for the internal map, e.g. `client_b.rodata`. */
  mapName: string;
  image: Uint8Array;
}

export type PreparedRun =
  | { kind: 'print'; text: string }
  | { kind: 'run'; elf: ElfFile; btf: Btf; images: SectionImage[]; verbose: boolean; perfBufferPages: number };

/** libbpf's and the reference's default size of each CPU's perf buffer. */
const DEFAULT_PERF_BUFFER_PAGES = 64;

export function prepareRun(pkg: ComposedPackage, object: Uint8Array, source: string, programArgs: readonly string[]): PreparedRun {
  const elf = parseElf(object, source);
  const btfSection = findSection(elf, '.BTF');
  if (!btfSection) {
    throw new EcliError('BTF_INVALID', `${source}: the BPF object has no .BTF section`, {
      hint: 'compile with clang -g (./ecc does) so the object carries BTF',
    });
  }
  const btf = Btf.parse(btfSection.data);
  const { meta } = pkg;
  const specs = buildOptionSpecs(meta, btf);
  const info = packageHelpTexts(meta);
  const parsed = parseProgramArgs(specs, programArgs, info);
  if (parsed.kind === 'help') return { kind: 'print', text: parsed.text };
  if (parsed.kind === 'version') return { kind: 'print', text: parsed.text };

  const images: SectionImage[] = [];
  const written = new Set<string>();
  for (const section of meta.bpf_skel.data_sections) {
    if (!SETTABLE_SECTIONS.has(section.name)) {
      if (section.variables.some((v) => parsed.values.has(v.name))) {
        throw new EcliError('PACKAGE_INVALID', `${source}: variables of section ${section.name} cannot be set`, {
          hint: 'only .rodata, .data and .bss globals can be program options',
        });
      }
      continue;
    }
    const ident = section.name.slice(1);
    const map = meta.bpf_skel.maps.find((m) => m.ident === ident);
    if (!map) {
      throw new EcliError('PACKAGE_INVALID', `${source}: no map with ident "${ident}" for section ${section.name}`, {
        hint: 'the package meta is incomplete; recompile it with ./ecc',
      });
    }
    const layout = dataSectionLayout(btf, elf, section.name);
    if (!layout) {
      throw new EcliError('BTF_INVALID', `${source}: the object has no ${section.name} section with BTF, but the meta lists one`, {
        hint: 'the meta and the object come from different builds; recompile with ./ecc',
      });
    }
    images.push({ section: section.name, mapName: map.name, image: writeOptionValues(btf, layout, parsed.values) });
    for (const v of layout.variables) if (parsed.values.has(v.name)) written.add(v.name);
  }
  for (const name of parsed.values.keys()) {
    if (!written.has(name)) {
      throw new EcliError('PACKAGE_INVALID', `${source}: variable ${name} has a value but is in no settable data section`);
    }
  }
  const perfBufferPages = meta.perf_buffer_pages ?? DEFAULT_PERF_BUFFER_PAGES;
  if ((perfBufferPages & (perfBufferPages - 1)) !== 0) {
    throw new EcliError('PACKAGE_INVALID', `${source}: perf_buffer_pages must be a power of two, not ${perfBufferPages}`, {
      hint: 'use 64 (the default), 128, 256...',
    });
  }
  return { kind: 'run', elf, btf, images, verbose: parsed.verbose, perfBufferPages };
}
