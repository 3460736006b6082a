/**
 * The C skeleton of a BPF object for wasm-bpf guests: `ecc --wasm-skeleton` writes it as
 * `<name>.skel.h`, where the reference builds it with its fork of bpftool (`gen skeleton -j`).
 * It declares `struct <obj>` with the object's maps, programs and data sections, the usual
 * `<obj>__open/__load/__attach/__destroy` functions over sdk/wasm/libbpf-wasm.h, and embeds
 * the object itself.
 *
 * The data section structs (`skel->rodata`) point into the embedded object, so the guest sets
 * `.rodata` and `.data` values before load by writing the ELF bytes the host then loads. BPF is
 * 64-bit and wasm32 is not: `long` and pointers differ in size, so every variable is declared
 * with a fixed-width type of its BTF size (pointers as uint64_t), the structs are packed with
 * explicit padding, and each offset is checked by a _Static_assert. Pure.
 */
import type { Btf } from '../btf/btf.js';
import { dataSectionLayout } from '../btf/layout.js';
import { BtfKind, type BtfType } from '../btf/types.js';
import type { ElfFile } from '../elf/elf.js';
import type { BpfSkeletonMeta } from '../package/types.js';
import { sanitizeIdentifier } from './naming.js';
import { internalMapName } from './skeleton.js';

export interface WasmSkeletonInput {
  /** bpftool's object name, e.g. `execve_bpf`: the struct and function prefix. */
  objName: string;
  /** The object's file name, for the header comment. */
  objectFile: string;
  /** The object as it is embedded and loaded. */
  object: Uint8Array;
  elf: ElfFile;
  btf: Btf;
  skeleton: BpfSkeletonMeta;
}

/** The SDK header the skeleton includes, written beside it. */
export const WASM_SDK_HEADER = 'libbpf-wasm.h';

/** Sections whose bytes the guest may set before load, and the skeleton field holding their file offset. */
const PATCHABLE_SECTIONS: Record<string, string> = { '.rodata': 'rodata_offset', '.data': 'data_offset' };
const BYTES_PER_LINE = 24;
const MAX_NESTING = 32;

interface DataStruct {
  ident: string;
  tag: string;
  body: string[];
  asserts: string[];
}

export function wasmSkeletonHeader(input: WasmSkeletonInput): string {
  const { objName, skeleton } = input;
  const guard = `__${objName.toUpperCase()}_WASM_SKEL_H__`;
  const dataStructs = skeleton.maps.flatMap((map) => {
    const section = map.mmaped ? sectionOfMap(input, map.name) : undefined;
    return section === undefined ? [] : [dataStruct(input, map.ident, section)];
  });
  const lines = [
    `/* ${objName}.skel.h: the wasm-bpf skeleton of ${input.objectFile}, written by ecc --wasm-skeleton. Do not edit. */`,
    `#ifndef ${guard}`,
    `#define ${guard}`,
    '',
    '#include <stddef.h>',
    '#include <stdint.h>',
    '#include <stdbool.h>',
    `#include "${WASM_SDK_HEADER}"`,
    '',
    `struct ${objName} {`,
    '\tstruct bpf_object_skeleton *skeleton;',
    '\tstruct bpf_object *obj;',
    ...memberBlock(
      'maps',
      skeleton.maps.map((m) => `struct bpf_map *${m.ident};`),
    ),
    ...memberBlock(
      'progs',
      skeleton.progs.map((p) => `struct bpf_program *${p.name};`),
    ),
    ...dataStructs.flatMap((s) => [`\tstruct ${s.tag} {`, ...s.body.map((l) => `\t\t${l}`), `\t} __attribute__((packed)) *${s.ident};`]),
    '};',
    '',
    ...dataStructs.flatMap((s) => s.asserts),
    ...(dataStructs.length > 0 ? [''] : []),
    ...functions(input),
    '',
    `#endif /* ${guard} */`,
    '',
  ];
  return lines.join('\n');
}

function memberBlock(name: string, members: string[]): string[] {
  return members.length === 0 ? [] : ['\tstruct {', ...members.map((m) => `\t\t${m}`), `\t} ${name};`];
}

/** The ELF section behind an internal map (`execve_b.rodata` → `.rodata`); none for `.kconfig`. */
function sectionOfMap(input: WasmSkeletonInput, mapName: string): string | undefined {
  return input.elf.sections.find((s) => s.name.startsWith('.') && internalMapName(input.objName, s.name) === mapName)?.name;
}

function dataStruct(input: WasmSkeletonInput, ident: string, section: string): DataStruct {
  const tag = `${input.objName}__${ident}`;
  const layout = dataSectionLayout(input.btf, input.elf, section);
  const variables = (layout?.variables ?? []).filter((v) => !v.isStatic).sort((a, b) => a.offset - b.offset);
  const body: string[] = [];
  const asserts: string[] = [];
  let at = 0;
  let pads = 0;
  for (const v of variables) {
    if (v.offset < at) continue; // overlaps the previous variable: not addressable by name
    if (v.offset > at) body.push(`uint8_t __pad${pads++}[${v.offset - at}];`);
    const name = sanitizeIdentifier(v.name);
    body.push(...declaration(input.btf, v.typeId, name, 0));
    asserts.push(`_Static_assert(offsetof(struct ${tag}, ${name}) == ${v.offset}, "${tag}: ${name} is not at its BPF offset");`);
    at = v.offset + v.size;
  }
  return { ident, tag, body, asserts };
}

/**
 * `name` declared with a type of the same size and layout in wasm32 as `typeId` has in BPF,
 * ending in `;`; several lines for an inline struct.
 */
function declaration(btf: Btf, typeId: number, name: string, depth: number): string[] {
  const size = btf.sizeOf(typeId);
  const bytes = [`uint8_t ${name}[${size}];`];
  if (depth > MAX_NESTING) return bytes;
  const t = btf.resolve(typeId);
  switch (t.kind) {
    case BtfKind.Int:
      if (t.bool && t.size === 1) return [`bool ${name};`];
      // clang marks `char` signed rather than char: the name tells.
      if (t.size === 1 && (t.char || t.name === 'char')) return [`char ${name};`];
      return fixedWidth(t.size, t.signed, name) ?? bytes;
    case BtfKind.Enum:
    case BtfKind.Enum64:
      return fixedWidth(t.size, t.signed, name) ?? bytes;
    case BtfKind.Float:
      return t.size === 4 ? [`float ${name};`] : t.size === 8 ? [`double ${name};`] : bytes;
    case BtfKind.Ptr:
      return [`uint64_t ${name}; /* a BPF pointer */`];
    case BtfKind.Array:
      return t.nelems === 0 ? bytes : declaration(btf, t.type, `${name}[${t.nelems}]`, depth + 1);
    case BtfKind.Struct:
    case BtfKind.Union:
      return compositeDeclaration(btf, t, name, depth) ?? bytes;
    default:
      return bytes;
  }
}

function fixedWidth(size: number, signed: boolean, name: string): string[] | undefined {
  return [1, 2, 4, 8].includes(size) ? [`${signed ? '' : 'u'}int${size * 8}_t ${name};`] : undefined;
}

/** An inline packed struct or union with explicit padding; undefined when it has bitfields. */
function compositeDeclaration(btf: Btf, t: Extract<BtfType, { kind: BtfKind.Struct | BtfKind.Union }>, name: string, depth: number): string[] | undefined {
  if (t.members.some((m) => m.bitfieldSize !== 0 || m.bitOffset % 8 !== 0)) return undefined;
  const union = t.kind === BtfKind.Union;
  const body: string[] = [];
  let at = 0;
  let pads = 0;
  let anonymous = 0;
  const members = union ? t.members : [...t.members].sort((a, b) => a.bitOffset - b.bitOffset);
  for (const member of members) {
    const offset = union ? 0 : member.bitOffset / 8;
    if (offset < at) return undefined;
    if (offset > at) body.push(`uint8_t __pad${pads++}[${offset - at}];`);
    const memberName = member.name ? sanitizeIdentifier(member.name) : `__anon${anonymous++}`;
    body.push(...declaration(btf, member.type, memberName, depth + 1));
    if (!union) at = offset + btf.sizeOf(member.type);
  }
  // A union's own size may exceed its largest member; a struct may end in padding.
  if (union) body.push(`uint8_t __size[${t.size}];`);
  else if (at < t.size) body.push(`uint8_t __pad${pads}[${t.size - at}];`);
  return [`${union ? 'union' : 'struct'} __attribute__((packed)) {`, ...body.map((l) => `\t${l}`), `} ${name};`];
}

function functions(input: WasmSkeletonInput): string[] {
  const { objName: o, skeleton, elf, object } = input;
  const offsets = Object.entries(PATCHABLE_SECTIONS).flatMap(([section, field]) => {
    const found = elf.sections.find((s) => s.name === section && s.data.length > 0);
    return found === undefined ? [] : [`\ts->${field} = ${found.fileOffset};`];
  });
  const maps = skeleton.maps.flatMap((m, i) => [
    `\ts->maps[${i}].name = ${JSON.stringify(m.name)};`,
    `\ts->maps[${i}].map = &obj->maps.${m.ident};`,
    ...(m.mmaped && sectionOfMap(input, m.name) !== undefined ? [`\ts->maps[${i}].mmaped = (void **)&obj->${m.ident};`] : []),
  ]);
  const progs = skeleton.progs.flatMap((p, i) => [`\ts->progs[${i}].name = ${JSON.stringify(p.name)};`, `\ts->progs[${i}].prog = &obj->progs.${p.name};`]);
  return [
    `static inline void ${o}__destroy(struct ${o} *obj)`,
    '{',
    '\tif (obj == NULL)',
    '\t\treturn;',
    '\tbpf_object__destroy_skeleton(obj->skeleton);',
    '\tfree(obj);',
    '}',
    '',
    `static inline const void *${o}__elf_bytes(size_t *size)`,
    '{',
    '\t/* Writable: the .rodata and .data structs point into it until load. */',
    '\tstatic char object[] __attribute__((aligned(8))) =',
    ...hexLines(object).map((line) => `\t\t"${line}"`),
    '\t\t;',
    '\t*size = sizeof(object) - 1;',
    '\treturn object;',
    '}',
    '',
    `static inline int ${o}__create_skeleton(struct ${o} *obj)`,
    '{',
    '\tstruct bpf_object_skeleton *s = (struct bpf_object_skeleton *)calloc(1, sizeof(*s));',
    '\tif (s == NULL)',
    '\t\treturn -BPF_ENOMEM;',
    '\tobj->skeleton = s;',
    '\ts->sz = sizeof(*s);',
    `\ts->name = ${JSON.stringify(o)};`,
    ...offsets,
    `\ts->map_cnt = ${skeleton.maps.length};`,
    '\ts->map_skel_sz = sizeof(*s->maps);',
    `\ts->prog_cnt = ${skeleton.progs.length};`,
    '\ts->prog_skel_sz = sizeof(*s->progs);',
    ...(skeleton.maps.length > 0
      ? ['\ts->maps = (struct bpf_map_skeleton *)calloc(s->map_cnt, s->map_skel_sz);', '\tif (s->maps == NULL)', '\t\treturn -BPF_ENOMEM;', ...maps]
      : []),
    ...(skeleton.progs.length > 0
      ? ['\ts->progs = (struct bpf_prog_skeleton *)calloc(s->prog_cnt, s->prog_skel_sz);', '\tif (s->progs == NULL)', '\t\treturn -BPF_ENOMEM;', ...progs]
      : []),
    `\ts->data = (void *)${o}__elf_bytes(&s->data_sz);`,
    '\treturn 0;',
    '}',
    '',
    `static inline struct ${o} *${o}__open_opts(const struct bpf_object_open_opts *opts)`,
    '{',
    `\tstruct ${o} *obj = (struct ${o} *)calloc(1, sizeof(*obj));`,
    '\tif (obj == NULL) {',
    '\t\terrno = ENOMEM;',
    '\t\treturn NULL;',
    '\t}',
    `\tint err = ${o}__create_skeleton(obj);`,
    '\tif (err == 0)',
    '\t\terr = bpf_object__open_skeleton(obj->skeleton, opts);',
    '\tif (err != 0) {',
    `\t\t${o}__destroy(obj);`,
    '\t\terrno = -err;',
    '\t\treturn NULL;',
    '\t}',
    '\treturn obj;',
    '}',
    '',
    `static inline struct ${o} *${o}__open(void)`,
    '{',
    `\treturn ${o}__open_opts(NULL);`,
    '}',
    '',
    `static inline int ${o}__load(struct ${o} *obj)`,
    '{',
    '\treturn bpf_object__load_skeleton(obj->skeleton);',
    '}',
    '',
    `static inline struct ${o} *${o}__open_and_load(void)`,
    '{',
    `\tstruct ${o} *obj = ${o}__open();`,
    '\tif (obj == NULL)',
    '\t\treturn NULL;',
    `\tint err = ${o}__load(obj);`,
    '\tif (err != 0) {',
    `\t\t${o}__destroy(obj);`,
    '\t\terrno = -err;',
    '\t\treturn NULL;',
    '\t}',
    '\treturn obj;',
    '}',
    '',
    `static inline int ${o}__attach(struct ${o} *obj)`,
    '{',
    '\treturn bpf_object__attach_skeleton(obj->skeleton);',
    '}',
    '',
    `static inline void ${o}__detach(struct ${o} *obj)`,
    '{',
    '\tbpf_object__detach_skeleton(obj->skeleton);',
    '}',
  ];
}

/** The bytes as C string literal contents, every byte a \x escape. */
function hexLines(bytes: Uint8Array): string[] {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += BYTES_PER_LINE) {
    let line = '';
    for (const byte of bytes.subarray(at, at + BYTES_PER_LINE)) line += `\\x${byte.toString(16).padStart(2, '0')}`;
    lines.push(line);
  }
  return lines;
}
