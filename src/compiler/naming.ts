/** File and object names, derived the way the reference ecc and bpftool derive them. */
import path from 'node:path';

/** `foo/bootstrap.bpf.c` → `bootstrap`: the file name up to its first dot. */
export function objectBaseName(sourcePath: string): string {
  const file = path.basename(sourcePath);
  const dot = file.indexOf('.');
  return dot > 0 ? file.slice(0, dot) : file;
}

/** bpftool's object name: the .o basename without `.o`, non-identifier characters → `_`. */
export function skeletonObjName(objectFileName: string): string {
  const base = path.basename(objectFileName);
  return sanitizeIdentifier(base.endsWith('.o') ? base.slice(0, -2) : base);
}

export function sanitizeIdentifier(text: string): string {
  return text.replace(/[^A-Za-z0-9_]/g, '_');
}
