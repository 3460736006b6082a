/**
 * What an input string on the command line names: stdin, a URL, a registry reference or a local
 * path. Decided here and nowhere else, before anything is read or fetched.
 *
 * The rule for registry references (docs/registry.md): a string is pulled from a registry when it
 * starts with `oci://`, or when it has a reference's shape (`host/...`, the host with a `.` or `:`
 * or `localhost`), no local path of that name exists, its first component names nothing here, and
 * it does not end like a file (`.json`, `.tar`, `.tar.gz`, `.tgz`, `.wasm`, `.c`, `.h`, `.o`,
 * `.yaml`, `.yml`). Anything else is a path: a missing one is "no such file", never a download.
 * So `ecli run ghcr.io/eunomia-bpf/execve:latest` pulls, as the reference's quick start does, and a
 * mistyped `demo.app/tool.json` fails instead of running code fetched from https://demo.app.
 */
import { lstatSync } from 'node:fs';
import { EcliError } from '../errors.js';
import { hasOciPrefix, looksLikeReference } from './registry/reference.js';

export type InputKind =
  | { kind: 'stdin' }
  | { kind: 'url'; url: string }
  | { kind: 'registry' }
  /** `referenceLike`: the path also has a reference's shape (messages then mention `oci://`). */
  | { kind: 'file'; path: string; referenceLike: boolean };

/** Endings that make a string a file name, never a registry reference. */
const FILE_ENDINGS = ['.json', '.tar', '.tar.gz', '.tgz', '.wasm', '.c', '.h', '.o', '.yaml', '.yml'];

export function classifyInput(spec: string, exists: (path: string) => boolean = pathExists): InputKind {
  if (spec === '-') return { kind: 'stdin' };
  if (hasOciPrefix(spec)) return { kind: 'registry' };
  if (/^https?:\/\//i.test(spec)) return { kind: 'url', url: spec };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
    throw new EcliError('USAGE', `cannot fetch ${spec}: only http://, https:// and oci:// (a registry reference) are supported`, {
      hint: 'download the package and pass its path',
    });
  }
  if (exists(spec)) return { kind: 'file', path: spec, referenceLike: false };
  if (!looksLikeReference(spec)) return { kind: 'file', path: spec, referenceLike: false };
  const firstComponent = spec.slice(0, spec.indexOf('/'));
  if (looksLikeFile(spec) || exists(firstComponent)) return { kind: 'file', path: spec, referenceLike: true };
  return { kind: 'registry' };
}

function looksLikeFile(spec: string): boolean {
  const lower = spec.toLowerCase();
  return FILE_ENDINGS.some((ending) => lower.endsWith(ending));
}

/** Anything at that path, a dangling symlink included (lstat, not stat). */
function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
