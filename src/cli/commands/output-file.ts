/**
 * Where a command's output file goes: `-o` naming a file, or a folder (existing, or ending in
 * `/`) to write the command's own file name into, else that name in the current folder. Writing
 * it is src/files/safe-write's job (symlinks, devices, replacing, modes); this module only refuses
 * a destination that is one of the command's own inputs.
 */
import { statSync, type Stats } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { EcliError } from '../../errors.js';
import { statOrUndefined } from '../../files/stat.js';

export const OUTPUT_HINT = 'name a regular file, or an existing folder, with -o';

/** Letters, digits, `_`, `.` and `-`, not starting with `.` or `-`: a name that picks no folder, no hidden file and no option. */
export function isPlainFileName(name: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(name);
}

export interface OutputPath {
  path: string;
  /** True when `-o` named this file itself (not a folder): the user chose to replace it. */
  named: boolean;
}

/**
 * The file to write for `-o spec` (or `defaultName` without -o): `spec` naming a folder, or
 * ending in `/`, means `<folder>/<defaultName>`. Refuses a missing folder, and any destination
 * that is one of `inputs` (also through symlinks and hard links).
 */
export function resolveOutput(spec: string | undefined, defaultName: string, cwd: string, inputs: readonly string[]): OutputPath {
  const given = resolve(cwd, spec ?? defaultName);
  const intoFolder = spec !== undefined && (spec.endsWith('/') || spec.endsWith(sep) || statOrUndefined(given)?.isDirectory() === true);
  if (intoFolder) requireFolder(given, spec);
  else requireFolder(dirname(given), dirname(given));
  const path = intoFolder ? join(given, defaultName) : given;
  const stats = statOrUndefined(path);
  if (stats !== undefined) {
    for (const input of inputs) {
      const other = statOrUndefined(input);
      if (other !== undefined && other.dev === stats.dev && other.ino === stats.ino) {
        throw new EcliError('USAGE', `cannot write ${path}: it is the input ${input}`, { hint: 'choose another output with -o' });
      }
    }
  }
  return { path, named: spec !== undefined && !intoFolder };
}

/** Fails unless `path` is an existing folder; `shown` is how the user named it. */
function requireFolder(path: string, shown: string): void {
  let stats: Stats | undefined;
  try {
    stats = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw usage(`cannot write into ${shown}: ${fileAncestor(path)} is a file, not a folder`);
    if (code === 'ELOOP') throw usage(`cannot write into ${shown}: it is a symlink loop`);
    throw usage(`cannot write into ${shown}: no such folder`, 'create the folder first, or name an existing one with -o');
  }
  if (!stats.isDirectory()) throw usage(`cannot write into ${shown}: it is a file, not a folder`);
}

/** The nearest ancestor of `path` that exists but is not a folder. */
function fileAncestor(path: string): string {
  for (let at = dirname(path); at !== dirname(at); at = dirname(at)) {
    const stats = statOrUndefined(at);
    if (stats !== undefined && !stats.isDirectory()) return at;
  }
  return path;
}

function usage(message: string, hint = OUTPUT_HINT): EcliError {
  return new EcliError('USAGE', message, { hint });
}
