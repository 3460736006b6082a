/**
 * Resolves what the user named on the command line (a .json file, a tarball, a Wasm module, `-`
 * for stdin, an http(s) URL or a registry reference: classifyInput tells which) to a validated
 * package, its BPF object and, for tarballs, the manifest and the extracted BTF archive; or to
 * the bytes of a wasm-bpf module, which src/wasm checks and runs.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { EcliError } from '../errors.js';
import { decodePackage } from '../package/load.js';
import type { ComposedPackage } from '../package/types.js';
import { classifyInput } from './input-kind.js';
import type { InputGate, InputToCheck } from './gate.js';
import { parseSha256Pin, verifySha256 } from './digest.js';
import { fetchBounded } from './fetch.js';
import { redactUrl } from './url-credentials.js';
import { parseManifest, verifyManifest, type PackManifest } from './manifest.js';
import { readInputFile, readStdinPackage } from './read-file.js';
import { extractTarball, isGzip, isTar, locatePackageTree } from './tarball.js';

export type ProgType = 'json' | 'tar' | 'wasm';

export interface ResolveOptions {
  /** Expected sha256 of the file/URL body, hex. */
  sha256?: string;
  /** Allow an unpinned URL. */
  insecure?: boolean;
  /** Overrides the type guessed from the extension or content. */
  progType?: ProgType;
  /** Speak plain HTTP to a registry that is not on a loopback address. */
  plainHttp?: boolean;
  /** Told things worth knowing that are not errors, e.g. the digest a registry tag names. */
  onNotice?: (message: string) => void;
  /** Checks the input (its signature) before any of it is decoded; a registry's before any layer is fetched. */
  gate?: InputGate;
  /** Read for the spec `-`; defaults to process.stdin. */
  stdin?: NodeJS.ReadableStream;
  maxBytes?: number;
  /** The most reading a URL or pulling a reference may take, all its requests together (default 30 s). */
  timeoutMs?: number;
  /** Aborting it stops a network read at once; the read then fails with the signal's reason. */
  signal?: AbortSignal;
}

export interface ResolvedPackage {
  /** How to name the input in messages: a path, a URL or `<stdin>`. */
  source: string;
  /** The input exactly as read, and what it is. */
  bytes: Uint8Array;
  type: 'json' | 'tar';
  pkg: ComposedPackage;
  elf: Uint8Array;
  /** The extracted btfhub-archive tree of a tarball; call cleanup() when done with it. */
  btfArchive?: { dir: string; cleanup(): void };
  manifest?: PackManifest;
}

/** A wasm-bpf module (user space in WebAssembly), as read: src/wasm checks it. */
export interface ResolvedWasm {
  source: string;
  bytes: Uint8Array;
  type: 'wasm';
}

export type ResolvedInput = ResolvedPackage | ResolvedWasm;

export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 5;
const STDIN_SOURCE = '<stdin>';
const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];
const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

interface RawInput {
  source: string;
  bytes: Uint8Array;
  /** The path or URL path whose extension hints at the type. */
  name?: string;
  /** What the gate checks; a registry input was checked while it was pulled. */
  check?: InputToCheck;
}

/** A package or a Wasm module, for the commands that take both (run, inspect, push). */
export async function resolveInput(spec: string, opts: ResolveOptions = {}): Promise<ResolvedInput> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const pin = opts.sha256 === undefined ? undefined : parseSha256Pin(opts.sha256);
  const input = await readInput(spec, opts, pin, maxBytes);
  if (opts.gate !== undefined && input.check !== undefined) await opts.gate(input.check);
  return resolveRawInput(input, opts, pin);
}

/** A package; a Wasm module is refused (USAGE). */
export async function resolvePackageSource(spec: string, opts: ResolveOptions = {}): Promise<ResolvedPackage> {
  return packageOnly(await resolveInput(spec, opts));
}

/**
 * A registry pull is several requests (a loopback registry is even tried over https, then http,
 * and a signature check reads the .sig manifest and its payloads): one deadline for all of them,
 * ended early by the caller's signal. ecli run, verify and pull use it.
 */
export async function pullWithDeadline<T>(spec: string, opts: ResolveOptions, pull: (signal: AbortSignal, timeoutMs: number) => Promise<T>): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = new AbortController();
  const timer = setTimeout(() => {
    deadline.abort(
      new EcliError('NETWORK', `pulling ${spec}: no complete answer within ${timeoutMs} ms`, {
        hint: 'check that the registry is up and answers, or pull the package once and run it from disk',
      }),
    );
  }, timeoutMs);
  try {
    return await pull(opts.signal ? AbortSignal.any([opts.signal, deadline.signal]) : deadline.signal, timeoutMs);
  } finally {
    clearTimeout(timer);
  }
}

/** A package already in memory (JSON text or a tarball); `source` names it in messages. */
export async function resolvePackageBytes(bytes: Uint8Array, source: string, opts: ResolveOptions = {}): Promise<ResolvedPackage> {
  const pin = opts.sha256 === undefined ? undefined : parseSha256Pin(opts.sha256);
  await opts.gate?.({ kind: 'bytes', source, bytes });
  return packageOnly(await resolveRawInput({ source, bytes }, opts, pin));
}

function resolveRawInput(input: RawInput, opts: ResolveOptions, pin: string | undefined): Promise<ResolvedInput> | ResolvedInput {
  if (pin !== undefined) verifySha256(input.bytes, pin, input.source);
  const type = opts.progType ?? guessType(input);
  if (type === 'wasm') return resolveWasm(input);
  return type === 'json' ? resolveJson(input) : resolveTarball(input);
}

function packageOnly(resolved: ResolvedInput): ResolvedPackage {
  if (resolved.type !== 'wasm') return resolved;
  throw new EcliError('USAGE', `${resolved.source} is a WebAssembly module, not a package`, {
    hint: 'ecli run, inspect and push take Wasm modules; pack and the library take JSON packages and tarballs',
  });
}

function resolveWasm(input: RawInput): ResolvedWasm {
  if (!startsWith(input.bytes, WASM_MAGIC)) {
    throw new EcliError('PACKAGE_INVALID', `${input.source} is not a WebAssembly module: it does not start with \\0asm`, {
      hint: 'pass a .wasm module built for wasm32-wasi, or -p json / -p tar for a package',
    });
  }
  return { source: input.source, bytes: input.bytes, type: 'wasm' };
}

async function readInput(spec: string, opts: ResolveOptions, pin: string | undefined, maxBytes: number): Promise<RawInput> {
  const input = classifyInput(spec);
  switch (input.kind) {
    case 'stdin': {
      const bytes = await readStdinPackage(opts.stdin ?? process.stdin, maxBytes, STDIN_SOURCE, 'ecli run', opts.signal);
      return { source: STDIN_SOURCE, bytes, check: { kind: 'bytes', source: STDIN_SOURCE, bytes } };
    }
    case 'url': {
      if (pin === undefined && opts.insecure !== true) {
        throw new EcliError('USAGE', 'refusing to run an unpinned URL: pass --sha256 <digest> (sha256 of the file) or --insecure, before the URL', {
          hint: `download it once, check it, then pin it: curl -sL ${redactUrl(spec) === spec ? spec : "'<the URL>'"} | sha256sum`,
        });
      }
      // One request (its redirects included) under one timer: the deadline already.
      const { bytes, finalUrl } = await fetchBounded(spec, {
        maxBytes,
        timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        maxRedirects: MAX_REDIRECTS,
        signal: opts.signal,
      });
      // Messages name it without its query, which may be a signature (redactUrl).
      return { source: redactUrl(spec), bytes, name: new URL(finalUrl).pathname, check: { kind: 'url', url: spec, bytes } };
    }
    case 'registry': {
      const { pullForRun } = await import('./registry/run-input.js');
      return pullWithDeadline(spec, opts, (signal, timeoutMs) =>
        pullForRun(spec, {
          maxBytes,
          timeoutMs,
          signal,
          plainHttp: opts.plainHttp === true,
          ...(opts.onNotice ? { onNotice: opts.onNotice } : {}),
          ...(opts.gate ? { gate: opts.gate } : {}),
        }),
      );
    }
    case 'file': {
      const hint = input.referenceLike
        ? `no such local path; to run it from a registry, write it as a reference: oci://${spec}`
        : 'pass a package.json written by ecc, a package tarball, an http(s) URL, an oci:// registry reference, or - for stdin';
      const bytes = await readInputFile(spec, maxBytes, hint);
      return { source: spec, bytes, name: spec, check: { kind: 'file', path: spec, bytes } };
    }
  }
}

/** By extension first (like the reference), else by content. */
function guessType(input: RawInput): ProgType {
  const name = (input.name ?? '').toLowerCase();
  if (name.endsWith('.wasm') || startsWith(input.bytes, WASM_MAGIC)) return 'wasm';
  if (name.endsWith('.json')) return 'json';
  if (name.endsWith('.tar') || name.endsWith('.tar.gz') || name.endsWith('.tgz')) return 'tar';
  if (isGzip(input.bytes) || isTar(input.bytes)) return 'tar';
  const first = input.bytes.find((byte) => !isJsonSpace(byte));
  if (first === 0x7b /* { */) return 'json';
  if (startsWith(input.bytes, ELF_MAGIC)) {
    // prog.bpf.o was most likely built from prog.bpf.c, whose header ecc would be given as prog.h.
    const source = name.endsWith('.o') ? input.source.replace(/\.o$/, '.c') : 'prog.bpf.c';
    const header = join(dirname(source), `${basename(source).split('.')[0]}.h`);
    throw new EcliError('USAGE', `${input.source} is a compiled object, not a package: ecli runs the package.json ecc writes`, {
      hint: `compile its C source with ecc (ecc ${source} ${header}) and run the package.json it writes, or let ecli run compile it: ecli run ${source}`,
    });
  }
  if (name.endsWith('.c')) {
    throw new EcliError('USAGE', `${input.source} is a C source, not a package`, {
      hint: `ecli run compiles it as ecc does (ecli run ${input.source}); for other commands compile it with ecc first`,
    });
  }
  if (name.endsWith('.h')) {
    const source = input.source.replace(/\.h$/, '.bpf.c');
    throw new EcliError('USAGE', `${input.source} is a C header, not a package`, {
      hint: `run the program's C source, which ecli compiles with the header beside it: ecli run ${source} (or ecli run --header ${input.source} <source.bpf.c>)`,
    });
  }
  const extension = extname(name);
  throw new EcliError(
    'PACKAGE_INVALID',
    `cannot tell what kind of package ${input.source} is${extension ? ` (extension ${extension})` : ''}: it is neither JSON, nor a tarball, nor a Wasm module`,
    {
      hint: 'pass -p json, -p tar or -p wasm to say which it is',
    },
  );
}

function resolveJson(input: RawInput): ResolvedPackage {
  // Also what a server that labels a gzip file `Content-Encoding: gzip` sends for a .json URL.
  if (isGzip(input.bytes)) {
    throw new EcliError('PACKAGE_INVALID', `${input.source} is gzip-compressed, not JSON`, {
      hint: 'decompress it with gunzip, or pass -p tar if it is a package tarball',
    });
  }
  return { source: input.source, bytes: input.bytes, type: 'json', ...decodePackage(utf8(input.bytes), input.source) };
}

async function resolveTarball(input: RawInput): Promise<ResolvedPackage> {
  const extracted = await extractTarball(input.bytes, input.source);
  try {
    const tree = locatePackageTree(extracted.dir, input.source);
    const packageSource = `${input.source}:package.json`;
    const packageBytes = await readFile(tree.packageJson);
    const { pkg, elf } = decodePackage(utf8(packageBytes), packageSource);
    let manifest: PackManifest | undefined;
    if (tree.manifest !== undefined) {
      manifest = parseManifest(await readFile(tree.manifest, 'utf8'), `${input.source}:manifest.json`);
      verifyManifest(manifest, packageBytes, elf, input.source);
    }
    const resolved: ResolvedPackage = { source: input.source, bytes: input.bytes, type: 'tar', pkg, elf, ...(manifest === undefined ? {} : { manifest }) };
    if (tree.btfArchive === undefined) {
      extracted.cleanup();
      return resolved;
    }
    return { ...resolved, btfArchive: { dir: tree.btfArchive, cleanup: extracted.cleanup } };
  } catch (error) {
    extracted.cleanup();
    throw error;
  }
}

function utf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return prefix.every((byte, i) => bytes[i] === byte);
}

function isJsonSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}
