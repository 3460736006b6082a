/**
 * The command-line half of a run, pure: parses the program's options against the spec and
 * writes their values into the initial images of the settable data sections (or returns the
 * package's --help/--version text).
 */
import { EcliError } from '../errors.js';
import type { PackageSpec } from '../model/spec.js';
import { writeOptionValues } from '../options/encode.js';
import { parseProgramArgs } from '../options/parse.js';
import type { OptionValue } from '../options/value.js';

export interface SectionImage {
  section: string;
  /** libbpf's name for the internal map, e.g. `client_b.rodata`. */
  mapName: string;
  image: Uint8Array;
}

export type PreparedRun = { kind: 'print'; text: string } | { kind: 'run'; images: SectionImage[]; verbose: boolean };

export function prepareRun(spec: PackageSpec, programArgs: readonly string[], hostOptions?: ReadonlySet<string>): PreparedRun {
  const parsed = parseProgramArgs([...spec.options], programArgs, spec.help, hostOptions);
  if (parsed.kind === 'help' || parsed.kind === 'version') return { kind: 'print', text: parsed.text };
  return { kind: 'run', images: sectionImages(spec, parsed.values), verbose: parsed.verbose };
}

/** The initial images of the settable data sections with `values` (keyed by variable name) written in. */
export function sectionImages(spec: PackageSpec, values: ReadonlyMap<string, OptionValue>): SectionImage[] {
  const images: SectionImage[] = [];
  const written = new Set<string>();
  for (const section of spec.dataSections) {
    if (!section.settable) {
      if (section.variables.some((name) => values.has(name))) {
        throw new EcliError('PACKAGE_INVALID', `${spec.source}: variables of section ${section.section} cannot be set`, {
          hint: 'only .rodata, .data and .bss globals can be program options',
        });
      }
      continue;
    }
    images.push({ section: section.section, mapName: section.mapName, image: writeOptionValues(spec.btf, section.layout, values) });
    for (const v of section.layout.variables) if (values.has(v.name)) written.add(v.name);
  }
  for (const name of values.keys()) {
    if (!written.has(name)) {
      throw new EcliError('PACKAGE_INVALID', `${spec.source}: variable ${name} has a value but is in no settable data section`);
    }
  }
  return images;
}
