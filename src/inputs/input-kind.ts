/**
 * What an input string on the command line names: stdin, a URL, a registry reference or a local
 * path. Decided here and nowhere else, before anything is read or fetched.
 *
 * The rule for registry references (docs/registry.md): a string is pulled from a registry when it
 * starts with `oci://`, or when it has a reference's shape (`host/...`, the host with a `.` or `:`
 * or `localhost`), no local path of that name exists, its first component names nothing here, and
 * it does not end like a file (`.json`, `.tar`, `.tar.gz`, `.tgz`, `.wasm`, `.c`, `.h`, `.o`,
 * `.yaml`, `.yml`). Anything else is a path: a missing one is "no such file", never a download.
 * A string that is pulled when missing but exists here, partly owned by another user, is refused
 * as ambiguous: `oci://` or `./` says which is meant.
 * So `ecli run ghcr.io/eunomia-bpf/execve:latest` pulls, as the reference's quick start does, and a
 * mistyped `demo.app/tool.json` fails instead of running code fetched from https://demo.app.
 */
import { EcliError } from '../errors.js';
import { lstatOrUndefined, statOrUndefined } from '../files/stat.js';
import { hasOciPrefix, looksLikeReference } from './registry/reference.js';
import { redactUrl, refuseCredentials } from './url-credentials.js';

export type InputKind =
  | { kind: 'stdin' }
  | { kind: 'url'; url: string }
  | { kind: 'registry' }
  /** `referenceLike`: the path also has a reference's shape (messages then mention `oci://`). */
  | { kind: 'file'; path: string; referenceLike: boolean };

/** Endings that make a string a file name, never a registry reference. */
const FILE_ENDINGS = ['.json', '.tar', '.tar.gz', '.tgz', '.wasm', '.c', '.h', '.o', '.yaml', '.yml'];

export function classifyInput(spec: string, exists: (path: string) => boolean = pathExists, ownerOf: (path: string) => number[] = ownersOnDisk): InputKind {
  if (spec === '-') return { kind: 'stdin' };
  if (hasOciPrefix(spec)) return { kind: 'registry' };
  if (/^https?:\/\//i.test(spec)) {
    // Before any message repeats it: `user:password@` would end up in logs.
    refuseCredentials(spec, 'GET request');
    return { kind: 'url', url: spec };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
    throw new EcliError('USAGE', `cannot fetch ${redactUrl(spec)}: only http://, https:// and oci:// (a registry reference) are supported`, {
      hint: 'download the package and pass its path',
    });
  }
  if (exists(spec)) {
    if (looksLikeReference(spec) && !looksLikeFile(spec)) refusePlantedPath(spec, ownerOf);
    return { kind: 'file', path: spec, referenceLike: false };
  }
  if (!looksLikeReference(spec)) return { kind: 'file', path: spec, referenceLike: false };
  const firstComponent = spec.slice(0, spec.indexOf('/'));
  if (looksLikeFile(spec) || exists(firstComponent)) return { kind: 'file', path: spec, referenceLike: true };
  return { kind: 'registry' };
}

function looksLikeFile(spec: string): boolean {
  const lower = spec.toLowerCase();
  return FILE_ENDINGS.some((ending) => lower.endsWith(ending));
}

/**
 * A string that would be pulled were nothing here, but that names a local path: the path wins,
 * unless part of it belongs to another user. In a folder others can write (/tmp, a shared
 * checkout) anyone could plant `ghcr.io/org/tool:v1` there and have root run their file instead
 * of the registry's package, past a policy that requires the registry's signature.
 */
function refusePlantedPath(spec: string, ownerOf: (path: string) => number[]): void {
  const euid = process.geteuid?.() ?? 0;
  const parts = spec.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    const other = ownerOf(prefix).find((uid) => uid !== euid && uid !== 0);
    if (other === undefined) continue;
    throw new EcliError('USAGE', `${spec} is both a registry reference and a local path, and ${prefix} here belongs to uid ${other}, another user`, {
      hint: `to pull it from the registry, write oci://${spec}; to run the local file, write ./${spec}`,
    });
  }
}

/** Who owns what is at `path`: the entry itself (lstat) and, for a symlink, what it leads to (nothing for a dangling one). */
function ownersOnDisk(path: string): number[] {
  return [lstatOrUndefined(path), statOrUndefined(path)].flatMap((stats) => (stats === undefined ? [] : [stats.uid]));
}

/** Anything at that path, a dangling symlink included (lstat, not stat). */
function pathExists(path: string): boolean {
  return lstatOrUndefined(path) !== undefined;
}
