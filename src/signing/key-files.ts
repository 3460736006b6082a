/** Reading key files and detached signatures from disk or a URL, bounded: they are small. */
import { readFileSync, statSync } from 'node:fs';
import { EcliError } from '../errors.js';
import { requestBounded } from '../inputs/fetch.js';
import { parsePublicKey, type VerificationKey } from './keys.js';

/** Keys and signatures are a few hundred bytes; anything past this is not one. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;
const SIGNATURE_TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 5;

/** The text of a key or signature file; `what` says what it should be, in errors. */
export function readSmallFile(path: string, what: string, maxBytes = MAX_KEY_FILE_BYTES): string {
  const text = readSmallFileIfExists(path, what, maxBytes);
  if (text === undefined) throw new EcliError('INPUT_NOT_FOUND', `cannot read ${what} ${path}: no such file`);
  return text;
}

/** Like readSmallFile, but undefined when there is no such file. */
export function readSmallFileIfExists(path: string, what: string, maxBytes = MAX_KEY_FILE_BYTES): string | undefined {
  try {
    const info = statSync(path);
    if (!info.isFile()) throw new EcliError('USAGE', `${what} ${path} is not a regular file`);
    if (info.size > maxBytes) throw new EcliError('USAGE', `${what} ${path} is ${info.size} bytes, more than the ${maxBytes} byte limit`);
    return readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof EcliError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new EcliError('INPUT_NOT_FOUND', `cannot read ${what} ${path}: ${code === 'EACCES' ? 'permission denied' : (error as Error).message}`, {
      cause: error,
    });
  }
}

export function loadPublicKeyFile(path: string): VerificationKey {
  return parsePublicKey(readSmallFile(path, 'the public key'), path);
}

/** A detached signature at an http(s) URL; undefined when the server has none (404). */
export async function fetchSignature(url: string): Promise<string | undefined> {
  const response = await requestBounded(url, {}, { maxBytes: MAX_KEY_FILE_BYTES, timeoutMs: SIGNATURE_TIMEOUT_MS, maxRedirects: MAX_REDIRECTS });
  if (response.status === 404 || response.status === 410) return undefined;
  if (response.status < 200 || response.status > 299) throw new EcliError('NETWORK', `GET ${url}: HTTP ${response.status} ${response.statusText}`.trimEnd());
  return Buffer.from(response.bytes).toString('utf8');
}
