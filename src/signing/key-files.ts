/**
 * Reading key files and detached signatures from disk or a URL, bounded: they are small. Opened
 * without blocking and checked on the descriptor, so a FIFO or a device swapped in after a check
 * cannot hang ecli. A trusted file (the signing policy, a public key: what decides which packages
 * run) is also one that nobody but root or the caller can change, nor the folders it is in, nor
 * the symlinks that lead to it.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync } from 'node:fs';
import { EcliError } from '../errors.js';
import { othersMayChange, TRUST_HINT } from '../files/safe-path.js';
import { openLocatedForReading, readToEndBounded } from '../files/safe-read.js';
import { requestBounded } from '../inputs/fetch.js';
import { redactUrl } from '../inputs/url-credentials.js';
import { parsePublicKey, type VerificationKey } from './keys.js';

/** Keys and signatures are a few hundred bytes; anything past this is not one. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;
const SIGNATURE_TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 5;

export interface ReadLimits {
  maxBytes?: number;
  /** The file decides what ecli trusts: refuse it when another user could change it. */
  trusted?: boolean;
}

/** The text of a key or signature file; `what` says what it should be, in errors. */
export function readSmallFile(path: string, what: string, limits: ReadLimits = {}): string {
  const text = readSmallFileIfExists(path, what, limits);
  if (text === undefined) throw new EcliError('INPUT_NOT_FOUND', `cannot read ${what} ${path}: no such file`);
  return text;
}

/** Like readSmallFile, but undefined when there is no such file. */
export function readSmallFileIfExists(path: string, what: string, { maxBytes = MAX_KEY_FILE_BYTES, trusted = false }: ReadLimits = {}): string | undefined {
  let fd: number;
  try {
    fd = trusted ? openTrusted(path, what) : openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if (error instanceof EcliError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new EcliError('INPUT_NOT_FOUND', `cannot read ${what} ${path}: ${code === 'EACCES' ? 'permission denied' : (error as Error).message}`, {
      cause: error,
    });
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw new EcliError('USAGE', `${what} ${path} is not a regular file`);
    const changeable = trusted ? othersMayChange(info, false) : undefined;
    if (changeable !== undefined) throw new EcliError('USAGE', `${what} ${path} ${changeable}, so another user could change it`, { hint: TRUST_HINT });
    if (info.size > maxBytes) throw new EcliError('USAGE', `${what} ${path} is ${info.size} bytes, more than the ${maxBytes} byte limit`);
    const tooLarge = (): EcliError => new EcliError('USAGE', `${what} ${path} grew past the ${maxBytes} byte limit while it was read`);
    return readToEndBounded(fd, maxBytes, tooLarge).toString('utf8');
  } catch (error) {
    if (error instanceof EcliError) throw error;
    throw new EcliError('INPUT_NOT_FOUND', `cannot read ${what} ${path}: ${(error as Error).message}`, { cause: error });
  } finally {
    closeSync(fd);
  }
}

/** Opens a trusted file through src/files/safe-path's walk; ENOENT (thrown) when there is nothing at the path. */
function openTrusted(path: string, what: string): number {
  lstatSync(path);
  return openLocatedForReading(path, `read ${what}`, TRUST_HINT, true);
}

/** A public key decides what runs: read as a trusted file. */
export function loadPublicKeyFile(path: string): VerificationKey {
  return parsePublicKey(readSmallFile(path, 'the public key', { trusted: true }), path);
}

/** A detached signature at an http(s) URL; undefined when the server has none (404). */
export async function fetchSignature(url: string): Promise<string | undefined> {
  const response = await requestBounded(url, {}, { maxBytes: MAX_KEY_FILE_BYTES, timeoutMs: SIGNATURE_TIMEOUT_MS, maxRedirects: MAX_REDIRECTS });
  if (response.status === 404 || response.status === 410) return undefined;
  if (response.status < 200 || response.status > 299)
    throw new EcliError('NETWORK', `GET ${redactUrl(url)}: HTTP ${response.status} ${response.statusText}`.trimEnd());
  return Buffer.from(response.bytes).toString('utf8');
}
