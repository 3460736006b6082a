/** manifest.json of a packed package: what it is, who packed it, and digests to verify it by. */
import { EcliError } from '../errors.js';
import { sha256Hex } from './digest.js';
import type { ComposedPackage } from '../package/types.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';

export interface PackManifest {
  name: string;
  version: string;
  description?: string;
  obj_name: string;
  /** sha256 of the inflated BPF ELF. */
  sha256_bpf_object: string;
  /** sha256 of package.json as stored in the tarball. */
  sha256_package: string;
  created_by: string;
  /** Tarball paths of the BTF files, e.g. `btfhub-archive/ubuntu/22.04/x86_64/5.15.0-91-generic.btf`. */
  btf: string[];
}

export const CREATED_BY = `${TOOL_NAME} ${TOOL_VERSION}`;
const DEFAULT_VERSION = '0.1.0';
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The package's short name: obj_name without ecc's `_bpf` suffix (`bootstrap_bpf` → `bootstrap`). */
export function packageName(pkg: ComposedPackage): string {
  const objName = pkg.meta.bpf_skel.obj_name;
  return objName.endsWith('_bpf') && objName.length > 4 ? objName.slice(0, -4) : objName;
}

export function buildManifest(pkg: ComposedPackage, packageBytes: Uint8Array, elf: Uint8Array, btf: string[]): PackManifest {
  const doc = pkg.meta.bpf_skel.doc;
  const description = doc?.description ?? doc?.brief;
  return {
    name: packageName(pkg),
    version: doc?.version ?? DEFAULT_VERSION,
    ...(description === undefined ? {} : { description }),
    obj_name: pkg.meta.bpf_skel.obj_name,
    sha256_bpf_object: sha256Hex(elf),
    sha256_package: sha256Hex(packageBytes),
    created_by: CREATED_BY,
    btf,
  };
}

/** Parses manifest.json, checking the fields this runner relies on. */
export function parseManifest(text: string, source: string): PackManifest {
  const fail = (what: string): never => {
    throw new EcliError('PACKAGE_INVALID', `invalid manifest ${source}: ${what}`, {
      hint: 'manifest.json is written by ecli pack; repack the package',
    });
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return fail(`not valid JSON: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('not a JSON object');
  const m = json as Record<string, unknown>;
  for (const key of ['name', 'version', 'obj_name', 'created_by'] as const) {
    if (typeof m[key] !== 'string') fail(`${key} must be a string`);
  }
  if (m.description !== undefined && typeof m.description !== 'string') fail('description must be a string');
  for (const key of ['sha256_bpf_object', 'sha256_package'] as const) {
    if (typeof m[key] !== 'string' || !SHA256_HEX.test(m[key])) fail(`${key} must be 64 lower-case hexadecimal digits`);
  }
  if (!Array.isArray(m.btf) || !m.btf.every((p) => typeof p === 'string')) fail('btf must be an array of strings');
  return m as unknown as PackManifest;
}

/** Checks the digests of a manifest against the package it came with. */
export function verifyManifest(manifest: PackManifest, packageBytes: Uint8Array, elf: Uint8Array, source: string): void {
  const check = (field: string, expected: string, actual: string): void => {
    if (expected !== actual) {
      throw new EcliError('INTEGRITY', `sha256 mismatch for ${source}: manifest ${field} is ${expected}, the package has ${actual}`, {
        hint: 'the package was changed after it was packed; repack it with ecli pack',
      });
    }
  };
  check('sha256_package', manifest.sha256_package, sha256Hex(packageBytes));
  check('sha256_bpf_object', manifest.sha256_bpf_object, sha256Hex(elf));
}
