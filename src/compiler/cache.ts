/** ecc's on-disk cache (generated vmlinux.h, precompiled headers): location and atomic writes. */
import { createHash, randomBytes } from 'node:crypto';
import { realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { EcliError } from '../errors.js';
import { makeDirs } from '../files/make-dirs.js';
import { writeFileSafelySync } from '../files/safe-write.js';

/** `$XDG_CACHE_HOME/ecli-ts`, else `~/.cache/ecli-ts`. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(homedir(), '.cache');
  return path.join(base, 'ecli-ts');
}

export function shortHash(...parts: Array<string | Uint8Array>): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/**
 * What identifies an installed file for cache keys without reading it: its real path, size and
 * modification time, which a package upgrade changes even when the version string stays the same.
 */
export function fileIdentity(file: string): string {
  const real = realpathSync(file);
  const stat = statSync(real);
  return `${real}:${stat.size}:${stat.mtimeMs}`;
}

export function ensureDir(dir: string): void {
  try {
    makeDirs(dir);
  } catch (error) {
    throw new EcliError('INPUT_NOT_FOUND', `cannot create directory ${dir}: ${(error as Error).message}`, {
      hint: 'check the permissions, or point XDG_CACHE_HOME (cache) or -o (output) somewhere writable',
      cause: error,
    });
  }
}

/** A sibling path that no concurrent writer uses, for write-then-rename. */
export function temporarySibling(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Writes through src/files/safe-write (a random O_EXCL temporary sibling renamed into place, so
 * readers never see a partial file; another user's symlink at `file` is refused, not followed).
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  ensureDir(path.dirname(file));
  try {
    writeFileSafelySync(file, data, { existing: 'replace' });
  } catch (error) {
    const message = error instanceof EcliError ? error.message : `cannot write ${file}: ${(error as Error).message}`;
    throw new EcliError('INPUT_NOT_FOUND', message, { hint: 'check that the directory is writable', cause: error });
  }
}
