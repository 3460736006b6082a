/**
 * Where a command's `-o` output goes, and writing it without ever destroying what was there:
 * the output is written to a temporary file in the destination folder, flushed, then renamed
 * over the destination, so a failure (a full disk, a killed process) leaves the old file as it
 * was. Only regular files are replaced: a device, a FIFO or one of the command's own inputs
 * (also through symlinks and hard links) is refused, and a symlink is written through.
 */
import { closeSync, fsyncSync, lstatSync, openSync, readlinkSync, realpathSync, renameSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { EcliError } from '../../errors.js';

const OUTPUT_HINT = 'name a regular file, or an existing folder, with -o';

/**
 * The file to write for `-o spec` (or `defaultName` without -o): `spec` naming a folder, or
 * ending in `/`, means `<folder>/<defaultName>`. Refuses destinations that cannot be replaced
 * safely, and any that is one of `inputs`.
 */
export function resolveOutput(spec: string | undefined, defaultName: string, cwd: string, inputs: readonly string[]): string {
  const given = resolve(cwd, spec ?? defaultName);
  const intoFolder = spec !== undefined && (spec.endsWith('/') || spec.endsWith(sep) || isFolder(given));
  if (intoFolder) requireFolder(given, spec);
  let target = intoFolder ? join(given, defaultName) : given;
  const stats = statOrUndefined(target);
  if (lstatOrUndefined(target)?.isSymbolicLink()) {
    if (stats === undefined) throw brokenLink(target);
    // Written through: the file it points to is replaced, the link stays.
    if (stats.isFile()) target = realpathSync(target);
  }
  if (stats === undefined) requireFolder(dirname(target), dirname(target));
  else if (stats.isDirectory()) throw usage(`cannot write ${target}: it is a folder`);
  else if (!stats.isFile()) throw usage(`cannot write ${target}: it is ${kindOf(stats)}, not a regular file`);
  if (stats !== undefined) {
    for (const input of inputs) {
      const other = statOrUndefined(input);
      if (other !== undefined && other.dev === stats.dev && other.ino === stats.ino) {
        throw new EcliError('USAGE', `cannot write ${target}: it is the input ${input}`, { hint: 'choose another output with -o' });
      }
    }
  }
  return target;
}

/**
 * Runs `produce(tempPath)` to write the output into a temporary file next to `target`, then
 * renames it over `target`. On any failure the temporary file is removed and `target` is untouched.
 */
export async function writeReplacing(target: string, produce: (tempPath: string) => Promise<void>): Promise<void> {
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`);
  const existed = statOrUndefined(target) !== undefined;
  try {
    await produce(temp);
    const fd = openSync(temp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, target);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // never created
    }
    if (error instanceof EcliError) throw error;
    throw writeError(target, error, existed);
  }
}

/** A file-system error while writing `target`, as a typed error saying what was kept. */
export function writeError(target: string, error: unknown, existed: boolean): EcliError {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOSPC'
      ? 'no space left on device'
      : code === 'EDQUOT'
        ? 'disk quota exceeded'
        : code === 'EACCES' || code === 'EPERM'
          ? `permission denied in ${dirname(target)}`
          : code === 'EROFS'
            ? 'read-only file system'
            : code === 'EIO'
              ? 'input/output error'
              : (error as Error).message;
  const kept = existed ? 'the existing file is unchanged' : 'nothing was written';
  return new EcliError('RUNTIME', `cannot write ${target}: ${why}; ${kept}`, { cause: error });
}

function brokenLink(link: string): EcliError {
  try {
    realpathSync(link);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') return usage(`cannot write ${link}: it is a symlink loop`);
  }
  return usage(`cannot write ${link}: it is a dangling symlink (to ${readlinkSync(link)})`);
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

function kindOf(stats: Stats): string {
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  return 'not a file';
}

function isFolder(path: string): boolean {
  return statOrUndefined(path)?.isDirectory() === true;
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function usage(message: string, hint = OUTPUT_HINT): EcliError {
  return new EcliError('USAGE', message, { hint });
}
