/** The TypeScript sources under src/ and what each imports, read from the text (comments stripped). */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export interface SourceFile {
  /** Relative to src/, with forward slashes. */
  path: string;
  text: string;
}

export function sourceFiles(dir: string, prefix = ''): SourceFile[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    const rel = prefix ? `${prefix}/${name}` : name;
    if (statSync(full).isDirectory()) return sourceFiles(full, rel);
    return name.endsWith('.ts') ? [{ path: rel, text: readFileSync(full, 'utf8') }] : [];
  });
}

function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

/** Static imports and re-exports, `import type`, and dynamic `import('...')`. */
export function importsOf(text: string): string[] {
  const specifiers: string[] = [];
  for (const match of withoutComments(text).matchAll(
    /\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm,
  )) {
    specifiers.push((match[1] ?? match[2] ?? match[3])!);
  }
  return specifiers;
}

/**
 * What loading the file evaluates at once: static imports and re-exports, but neither `import type`
 * (nor one naming only types) nor `await import()`, which load when that code runs.
 */
export function eagerImportsOf(text: string): string[] {
  const specifiers: string[] = [];
  for (const match of withoutComments(text).matchAll(/^\s*(?:import|export)\b([^'";]*?)\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm)) {
    const clause = (match[1] ?? '').trim();
    const names = /^\{([^}]*)\}$/
      .exec(clause)?.[1]
      ?.split(',')
      .map((n) => n.trim())
      .filter((n) => n !== '');
    if (clause.startsWith('type ') || (names !== undefined && names.length > 0 && names.every((n) => n.startsWith('type ')))) continue;
    specifiers.push((match[2] ?? match[3])!);
  }
  return specifiers;
}

/** `specifier` imported by `from` (both relative to src/), as a path relative to src/; npm and node: names as they are. */
export function resolveImport(from: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  return path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier)).replace(/\.js$/, '.ts');
}
