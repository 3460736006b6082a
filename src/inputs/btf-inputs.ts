/**
 * The `--btf` arguments of `ecli pack`: files whose paths end in
 * `<id>/<version>/<arch>/<release>.btf`, or directories laid out like btfhub-archive.
 */
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, statSync, type Dirent, type Stats } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { EcliError } from '../errors.js';
import { btfRelativePath, btfTargetOfPath, looksLikeBtf, type BtfTarget } from './btfhub.js';

export interface BtfInput {
  target: BtfTarget;
  /** The file to copy. */
  path: string;
}

const LAYOUT_HINT =
  'BTF files must be laid out like btfhub-archive: <os-release ID>/<VERSION_ID>/<uname -m>/<uname -r>.btf, ' +
  'e.g. --btf archive/ubuntu/22.04/x86_64/5.15.0-91-generic.btf, or --btf <dir> holding such a tree';

/** Every BTF file the arguments name, sorted by archive path; one file per kernel. */
export function collectBtfInputs(specs: string[]): BtfInput[] {
  const byPath = new Map<string, BtfInput>();
  for (const spec of specs) {
    for (const input of expand(spec)) {
      const key = btfRelativePath(input.target);
      const previous = byPath.get(key);
      if (previous !== undefined && previous.path !== input.path) {
        throw usage(`two BTF files for the same kernel ${key}: ${previous.path} and ${input.path}`);
      }
      byPath.set(key, input);
    }
  }
  return [...byPath.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, input]) => input);
}

function expand(spec: string): BtfInput[] {
  const path = resolve(spec);
  const isDirectory = statInput(path, spec).isDirectory();
  if (!isDirectory) return [checkedFile(path, btfTargetOfPath(path.split(sep).join('/')), spec)];
  const files = listFiles(path);
  if (files.length === 0) throw usage(`--btf ${spec} holds no BTF files`);
  return files.map((file) => {
    const rel = relative(path, file).split(sep);
    // Exactly four levels below the archive root, so that a file's place names its kernel.
    return checkedFile(file, rel.length === 4 ? btfTargetOfPath(rel.join('/')) : undefined, file);
  });
}

function checkedFile(path: string, target: BtfTarget | undefined, shown: string): BtfInput {
  if (target === undefined) {
    const xz = shown.endsWith('.btf.tar.xz') ? ' (btfhub-archive ships .btf.tar.xz: extract it first)' : '';
    throw usage(`--btf ${shown} is not at <id>/<version>/<arch>/<release>.btf${xz}`);
  }
  if (!looksLikeBtf(readHead(path, 4))) throw usage(`--btf ${shown} is not a BTF file (no BTF or ELF magic)`);
  return { target, path };
}

/** Regular files below `dir`, skipping hidden entries such as a clone's .git. */
function listFiles(dir: string): string[] {
  const files: string[] = [];
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    throw unreadable(dir, dir, error);
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    const stat = statInput(full, full);
    if (stat.isDirectory()) files.push(...listFiles(full));
    else if (stat.isFile()) files.push(full);
    else throw usage(`--btf: ${full} is neither a file nor a directory`);
  }
  return files;
}

function readHead(path: string, length: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw unreadable(path, path, error);
  }
  try {
    const head = new Uint8Array(length);
    return head.subarray(0, readSync(fd, head, 0, length, 0));
  } finally {
    closeSync(fd);
  }
}

/** stat(2) through symlinks, with dangling links and loops named as such. */
function statInput(path: string, shown: string): Stats {
  try {
    return statSync(path);
  } catch (error) {
    throw unreadable(path, shown, error);
  }
}

function unreadable(path: string, shown: string, error: unknown): EcliError {
  const code = (error as NodeJS.ErrnoException).code;
  let why: string;
  if (code === 'ELOOP') why = 'it is a symlink loop';
  else if (code === 'ENOENT' && lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) why = `it is a dangling symlink (to ${readlinkSync(path)})`;
  else if (code === 'ENOENT') why = 'no such file or folder';
  else if (code === 'EACCES') why = 'permission denied';
  else if (code === 'ENOTDIR') why = 'a part of the path is a file, not a folder';
  else why = (error as Error).message;
  return new EcliError('INPUT_NOT_FOUND', `cannot read --btf ${shown}: ${why}`, { hint: LAYOUT_HINT, cause: error });
}

function usage(message: string): EcliError {
  return new EcliError('USAGE', message, { hint: LAYOUT_HINT });
}
