/**
 * Safe extraction of package tarballs (`ecli pack` output, or `ecc --btfgen`'s tar) into a fresh
 * temporary directory. Every entry is checked before anything is written (plain files and
 * directories only, relative paths without `..`, bounded count and sizes), the same checks filter
 * the extraction itself, and the extracted tree is walked afterwards to prove nothing escaped.
 */
import { lstatSync, mkdtempSync, readdirSync, realpathSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ReadEntry } from 'tar';
import { EcliError } from '../errors.js';

export interface TarLimits {
  maxEntries: number;
  /** Sum of the sizes of all files. */
  maxTotalBytes: number;
  maxFileBytes: number;
}

export const DEFAULT_TAR_LIMITS: TarLimits = {
  maxEntries: 10_000,
  maxTotalBytes: 256 * 1024 * 1024,
  maxFileBytes: 64 * 1024 * 1024,
};

export interface ExtractedTarball {
  /** The temporary directory holding the extracted tree. */
  dir: string;
  /** Removes `dir` and everything in it. */
  cleanup(): void;
}

type Tar = typeof import('tar');

const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);
const TAR_BLOCK = 512;
const PACKAGE_JSON = 'package.json';
const LAYOUT_HINT = 'a package tarball holds package.json at its top level (ecli pack writes one)';

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** True when the ustar magic sits at offset 257 of the first header. */
export function isTar(bytes: Uint8Array): boolean {
  return bytes.length >= 262 && Buffer.from(bytes.subarray(257, 262)).toString('latin1') === 'ustar';
}

/** Extracts a (possibly gzipped) tarball; the caller owns the returned directory. */
export async function extractTarball(bytes: Uint8Array, source: string, limits: TarLimits = DEFAULT_TAR_LIMITS): Promise<ExtractedTarball> {
  const tarBytes = isGzip(bytes) ? gunzipBounded(bytes, source, limits) : Buffer.from(bytes);
  const checker = new EntryChecker(source, limits);
  // Loaded here, not at start-up: most runs read a package.json (tar costs ~15 ms to load).
  const tar = await import('tar');
  await listEntries(tar, tarBytes, source, (entry) => checker.check(entry));

  const dir = mkdtempSync(join(tmpdir(), 'ecli-package-'));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    await extractEntries(tar, tarBytes, dir, source);
    verifyExtractedTree(dir, source, limits);
  } catch (error) {
    cleanup();
    throw error;
  }
  return { dir, cleanup };
}

/** A gzip bomb stops at the unpacked limit plus room for the tar headers. */
function gunzipBounded(bytes: Uint8Array, source: string, limits: TarLimits): Buffer {
  const maxOutputLength = limits.maxTotalBytes + (limits.maxEntries + 2) * 2 * TAR_BLOCK;
  try {
    return gunzipSync(bytes, { maxOutputLength });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw invalid(`${source} unpacks to more than ${maxOutputLength} bytes`);
    }
    throw invalid(`${source} is not a valid gzip stream: ${(error as Error).message}`);
  }
}

class EntryChecker {
  private entries = 0;
  private totalBytes = 0;
  private readonly names = new Set<string>();

  constructor(
    private readonly source: string,
    private readonly limits: TarLimits,
  ) {}

  check(entry: ReadEntry): void {
    const where = `${this.source}: entry ${JSON.stringify(entry.path)}`;
    if (!ALLOWED_TYPES.has(entry.type)) {
      throw invalid(`${where} is a ${entry.type}; only regular files and directories are allowed`);
    }
    checkEntryPath(entry.path, where);
    const name = entryName(entry.path);
    // Extraction would let the last of two same-named entries win, silently.
    if (this.names.has(name)) throw invalid(`${where} appears twice in the archive; which one is meant is ambiguous`);
    this.names.add(name);
    if (name.endsWith(`/${PACKAGE_JSON}`)) {
      throw invalid(`${where} is a ${PACKAGE_JSON} below the top level; a package tarball has exactly one, at its top`);
    }
    if (++this.entries > this.limits.maxEntries) {
      throw invalid(`${this.source} has more than ${this.limits.maxEntries} entries`);
    }
    if (entry.size > this.limits.maxFileBytes) {
      throw invalid(`${where} is ${entry.size} bytes, more than the ${this.limits.maxFileBytes} byte limit per file`);
    }
    this.totalBytes += entry.size;
    if (this.totalBytes > this.limits.maxTotalBytes) {
      throw invalid(`${this.source} unpacks to more than ${this.limits.maxTotalBytes} bytes`);
    }
  }
}

/** The name an entry is extracted as: `./a//b/` is `a/b`. */
function entryName(path: string): string {
  return path
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/');
}

/** Relative, no `..`, no backslashes or NULs (other tar tools treat them as separators or ends). */
function checkEntryPath(path: string, where: string): void {
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) throw invalid(`${where} has an absolute path`);
  if (/[\\\0]/.test(path)) throw invalid(`${where} has a backslash or NUL in its path`);
  if (path.split('/').includes('..')) throw invalid(`${where} has a ".." component`);
}

function listEntries(tar: Tar, tarBytes: Buffer, source: string, onEntry: (entry: ReadEntry) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let failure: unknown;
    const parser = new tar.Parser({
      strict: true,
      onReadEntry: (entry) => {
        if (failure === undefined) {
          try {
            onEntry(entry);
          } catch (error) {
            failure = error;
          }
        }
        entry.resume();
      },
    });
    parser.on('error', (error: Error) => {
      failure ??= invalid(`${source} is not a valid tar archive: ${error.message}`);
    });
    parser.on('end', () => (failure === undefined ? resolve() : reject(failure)));
    parser.end(tarBytes);
  });
}

function extractEntries(tar: Tar, tarBytes: Buffer, dir: string, source: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const unpack = tar.extract({
      cwd: dir,
      strict: true,
      preservePaths: false,
      preserveOwner: false,
      // Already checked by EntryChecker; repeated so the writer itself can never see a bad entry.
      filter: (path, entry) => {
        if (!('type' in entry) || !ALLOWED_TYPES.has(entry.type)) return false;
        try {
          checkEntryPath(path, path);
          return true;
        } catch {
          return false;
        }
      },
    });
    unpack.on('error', (error: Error) => reject(invalid(`${source}: extraction failed: ${error.message}`)));
    unpack.on('close', () => resolve());
    unpack.end(tarBytes);
  });
}

/** Walks the tree: only files and directories, all under `dir`, within the limits; modes made sane. */
function verifyExtractedTree(dir: string, source: string, limits: TarLimits): void {
  const root = realpathSync(dir);
  let entries = 0;
  let totalBytes = 0;
  const walk = (path: string): void => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      const stat = lstatSync(full);
      if (!stat.isDirectory() && !stat.isFile()) {
        throw invalid(`${source}: ${name} was extracted as something other than a file or directory`);
      }
      if (!realpathSync(full).startsWith(root + sep)) throw invalid(`${source}: ${name} was extracted outside its directory`);
      if (++entries > limits.maxEntries) throw invalid(`${source} has more than ${limits.maxEntries} entries`);
      if (stat.isDirectory()) {
        chmodSync(full, 0o755);
        walk(full);
      } else if (stat.isFile()) {
        chmodSync(full, 0o644);
        totalBytes += stat.size;
        if (totalBytes > limits.maxTotalBytes) throw invalid(`${source} unpacks to more than ${limits.maxTotalBytes} bytes`);
      }
    }
  };
  walk(root);
}

function invalid(message: string): EcliError {
  return new EcliError('PACKAGE_INVALID', message, { hint: LAYOUT_HINT });
}

/** Where the parts of an extracted package tarball are. */
export interface PackageTree {
  packageJson: string;
  manifest?: string;
  /** The `btfhub-archive` directory: `<ID>/<VERSION_ID>/<arch>/<release>.btf` files. */
  btfArchive?: string;
}

/**
 * Finds package.json (required), manifest.json and btfhub-archive/ at the top of an extracted
 * tree. Anything else, such as the bare-named .o that `ecc --btfgen` adds, is ignored.
 */
export function locatePackageTree(dir: string, source: string): PackageTree {
  const kindOf = (name: string): 'file' | 'dir' | undefined => {
    try {
      const stat = lstatSync(join(dir, name));
      return stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : undefined;
    } catch {
      return undefined;
    }
  };
  if (kindOf(PACKAGE_JSON) !== 'file') throw invalid(`${source} has no ${PACKAGE_JSON} at its top level`);
  return {
    packageJson: join(dir, PACKAGE_JSON),
    ...(kindOf('manifest.json') === 'file' ? { manifest: join(dir, 'manifest.json') } : {}),
    ...(kindOf('btfhub-archive') === 'dir' ? { btfArchive: join(dir, 'btfhub-archive') } : {}),
  };
}
