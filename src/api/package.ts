/**
 * openPackage: any input `ecli run` accepts (a package.json or tarball path, bytes, an http(s)
 * URL, a registry reference), validated and turned into the pure model. Needs no root; only
 * run() touches the kernel.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBtfPath } from '../inputs/btf-select.js';
import type { PackManifest } from '../inputs/manifest.js';
import { resolvePackageBytes, resolvePackageSource, type ProgType, type ResolvedPackage } from '../inputs/source.js';
import { buildPackageSpec, type PackageSpec } from '../model/spec.js';
import type { RunSettings } from '../runner/engine.js';
import { sectionImages } from '../runner/prepare.js';
import { optionValues, type ProgramOptionValue } from './options.js';
import { Session } from './session.js';

export interface OpenOptions {
  /** The sha256 (hex) the input's bytes must have; required for URLs unless `insecure`. */
  sha256?: string;
  /** Allow an unpinned URL. */
  insecure?: boolean;
  /** What the input is, when neither its name nor its content tells. */
  type?: ProgType;
  /** Speak plain HTTP to a registry that is not on a loopback address. */
  plainHttp?: boolean;
  /** Told things worth knowing that are not errors (e.g. the digest a registry tag names). */
  onNotice?: (message: string) => void;
  /** Largest input accepted, in bytes (default 64 MiB). */
  maxBytes?: number;
  timeoutMs?: number;
}

export interface RunOptions {
  /** Program options, keyed by variable name (`ecli run pkg --help` lists them); the others keep their defaults. */
  options?: Readonly<Record<string, ProgramOptionValue>>;
  /** Aborting it closes the session. */
  signal?: AbortSignal;
  /** Records (and samples) held for a slow reader; later ones are counted as dropped. Default 65536. */
  queueLimit?: number;
  /** libbpf's own messages, and full verifier logs in errors. */
  verbose?: boolean;
  /** Non-fatal notices (libbpf warnings, package warnings). Default: ignored. */
  onWarning?: (message: string) => void;
}

export interface Package {
  /** The pure model: programs, maps, exports (and why), options, data sections, BTF needs. Frozen. */
  readonly spec: PackageSpec;
  /** The manifest of a tarball made by `ecli pack`. */
  readonly manifest: PackManifest | undefined;
  /** Loads and attaches the package (root or CAP_BPF + CAP_PERFMON needed); resolves once it is attached. */
  run(options?: RunOptions): Promise<Session>;
}

const DEFAULT_QUEUE_LIMIT = 65536;

export async function openPackage(source: string | URL | Uint8Array, options: OpenOptions = {}): Promise<Package> {
  const { type, ...rest } = options;
  const resolveOptions = { ...rest, ...(type === undefined ? {} : { progType: type }) };
  const resolved =
    source instanceof Uint8Array
      ? await resolvePackageBytes(source, '<buffer>', resolveOptions)
      : await resolvePackageSource(source instanceof URL && source.protocol === 'file:' ? fileURLToPath(source) : String(source), resolveOptions);
  try {
    return createPackage(buildPackageSpec(resolved), resolved);
  } catch (error) {
    resolved.btfArchive?.cleanup();
    throw error;
  }
}

function createPackage(spec: PackageSpec, resolved: ResolvedPackage): Package {
  const btfCustomPath = keptBtfPath(resolved);
  return Object.freeze({
    spec,
    manifest: resolved.manifest,
    async run(options: RunOptions = {}): Promise<Session> {
      const settings: RunSettings = {
        images: sectionImages(spec, optionValues(spec, options.options ?? {})),
        verbose: options.verbose === true,
        btfCustomPath,
        limits: {},
        tracePipe: false,
      };
      return new Session(spec, settings, {
        warn: options.onWarning ?? (() => undefined),
        queueLimit: options.queueLimit ?? DEFAULT_QUEUE_LIMIT,
        signal: options.signal,
      });
    },
  });
}

/**
 * The BTF for CO-RE, chosen once: the kernel's own unless BTF_FILE_PATH says otherwise, else a
 * tarball's btfhub-archive file, whose extracted tree is then kept until the process exits.
 */
function keptBtfPath(resolved: ResolvedPackage): string | undefined {
  const archive = resolved.btfArchive;
  const chosen = selectBtfPath({ env: process.env, ...(archive ? { archiveDir: archive.dir } : {}) });
  if (archive === undefined) return chosen;
  if (chosen === undefined || path.relative(archive.dir, chosen).startsWith('..')) {
    archive.cleanup();
    return chosen;
  }
  process.once('exit', archive.cleanup);
  return chosen;
}
