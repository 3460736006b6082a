/** Reads a local input file whole, with a size bound and user-facing errors. */
import { readFile, stat } from 'node:fs/promises';
import { EcliError } from '../errors.js';

export async function readInputFile(path: string, maxBytes: number, hint: string): Promise<Uint8Array> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new EcliError('INPUT_NOT_FOUND', `cannot read ${path}: it is a directory`, { hint });
    if (info.size > maxBytes) {
      throw new EcliError('PACKAGE_INVALID', `${path} is ${info.size} bytes, more than the ${maxBytes} byte limit`, { hint });
    }
    return await readFile(path);
  } catch (error) {
    if (error instanceof EcliError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new EcliError('INPUT_NOT_FOUND', `cannot read ${path}: ${why}`, { hint, cause: error });
  }
}
