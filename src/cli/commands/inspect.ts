/**
 * `ecli inspect <package>`: the package spec that `ecli run` would load (programs, maps, what
 * is printed and why, options, export layout), built without touching the kernel; rendered as
 * tables or JSON. For a Wasm module: what it imports and exports, and whether ecli runs it.
 */
import Table from 'cli-table3';
import { structLayout } from '../../btf/layout.js';
import type { ExportSpec } from '../../model/exports.js';
import type { MapSpec } from '../../model/maps.js';
import { buildPackageSpec } from '../../model/spec.js';
import { defaultShown } from '../../options/help.js';
import { optionValueText } from '../../options/initial.js';
import { resolveInput, type ResolveOptions, type ResolvedPackage } from '../../inputs/source.js';
import { memoryText, wasmModuleReport, type WasmModuleReport } from '../../wasm/module-report.js';
import { escapeControls } from '../../terminal.js';
import { attachTargetText } from '../../model/attach-target.js';
import { fitColumnWidths } from './table-fit.js';
import type { CommandIo } from './io.js';

export interface InspectReport {
  source: string;
  objName: string;
  version?: string;
  description?: string;
  /** meta.eunomia_version: the reference ecc release that wrote the package, or whose format it has. */
  eunomiaVersion?: string;
  /** meta.built_by: the compiler, when it is not the reference's ecc (`ecli-ts 0.1.0`). */
  builtBy?: string;
  /** From manifest.json, for packed tarballs. */
  packedBy?: string;
  btfFiles: string[];
  programs: InspectProgram[];
  maps: InspectMap[];
  /** What `ecli run` prints, and why that map was chosen. */
  exports: InspectExport[];
  /** Iterator programs, whose text `ecli run` prints once (or every --interval). */
  iterators: string[];
  /** Why the object needs the kernel's BTF (CO-RE relocations, tp_btf programs...); empty when it does not. */
  kernelBtfNeededFor: string[];
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

export interface InspectExport {
  map: string;
  output: string;
  reason: string;
}

export interface InspectOption {
  name: string;
  variable: string;
  section: string;
  type: string;
  /** What the program gets without the option: the @cmdarg default, else the initial value. */
  default?: string;
  /** The variable's value in the object (its C initialiser; 0 in .bss). */
  initial?: string;
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

export interface RenderOptions {
  json: boolean;
  /** Terminal columns the tables must fit (cells wrap); unlimited when undefined (a pipe or file). */
  width?: number;
}

export async function runInspect(spec: string, opts: InspectOptions, io: CommandIo): Promise<void> {
  const { json, ...resolveOptions } = opts;
  const resolved = await resolveInput(spec, resolveOptions);
  const width = (io.stdout as { isTTY?: boolean; columns?: number }).isTTY ? (io.stdout as { columns?: number }).columns : undefined;
  const render = { json: json === true, ...(width ? { width } : {}) };
  if (resolved.type === 'wasm') {
    io.stdout.write(renderWasmInspect(wasmModuleReport(resolved.bytes, resolved.source), render));
    return;
  }
  try {
    io.stdout.write(renderInspect(inspectPackage(resolved), render));
  } finally {
    resolved.btfArchive?.cleanup();
  }
}

export function inspectPackage(resolved: ResolvedPackage): InspectReport {
  const spec = buildPackageSpec(resolved);
  const { manifest } = resolved;
  const doc = spec.meta.bpf_skel.doc;
  const description = doc?.description ?? doc?.brief;
  return {
    source: spec.source,
    objName: spec.objectName,
    ...(doc?.version === undefined ? {} : { version: doc.version }),
    ...(description === undefined ? {} : { description }),
    ...(typeof spec.meta.eunomia_version === 'string' ? { eunomiaVersion: spec.meta.eunomia_version } : {}),
    ...(typeof spec.meta.built_by === 'string' ? { builtBy: spec.meta.built_by } : {}),
    ...(manifest === undefined ? {} : { packedBy: manifest.created_by }),
    btfFiles: manifest?.btf ?? [],
    programs: spec.programs.map((p) => ({ name: p.name, section: p.section, attachKind: p.kind, target: attachTargetText(p) })),
    maps: spec.maps.map((map) =>
      describeMap(
        map,
        spec.exports.find((e) => e.map === map.meta),
      ),
    ),
    exports: spec.exports.map((e) => ({ map: e.map.name, output: outputOf(e), reason: e.reason })),
    iterators: spec.iterators.map((i) => i.program),
    kernelBtfNeededFor: [...spec.btfNeeds.reasons],
    options: spec.options.map((option) => {
      const shown = option.kind === 'flag' && option.form !== 'set' ? String(option.default) : defaultShown(option);
      return {
        name: option.kind === 'value' && option.short ? `${option.long}, -${option.short}` : option.long,
        variable: option.variable,
        section: option.section,
        type: option.typeName,
        ...(shown === undefined ? {} : { default: shown }),
        ...(option.initial === undefined ? {} : { initial: optionValueText(option.valueType, option.initial) }),
        help: option.help,
      };
    }),
    exportStructs: spec.meta.export_types.map((exported) => {
      const layout = structLayout(spec.btf, exported.type_id);
      return {
        name: layout.name || exported.name,
        size: layout.size,
        typeId: layout.typeId,
        members: layout.members.map((m) => ({ member: m.name, offset: m.offset, size: m.size, type: spec.btf.typeName(m.typeId) })),
      };
    }),
  };
}

function outputOf(exported: ExportSpec): string {
  if (exported.kind === 'sample') return `sampled every ${exported.sample.interval} ms as ${exported.sample.type ?? 'default_kv'}`;
  return `events as ${exported.columns.describe}`;
}

function describeMap(map: MapSpec, exported: ExportSpec | undefined): InspectMap {
  return {
    name: map.name,
    ident: map.ident,
    kind: map.kind,
    ...(map.key === undefined ? {} : { key: map.key }),
    ...(map.value === undefined ? {} : { value: map.value }),
    ...(map.maxEntries === undefined ? {} : { maxEntries: map.maxEntries }),
    ...(exported === undefined ? {} : { output: outputOf(exported) }),
  };
}

/** Which ecc wrote the package: ours names itself in built_by; eunomia_version alone is the reference's. */
function builtByText(report: InspectReport): string | undefined {
  if (report.builtBy === undefined) return report.eunomiaVersion === undefined ? undefined : `eunomia-bpf ecc ${report.eunomiaVersion}`;
  const format = report.eunomiaVersion === undefined ? '' : ` (the package format of eunomia-bpf ecc ${report.eunomiaVersion})`;
  return `${report.builtBy}'s ecc${format}`;
}

export function renderInspect(report: InspectReport, opts: RenderOptions): string {
  if (opts.json) return `${JSON.stringify(report, null, 2)}\n`;
  const heading = [`Package ${report.source}`, `Object  ${report.objName}${report.version === undefined ? '' : ` ${report.version}`}`];
  if (report.description !== undefined) heading.push(`About   ${report.description}`);
  const builtBy = builtByText(report);
  if (builtBy !== undefined) heading.push(`Built by ${builtBy}`);
  if (report.packedBy !== undefined) heading.push(`Packed by ${report.packedBy}`);
  if (report.btfFiles.length > 0) heading.push(`BTF for ${report.btfFiles.length} kernel(s): ${report.btfFiles.join(', ')}`);
  if (report.exports.length === 0 && report.iterators.length === 0)
    heading.push('Prints  nothing: no map is exported (bpf_printk output goes to the trace pipe)');
  for (const e of report.exports) heading.push(`Prints  ${e.map}: ${e.output} (${e.reason})`);
  for (const program of report.iterators) heading.push(`Prints  ${program}: the text of the iterator, once (or every --interval)`);
  if (report.kernelBtfNeededFor.length > 0) heading.push(`Needs   the kernel's BTF, for ${report.kernelBtfNeededFor.join(', ')}`);
  // Package strings are shown with their control characters escaped, one line each (JSON is exact).
  const lines = heading.map(escapeControls);
  lines.push(
    '',
    ...section(
      'Programs',
      ['name', 'section', 'attach', 'target'],
      report.programs.map((p) => [p.name, p.section, p.attachKind, p.target]),
      opts.width,
    ),
    ...section(
      'Maps',
      ['name', 'ident', 'kind', 'key', 'value', 'max entries', 'output'],
      report.maps.map((m) => [m.name, m.ident, m.kind, m.key, m.value, m.maxEntries, m.output]),
      opts.width,
    ),
    ...section(
      'Options',
      ['option', 'section', 'type', 'default', 'initial', 'help'],
      report.options.map((o) => [`--${o.name}`, o.section, o.type, o.default, o.initial, o.help]),
      opts.width,
    ),
  );
  for (const struct of report.exportStructs) {
    lines.push(
      ...section(
        `Export struct ${struct.name} (${struct.size} bytes)`,
        ['member', 'offset', 'size', 'type'],
        struct.members.map((m) => [m.member, m.offset, m.size, m.type]),
        opts.width,
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

export function renderWasmInspect(report: WasmModuleReport, opts: RenderOptions): string {
  if (opts.json) return `${JSON.stringify(report, null, 2)}\n`;
  const lines = [
    `Module  ${report.source} (WebAssembly, ${report.size} bytes)`,
    `Memory  ${memoryText(report.memory)}`,
    report.runnable ? `Runs    with: ecli run ${report.source} [arguments...]` : `Refused ${report.problem ?? ''}`,
  ].map(escapeControls);
  lines.push(
    '',
    ...section(
      'Imports',
      ['module', 'name', 'kind', 'signature'],
      report.imports.map((i) => [i.module, i.name, i.kind, i.signature]),
      opts.width,
    ),
    ...section(
      'Exports',
      ['name', 'kind'],
      report.exports.map((e) => [e.name, e.kind]),
      opts.width,
    ),
  );
  return `${lines.join('\n')}\n`;
}

function section(title: string, head: string[], rows: (string | number | undefined)[][], width: number | undefined): string[] {
  if (rows.length === 0) return [escapeControls(title), '  (none)', ''];
  const cells = rows.map((row) => row.map((cell) => (typeof cell === 'string' ? escapeControls(cell) : `${cell ?? ''}`)));
  // Cell text plus one space of padding on each side.
  const natural = head.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)) + 2);
  const fitted = width === undefined ? undefined : fitColumnWidths(natural, width);
  // No colours: the output must read the same in a terminal, a pipe and a test.
  const table = new Table({
    head,
    style: { head: [], border: [], compact: true },
    ...(fitted === undefined ? {} : { colWidths: fitted, wordWrap: true, wrapOnWordBoundary: false }),
  });
  table.push(...cells);
  return [escapeControls(title), table.toString(), ''];
}
