/**
 * The main file's declarations and their doc comments, and the event header's structs with the
 * doc comments of their members, from clang's own parse of the source.
 *
 * A full AST dump of a source that includes vmlinux.h is ~200 MB and takes ~1 s; clang's plain
 * `-ast-dump` skips declarations deserialised from a precompiled header, so the source is first
 * parsed against a cached PCH of vmlinux.h (~40 ms). The full dump remains the fallback (e.g. for
 * a source that includes headers conflicting with vmlinux.h).
 */
import { existsSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { EcliError } from '../errors.js';
import { makeDirs } from '../files/make-dirs.js';
import { AstDeclScanner, type HeaderRecord, type SourceDecl } from './ast-scan.js';
import { cacheRoot, shortHash, temporarySibling } from './cache.js';
import { firstErrorLine } from './compile.js';
import { runTool } from './process.js';
import type { Toolchain } from './toolchain.js';

export interface SourceDeclOptions {
  toolchain: Toolchain;
  vmlinuxHeader: string;
  /** Compile flags shared with the PCH: everything except the source directory include. */
  baseFlags: string[];
  /** Flags that follow baseFlags for this source (`-I<source dir>`). */
  sourceFlags: string[];
  source: string;
  /** The event header, whose structs' member comments are read. */
  header?: string | undefined;
  env?: NodeJS.ProcessEnv;
  log?: ((line: string) => void) | undefined;
}

export interface SourceDocs {
  decls: SourceDecl[];
  records: HeaderRecord[];
}

const DUMP_FLAGS = ['-fsyntax-only', '-Xclang', '-ast-dump=json'];

/**
 * The fast path: parse against a cached PCH of vmlinux.h; undefined when that fails. Sources that
 * include vmlinux.h (directly or not) skip their own copy thanks to its include guard; sources that
 * do not are unaffected unless they clash with it, and then the full dump is small anyway.
 */
export async function readSourceDeclsWithPch(options: SourceDeclOptions): Promise<SourceDocs | undefined> {
  const pch = await ensureVmlinuxPch(options);
  if (!pch) return undefined;
  const args = [...options.baseFlags, ...options.sourceFlags, '-include-pch', pch, ...DUMP_FLAGS, options.source];
  const fast = await dumpDecls(options.toolchain.clang, args, options);
  if (fast.code === 0) return fast.docs;
  options.log?.('parsing against the vmlinux.h PCH failed; the full AST will be read instead');
  return undefined;
}

/** The general path: the full AST dump, streamed. */
export async function readSourceDecls(options: SourceDeclOptions): Promise<SourceDocs> {
  const { source } = options;
  const args = [...options.baseFlags, ...options.sourceFlags, ...DUMP_FLAGS, source];
  const full = await dumpDecls(options.toolchain.clang, args, options);
  if (full.code !== 0) {
    throw new EcliError('COMPILE_FAILED', `clang could not parse ${source} for doc comments: ${firstErrorLine(full.stderr)}`, {
      detail: full.stderr,
    });
  }
  return full.docs;
}

async function dumpDecls(clang: string, args: string[], options: SourceDeclOptions) {
  const { source, header, log } = options;
  const scanner = new AstDeclScanner(source, header === undefined ? undefined : sameFileAs(header));
  let scanError: unknown;
  const run = await runTool(clang, args, {
    log,
    onStdout: (text) => {
      if (scanError !== undefined) return;
      try {
        scanner.push(text);
      } catch (error) {
        scanError = error;
      }
    },
  });
  if (scanError !== undefined && run.code === 0) throw scanError;
  return { code: run.code, stderr: run.stderr, docs: { decls: scanner.decls, records: scanner.records } };
}

/** Whether a file name clang printed (relative to the working directory) names `file`; memoised. */
function sameFileAs(file: string): (name: string) => boolean {
  const identity = (name: string): string => {
    try {
      return realpathSync(name);
    } catch {
      return path.resolve(name);
    }
  };
  const target = identity(file);
  const seen = new Map<string, boolean>();
  return (name) => {
    let same = seen.get(name);
    if (same === undefined) {
      same = identity(name) === target;
      seen.set(name, same);
    }
    return same;
  };
}

/** A PCH of vmlinux.h built with the same flags, cached by clang, flags and header identity. */
async function ensureVmlinuxPch(options: SourceDeclOptions): Promise<string | undefined> {
  const header = options.vmlinuxHeader;
  const stat = statSync(header);
  const key = shortHash(options.toolchain.clangIdentity, ...options.baseFlags, `${header}:${stat.size}:${stat.mtimeMs}`);
  const pch = path.join(cacheRoot(options.env), 'pch', `vmlinux-${key}.pch`);
  if (existsSync(pch)) return pch;
  const temporary = temporarySibling(pch);
  try {
    makeDirs(path.dirname(pch));
    const build = await runTool(options.toolchain.clang, [...options.baseFlags, '-x', 'c-header', header, '-o', temporary], { log: options.log });
    if (build.code !== 0) {
      options.log?.(`cannot precompile ${header}: ${firstErrorLine(build.stderr)}`);
      return undefined;
    }
    renameSync(temporary, pch);
    return pch;
  } catch (error) {
    // The PCH only saves time: an unwritable cache must not fail the compile.
    options.log?.(`cannot cache a PCH of ${header}: ${(error as Error).message}`);
    return undefined;
  } finally {
    rmSync(temporary, { force: true });
  }
}
