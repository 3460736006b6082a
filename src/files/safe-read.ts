/**
 * The reading side of safe-write, for the small files whose content decides what ecli does
 * (docker's config.json, keys, signatures, the signing policy): opened without blocking, so a
 * FIFO or a device swapped in after a check cannot hang ecli (callers check the descriptor), and
 * read to the end but never past a limit, since a file can grow after fstat.
 */
import { constants, openSync, readSync } from 'node:fs';
import { locate } from './safe-path.js';

const CHUNK_BYTES = 64 * 1024;

/**
 * Opens `path` for reading through src/files/safe-path's walk (only the caller's or root's
 * symlinks are followed, on the way and at the name; `trusted` also refuses what another user
 * could change), without blocking. `verb` and `hint` are locate's.
 */
export function openLocatedForReading(path: string, verb: string, hint?: string, trusted = false): number {
  const { folder, name } = locate(path, verb, hint, trusted);
  try {
    return openSync(folder.entry(name), constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } finally {
    folder.close();
  }
}

/** The bytes of the open file `fd` from where it is to its end; `tooLarge()` is thrown once they pass `maxBytes`. */
export function readToEndBounded(fd: number, maxBytes: number, tooLarge: () => Error): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (let chunk = Buffer.alloc(Math.min(maxBytes + 1, CHUNK_BYTES)); ; chunk = Buffer.alloc(chunk.length)) {
    const got = readSync(fd, chunk);
    if (got === 0) break;
    total += got;
    if (total > maxBytes) throw tooLarge();
    chunks.push(chunk.subarray(0, got));
  }
  return Buffer.concat(chunks, total);
}
