/**
 * The maps of a package as its object declares them: the meta's maps matched to the `.maps`
 * definitions in the ELF's BTF (type, sizes, BTF key/value ids) or to the data section behind an
 * internal map (`client_b.rodata`). A meta map the object lacks is a package error.
 */
import type { Btf } from '../btf/btf.js';
import { BtfKind } from '../btf/types.js';
import { findSection, type ElfFile } from '../elf/elf.js';
import { EcliError } from '../errors.js';
import type { MapMeta } from '../package/types.js';
import { mapDefinitions, type MapDefinition } from './map-defs.js';
import { MAP_TYPE, isPerCpuMapType, mapTypeName, transportOfMapType, type MapTransport } from './map-types.js';

export interface MapSpec {
  readonly name: string;
  readonly ident: string;
  /** bpf_map_type number; undefined when the definition does not say. */
  readonly type: number | undefined;
  /** libbpf's name of the type: `hash`, `ringbuf`, `array`... */
  readonly kind: string;
  readonly transport: MapTransport;
  readonly perCpu: boolean;
  /** For internal maps: the data section they hold (`.rodata`, `.bss`...). */
  readonly internalSection?: string;
  /** BTF ids of the key and value types (0 when the definition gives only sizes). */
  readonly btfKeyTypeId: number;
  readonly btfValueTypeId: number;
  /** C types of key and value, or `<N> bytes` from key_size/value_size. */
  readonly key?: string;
  readonly value?: string;
  readonly valueSize?: number;
  readonly maxEntries?: number;
  /**
   * Sizes the definition leaves to the loader (as libbpf-tools' own loaders set them), which
   * ecli sets before load: a stack trace map without value_size or max_entries.
   */
  readonly loaderSizes?: { readonly valueSize?: number; readonly maxEntries?: number };
  readonly meta: MapMeta;
}

/** libbpf-tools' stack map sizes: 127 frames (PERF_MAX_STACK_DEPTH) of 8-byte addresses, 10240 stacks. */
export const STACK_MAP_DEFAULTS = { frames: 127, valueSize: 127 * 8, maxEntries: 10240 } as const;

/** What a stack trace map's definition left out, with libbpf-tools' defaults; undefined when nothing is missing. */
function stackMapSizes(def: MapDefinition, valueSize: number | undefined): MapSpec['loaderSizes'] {
  if (def.type !== MAP_TYPE.stackTrace) return undefined;
  const sizes = {
    ...(valueSize === undefined || valueSize === 0 ? { valueSize: STACK_MAP_DEFAULTS.valueSize } : {}),
    ...(def.maxEntries === undefined || def.maxEntries === 0 ? { maxEntries: STACK_MAP_DEFAULTS.maxEntries } : {}),
  };
  return Object.keys(sizes).length === 0 ? undefined : Object.freeze(sizes);
}

export function mapSpecs(maps: readonly MapMeta[], btf: Btf, elf: ElfFile, source: string): MapSpec[] {
  const definitions = mapDefinitions(btf);
  return maps.map((meta) => {
    const def = definitions.get(meta.name);
    if (def !== undefined) return Object.freeze(definedMap(meta, def, btf));
    const internalSection = internalSectionOf(meta.name, btf, elf);
    if (internalSection === undefined) {
      throw new EcliError('PACKAGE_INVALID', `${source}: map ${meta.name} is listed in the package meta but not in its BPF object`, {
        hint: 'the meta and the object come from different builds; recompile with ./ecc',
      });
    }
    // libbpf maps each data section to a single-element array holding the section's image.
    return Object.freeze({
      name: meta.name,
      ident: meta.ident,
      type: MAP_TYPE.array,
      kind: 'array',
      transport: 'other' as const,
      perCpu: false,
      internalSection,
      btfKeyTypeId: 0,
      btfValueTypeId: 0,
      key: 'int',
      value: internalSection,
      maxEntries: 1,
      meta,
    });
  });
}

function definedMap(meta: MapMeta, def: MapDefinition, btf: Btf): MapSpec {
  const key = def.key ?? (def.keySize === undefined ? undefined : `${def.keySize} bytes`);
  const declaredValueSize = def.valueSize ?? (def.valueTypeId === undefined ? undefined : btf.sizeOf(def.valueTypeId));
  const loaderSizes = stackMapSizes(def, declaredValueSize);
  const valueSize = loaderSizes?.valueSize ?? declaredValueSize;
  const maxEntries = loaderSizes?.maxEntries ?? def.maxEntries;
  const value =
    def.value ??
    (loaderSizes?.valueSize !== undefined
      ? `${loaderSizes.valueSize} bytes (${STACK_MAP_DEFAULTS.frames} frames, set by ecli)`
      : def.valueSize === undefined
        ? undefined
        : `${def.valueSize} bytes`);
  return {
    name: meta.name,
    ident: meta.ident,
    type: def.type,
    kind: mapTypeName(def.type),
    transport: transportOfMapType(def.type),
    perCpu: isPerCpuMapType(def.type),
    btfKeyTypeId: def.keyTypeId ?? 0,
    btfValueTypeId: def.valueTypeId ?? 0,
    ...(key === undefined ? {} : { key }),
    ...(value === undefined ? {} : { value }),
    ...(valueSize === undefined ? {} : { valueSize }),
    ...(maxEntries === undefined ? {} : { maxEntries }),
    ...(loaderSizes === undefined ? {} : { loaderSizes }),
    meta,
  };
}

/** libbpf names internal maps `<object prefix>.<section>`: the section, when the object has it. */
function internalSectionOf(name: string, btf: Btf, elf: ElfFile): string | undefined {
  const dot = name.indexOf('.');
  if (dot < 0) return undefined;
  const section = name.slice(dot);
  const known = findSection(elf, section) !== undefined || btf.findByName(section, BtfKind.Datasec) !== undefined;
  return known ? section : undefined;
}
