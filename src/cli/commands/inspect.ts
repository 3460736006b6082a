/**
 * `ecli inspect <package>`: what a package holds (programs, maps, options, export layout), read
 * from its meta and its object's BTF without touching the kernel; rendered as tables or JSON.
 */
import Table from 'cli-table3';
import { buildOptionSpecs } from '../../options/spec.js';
import { Btf } from '../../btf/btf.js';
import { structLayout } from '../../btf/layout.js';
import { findSection, parseElf } from '../../elf/elf.js';
import type { MapMeta } from '../../package/types.js';
import { selectExports } from '../../runner/select-exports.js';
import { attachKindOf, attachTargetOf } from '../../loader/attach-kind.js';
import { mapDefinitions, type MapDefinition } from '../../btf/map-defs.js';
import { resolvePackageSource, type ResolveOptions, type ResolvedPackage } from '../../inputs/source.js';
import type { CommandIo } from './io.js';

export interface InspectReport {
  source: string;
  objName: string;
  version?: string;
  description?: string;
  eunomiaVersion?: string;
  /** From manifest.json, for packed tarballs. */
  packedBy?: string;
  btfFiles: string[];
  programs: InspectProgram[];
  maps: InspectMap[];
  options: InspectOption[];
  exportStructs: InspectExportStruct[];
}

export interface InspectProgram {
  name: string;
  section: string;
  attachKind: string;
  target: string;
}

export interface InspectMap {
  name: string;
  ident: string;
  kind: string;
  key?: string;
  value?: string;
  maxEntries?: number;
  /** How the runner reads it: events, samples, or nothing. */
  output?: string;
}

export interface InspectOption {
  name: string;
  variable: string;
  section: string;
  type: string;
  default?: unknown;
  help?: string;
}

export interface InspectExportStruct {
  name: string;
  size: number;
  typeId: number;
  members: { member: string; offset: number; size: number; type: string }[];
}

export interface InspectOptions extends ResolveOptions {
  json?: boolean;
}

export async function runInspect(spec: string, opts: InspectOptions, io: CommandIo): Promise<void> {
  const { json, ...resolveOptions } = opts;
  const resolved = await resolvePackageSource(spec, resolveOptions);
  try {
    io.stdout.write(renderInspect(inspectPackage(resolved), { json: json === true }));
  } finally {
    resolved.btfArchive?.cleanup();
  }
}

export function inspectPackage(resolved: ResolvedPackage): InspectReport {
  const { pkg, manifest } = resolved;
  const meta = pkg.meta;
  const elf = parseElf(resolved.elf, resolved.source);
  const btfSection = findSection(elf, '.BTF');
  const btf = btfSection === undefined ? undefined : Btf.parse(btfSection.data);
  const definitions = btf === undefined ? new Map<string, MapDefinition>() : mapDefinitions(btf);
  const doc = meta.bpf_skel.doc;
  const description = doc?.description ?? doc?.brief;
  return {
    source: resolved.source,
    objName: meta.bpf_skel.obj_name,
    ...(doc?.version === undefined ? {} : { version: doc.version }),
    ...(description === undefined ? {} : { description }),
    ...(typeof meta.eunomia_version === 'string' ? { eunomiaVersion: meta.eunomia_version } : {}),
    ...(manifest === undefined ? {} : { packedBy: manifest.created_by }),
    btfFiles: manifest?.btf ?? [],
    programs: meta.bpf_skel.progs.map((prog) => {
      return { name: prog.name, section: prog.attach, attachKind: attachKindOf(prog.attach), target: attachTargetOf(prog.attach) };
    }),
    maps: describeMaps(meta.bpf_skel.maps, definitions, resolved),
    options: buildOptionSpecs(meta, btf).map((spec) => {
      const flag = spec.kind === 'flag';
      const fallback = spec.kind === 'value' ? spec.defaultText : undefined;
      return {
        name: spec.kind === 'value' && spec.short ? `${spec.long}, -${spec.short}` : spec.long,
        variable: spec.variable,
        section: spec.section,
        type: spec.typeName,
        ...(flag ? { default: spec.default ?? '(initial value)' } : fallback === undefined ? {} : { default: fallback }),
        help: spec.help,
      };
    }),
    exportStructs:
      btf === undefined
        ? []
        : meta.export_types.map((exported) => {
            const layout = structLayout(btf, exported.type_id);
            return {
              name: layout.name || exported.name,
              size: layout.size,
              typeId: layout.typeId,
              members: layout.members.map((m) => ({ member: m.name, offset: m.offset, size: m.size, type: btf.typeName(m.typeId) })),
            };
          }),
  };
}

function describeMaps(maps: MapMeta[], definitions: Map<string, MapDefinition>, resolved: ResolvedPackage): InspectMap[] {
  const definitionOf = (map: MapMeta): MapDefinition | undefined => definitions.get(map.name);
  const { exports } = selectExports(resolved.pkg.meta, (name) => {
    const kind = definitions.get(name)?.kind;
    return kind === 'ringbuf' || kind === 'perf_event_array' ? kind : 'other';
  });
  const exportStruct = resolved.pkg.meta.export_types[0]?.name;
  return maps.map((map) => {
    const def = definitionOf(map);
    const exported = exports.find((e) => e.map === map);
    let output: string | undefined;
    if (exported !== undefined && map.sample !== undefined) {
      output = `sampled every ${map.sample.interval} ms as ${map.sample.type ?? 'default_kv'}`;
    } else if (exported !== undefined) {
      output = exportStruct === undefined ? 'events (no export type)' : `events as struct ${exportStruct}`;
    }
    // Internal maps (.rodata, .bss...) are single-element arrays named <prefix>.<section>.
    const internalSection = def === undefined && map.name.includes('.') ? map.name.slice(map.name.indexOf('.')) : undefined;
    return {
      name: map.name,
      ident: map.ident,
      kind: def?.kind ?? (internalSection === undefined ? 'unknown' : 'array'),
      ...keyValue(def, internalSection),
      ...(def?.maxEntries === undefined ? (internalSection === undefined ? {} : { maxEntries: 1 }) : { maxEntries: def.maxEntries }),
      ...(output === undefined ? {} : { output }),
    };
  });
}

function keyValue(def: MapDefinition | undefined, internalSection: string | undefined): { key?: string; value?: string } {
  if (internalSection !== undefined) return { key: 'int', value: internalSection };
  if (def === undefined) return {};
  const key = def.key ?? (def.keySize === undefined ? undefined : `${def.keySize} bytes`);
  const value = def.value ?? (def.valueSize === undefined ? undefined : `${def.valueSize} bytes`);
  return { ...(key === undefined ? {} : { key }), ...(value === undefined ? {} : { value }) };
}

export function renderInspect(report: InspectReport, opts: { json: boolean }): string {
  if (opts.json) return `${JSON.stringify(report, null, 2)}\n`;
  const lines = [`Package ${report.source}`, `Object  ${report.objName}${report.version === undefined ? '' : ` ${report.version}`}`];
  if (report.description !== undefined) lines.push(`About   ${report.description}`);
  if (report.eunomiaVersion !== undefined) lines.push(`Built by ecc ${report.eunomiaVersion}`);
  if (report.packedBy !== undefined) lines.push(`Packed by ${report.packedBy}`);
  if (report.btfFiles.length > 0) lines.push(`BTF for ${report.btfFiles.length} kernel(s): ${report.btfFiles.join(', ')}`);
  lines.push(
    '',
    ...section(
      'Programs',
      ['name', 'section', 'attach', 'target'],
      report.programs.map((p) => [p.name, p.section, p.attachKind, p.target]),
    ),
    ...section(
      'Maps',
      ['name', 'ident', 'kind', 'key', 'value', 'max entries', 'output'],
      report.maps.map((m) => [m.name, m.ident, m.kind, m.key, m.value, m.maxEntries, m.output]),
    ),
    ...section(
      'Options',
      ['option', 'section', 'type', 'default', 'help'],
      report.options.map((o) => [`--${o.name}`, o.section, o.type, o.default === undefined ? '' : showJson(o.default), o.help]),
    ),
  );
  for (const struct of report.exportStructs) {
    lines.push(
      ...section(
        `Export struct ${struct.name} (${struct.size} bytes)`,
        ['member', 'offset', 'size', 'type'],
        struct.members.map((m) => [m.member, m.offset, m.size, m.type]),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

function section(title: string, head: string[], rows: (string | number | undefined)[][]): string[] {
  if (rows.length === 0) return [title, '  (none)', ''];
  // No colours: the output must read the same in a terminal, a pipe and a test.
  const table = new Table({ head, style: { head: [], border: [], compact: true } });
  table.push(...rows.map((row) => row.map((cell) => cell ?? '')));
  return [title, table.toString(), ''];
}

function showJson(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
