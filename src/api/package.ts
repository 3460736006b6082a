/**
 * openPackage: any input `ecli run` accepts (a package.json or tarball path, bytes, an http(s)
 * URL, a registry reference), validated and turned into the pure model. Needs no root; only
 * run() touches the kernel.
 */
import type { KeyObject } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBtfPath } from '../inputs/btf-select.js';
import type { PackManifest } from '../inputs/manifest.js';
import { resolvePackageBytes, resolvePackageSource, type ProgType, type ResolvedPackage } from '../inputs/source.js';
import { EcliError } from '../errors.js';
import { buildPackageSpec, type PackageSpec } from '../model/spec.js';
import type { RunSettings } from '../runner/engine.js';
import { stageChoices, stageFactory } from '../runner/event-stages.js';
import { sectionImages } from '../runner/prepare.js';
import { loadSigningGate } from '../signing/options.js';
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
  /** The most a URL or registry input may take to read, all its requests together, in ms (default 30,000). */
  timeoutMs?: number;
  /** Aborting it stops reading a URL or registry input at once: openPackage rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Public keys (paths to PEM files, or key objects): the input must carry a signature by one of
   * them, checked before any of it is decoded (`ecli run --verify-key`). A registry manifest's
   * is read from its `.sig` tag, a file's from `<file>.sig`.
   */
  verifyKeys?: ReadonlyArray<string | KeyObject>;
  /** The detached signature of a file, URL or bytes input: a path or URL, or the signature file's bytes. */
  signature?: string | Uint8Array;
  /** The signing policy file; default ECLI_POLICY, else /etc/ecli/policy.json when there is one. */
  policy?: string;
}

export interface RunOptions {
  /** Program options, keyed by variable name (`ecli run pkg --help` lists them); the others keep their defaults. */
  options?: Readonly<Record<string, ProgramOptionValue>>;
  /** Aborting it closes the session. */
  signal?: AbortSignal;
  /** Records (and samples) held for a slow reader, each queue; later ones are counted as dropped. Default 65536. */
  queueLimit?: number;
  /** Bytes of records (and samples) held for a slow reader, each queue, as read from the kernel; later ones are counted as dropped. Default 64 MiB. */
  queueBytes?: number;
  /** libbpf's own messages, and full verifier logs in errors. */
  verbose?: boolean;
  /** Non-fatal notices (libbpf warnings, package warnings). Default: ignored. */
  onWarning?: (message: string) => void;
  /**
   * Keep only the events (and sampled map entries) matching every rule, in Inspektor Gadget's
   * syntax, as `ecli run --filter`: `'comm~^(ba|da)sh$,container==web'`.
   */
  filter?: string;
  /**
   * Look up the container of each event (a `container` member on events of a process in a
   * container, as `ecli run -j` prints it). Default true; `{ sockets: { podman: '/path' } }`
   * names other runtime API sockets.
   */
  containers?: boolean | { sockets: Partial<Record<'docker' | 'podman', string>> };
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
const DEFAULT_QUEUE_BYTES = 64 * 1024 * 1024;

export async function openPackage(source: string | URL | Uint8Array, options: OpenOptions = {}): Promise<Package> {
  const { type, verifyKeys, signature, policy, ...rest } = options;
  const gate = await loadSigningGate({
    verifyKeys: verifyKeys ?? [],
    keysOrigin: 'the verifyKeys option',
    ...(signature === undefined ? {} : { signature }),
    ...(policy === undefined ? {} : { policy }),
    ...(options.onNotice === undefined ? {} : { onVerified: options.onNotice }),
  });
  const resolveOptions = { ...rest, ...(type === undefined ? {} : { progType: type }), ...(gate === undefined ? {} : { gate }) };
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
      const queueLimits = {
        records: positiveWhole('queueLimit', options.queueLimit, DEFAULT_QUEUE_LIMIT),
        bytes: positiveWhole('queueBytes', options.queueBytes, DEFAULT_QUEUE_BYTES),
      };
      const containers = options.containers ?? true;
      const choices = await stageChoices({
        filter: options.filter,
        containers: containers !== false,
        ...(typeof containers === 'object' ? { sockets: containers.sockets } : {}),
      });
      const stages = stageFactory(spec, choices, options.onWarning ?? (() => undefined));
      const settings: RunSettings = {
        images: sectionImages(spec, optionValues(spec, options.options ?? {})),
        verbose: options.verbose === true,
        btfCustomPath,
        limits: {},
        tracePipe: false,
        ...(stages === undefined ? {} : { stages }),
      };
      return new Session(spec, settings, {
        warn: options.onWarning ?? (() => undefined),
        queueLimits,
        signal: options.signal,
      });
    },
  });
}

/** A limit given to run(): a whole number from 1 up, else a USAGE error (NaN, 0 or -1 would mean no queue, or no limit). */
function positiveWhole(name: string, given: number | undefined, fallback: number): number {
  if (given === undefined) return fallback;
  if (typeof given !== 'number' || !Number.isSafeInteger(given) || given < 1) {
    throw new EcliError('USAGE', `run(): ${name} ${String(given)} is not a whole number of 1 or more`, { hint: `leave it out for the default, ${fallback}` });
  }
  return given;
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
