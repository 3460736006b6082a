/**
 * The layering of src/ that docs/architecture.md draws, checked on the real imports: every folder imports
 * only from folders below it, folders form no cycle, and only src/loader/ffi imports koffi.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { repoRoot } from '../helpers/env.js';
import { importsOf, resolveImport, sourceFiles, type SourceFile } from '../helpers/source-imports.js';

/** Bottom to top, as in docs/architecture.md's diagram; folders on one row must not import each other. */
const LAYERS: readonly (readonly string[])[] = [
  ['errors.ts', 'version.ts', 'suggest.ts', 'terminal.ts', 'startup-mark.ts'],
  ['elf', 'files'],
  ['package'],
  ['btf'],
  ['format', 'options'],
  ['model', 'filter'],
  ['loader/ffi'],
  ['loader', 'symbols', 'containers'],
  ['runner', 'inputs', 'compiler'],
  ['signing'],
  ['metrics', 'api', 'wasm'],
  ['cli'],
];
const KOFFI_FOLDER = 'loader/ffi';

/** The layer unit of a file: a top-level file, a top-level folder, or a folder LAYERS names (loader/ffi). */
function unitOf(file: string): string {
  const parts = file.split('/');
  if (parts.length === 1) return parts[0]!;
  const nested = `${parts[0]}/${parts[1]}`;
  return LAYERS.some((row) => row.includes(nested)) ? nested : parts[0]!;
}

function checkLayers(files: readonly SourceFile[]): string[] {
  const rank = new Map<string, number>();
  LAYERS.forEach((row, i) => row.forEach((unit) => rank.set(unit, i)));
  const problems: string[] = [];
  const edges = new Map<string, Set<string>>();
  const unplaced = new Set<string>();
  for (const file of files) {
    const from = unitOf(file.path);
    if (!rank.has(from) && !unplaced.has(from)) {
      unplaced.add(from);
      problems.push(`src/${file.path}: ${from} has no place in the layer order (add it to LAYERS and docs/architecture.md)`);
    }
    for (const specifier of importsOf(file.text)) {
      if (specifier === 'koffi' || specifier.startsWith('koffi/')) {
        if (from !== KOFFI_FOLDER) problems.push(`src/${file.path} imports koffi; only src/${KOFFI_FOLDER} may`);
        continue;
      }
      if (!specifier.startsWith('.')) continue;
      const target = resolveImport(file.path, specifier);
      const to = unitOf(target);
      if (to === from) continue;
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)!.add(to);
      const a = rank.get(from);
      const b = rank.get(to);
      if (a !== undefined && b !== undefined && b >= a) {
        problems.push(`src/${file.path} imports ${specifier}: ${to} is ${b === a ? 'beside' : 'above'} ${from} in the layer order`);
      }
    }
  }
  for (const cycle of cyclesOf(edges)) problems.push(`folders import each other in a cycle: ${cycle.join(' → ')}`);
  return problems;
}

/** One cycle per strongly connected group of folders (depth-first search for a back edge). */
function cyclesOf(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const visit = (unit: string, trail: string[]): void => {
    const at = trail.indexOf(unit);
    if (at >= 0) {
      cycles.push([...trail.slice(at), unit]);
      return;
    }
    if (done.has(unit)) return;
    for (const next of edges.get(unit) ?? []) visit(next, [...trail, unit]);
    done.add(unit);
  };
  for (const unit of edges.keys()) visit(unit, []);
  return cycles;
}

test('src/ follows the layer order, has no folder cycle, and imports koffi only in loader/ffi', () => {
  const files = sourceFiles(path.join(repoRoot, 'src'));
  assert.ok(files.length > 50, `read ${files.length} files`);
  assert.deepEqual(checkLayers(files), []);
});

test('the check finds imports against the order, cycles, koffi elsewhere and unplaced folders', () => {
  const files: SourceFile[] = [
    { path: 'btf/btf.ts', text: "import { x } from '../format/value.js';\nimport type { Y } from '../package/types.js';" },
    { path: 'format/value.ts', text: "export { z } from '../btf/btf.js';" },
    { path: 'format/other.ts', text: "const o = await import('../options/spec.js');" },
    { path: 'options/spec.ts', text: "// import { no } from '../cli/ecli.js';\nimport koffi from 'koffi';" },
    { path: 'loader/ffi/libbpf.ts', text: "import koffi from 'koffi';\nimport { e } from '../../errors.js';" },
    { path: 'shiny/new.ts', text: "import { e } from '../errors.js';" },
    { path: 'shiny/newer.ts', text: "import { e } from '../errors.js';" },
  ];
  assert.deepEqual(checkLayers(files), [
    'src/btf/btf.ts imports ../format/value.js: format is above btf in the layer order',
    'src/format/other.ts imports ../options/spec.js: options is beside format in the layer order',
    'src/options/spec.ts imports koffi; only src/loader/ffi may',
    'src/shiny/new.ts: shiny has no place in the layer order (add it to LAYERS and docs/architecture.md)',
    'folders import each other in a cycle: btf → format → btf',
  ]);
});
