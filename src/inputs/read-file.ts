/**
 * The one bounded reader for local inputs: regular files, devices (`/dev/zero`), FIFOs,
 * process substitutions (`<(yes)`) and stdin are all read as streams that stop, and are
 * destroyed, as soon as they pass the size cap, so no more than the cap is ever held in memory.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { EcliError } from '../errors.js';

/** A path, read whole; a regular file larger than `maxBytes` is refused before it is read. */
export async function readInputFile(path: string, maxBytes: number, hint: string): Promise<Uint8Array> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch (error) {
    throw unreadable(path, error, hint);
  }
  if (info.isDirectory()) throw new EcliError('INPUT_NOT_FOUND', `cannot read ${path}: it is a directory`, { hint });
  if (info.isFile() && info.size > maxBytes) {
    throw new EcliError('PACKAGE_INVALID', `${path} is ${info.size} bytes, more than the ${maxBytes} byte limit`, { hint });
  }
  // A regular file can still grow while it is read, so the stream is bounded all the same.
  return readStreamBounded(createReadStream(path, { highWaterMark: 1 << 20 }), maxBytes, path, hint);
}

/**
 * stdin, for `-`: a package is never typed in, so a terminal there is a mistake that would
 * otherwise wait in silence. `example` is the command to show with a pipe. Aborting `signal`
 * (a Ctrl-C while a writer is still slow to finish) stops the read at once, with its reason.
 */
export async function readStdinPackage(
  stdin: NodeJS.ReadableStream,
  maxBytes: number,
  source: string,
  example: string,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  if ((stdin as { isTTY?: boolean }).isTTY === true) {
    throw new EcliError('USAGE', '- reads the package from stdin, and stdin is a terminal', {
      hint: `pipe the package in (cat package.json | ${example} -), or name its file`,
    });
  }
  if (signal === undefined) return readStreamBounded(stdin, maxBytes, source);
  signal.throwIfAborted();
  const reading = readStreamBounded(stdin, maxBytes, source);
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      // An unread stdin would keep the process alive after it is done.
      (stdin as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  reading.catch(() => {}); // once aborted, the read's own failure (the stream destroyed) is of no interest
  try {
    return await Promise.race([reading, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Reads `stream` to its end; rejects (and destroys the stream) once it passes `maxBytes`. */
export async function readStreamBounded(stream: NodeJS.ReadableStream, maxBytes: number, source: string, hint?: string): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const buffer = Buffer.from(chunk as string | Uint8Array);
      total += buffer.length;
      if (total > maxBytes) {
        throw new EcliError('PACKAGE_INVALID', `${source} holds more than the ${maxBytes} byte limit for a package`, {
          hint: hint ?? 'a package is a package.json written by ecc or a tarball from ecli pack',
        });
      }
      chunks.push(buffer);
    }
  } catch (error) {
    (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    if (error instanceof EcliError) throw error;
    throw unreadable(source, error, hint);
  }
  return Buffer.concat(chunks, total);
}

function unreadable(path: string, error: unknown, hint: string | undefined): EcliError {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EACCES'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'ELOOP'
            ? 'it is a symlink loop'
            : (error as Error).message;
  return new EcliError('INPUT_NOT_FOUND', `cannot read ${path}: ${why}`, hint === undefined ? { cause: error } : { hint, cause: error });
}
