/** `--wasm-dir` and `--wasm-memory` of `ecli run`, for Wasm modules. */
import { EcliError } from '../errors.js';

const UNIT_BYTES: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 };
const WASM_PAGE = 65536;
/** wasm32 addresses 4 GiB. */
const MAX_PAGES = 65536;

/** `--wasm-memory 512M`: the size, in 64 KiB pages (rounded down). */
export function parseWasmMemory(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?$/i.exec(text.trim());
  const bytes = match ? Number(match[1]) * UNIT_BYTES[match[2]!.toLowerCase()]! : Number.NaN;
  const pages = Math.floor(bytes / WASM_PAGE);
  if (!(pages >= 1 && pages <= MAX_PAGES)) {
    throw new EcliError('USAGE', `--wasm-memory ${JSON.stringify(text)} is not a size between 64K and 4G`, {
      hint: 'give a size with a unit: 256M, 1G (a bare number is bytes)',
    });
  }
  return pages;
}

/**
 * `--wasm-dir HOST[:GUEST]` (repeatable): the host directory HOST, seen by the guest as GUEST
 * (by default under its own name). Returns the preopens so far: guest path → host directory.
 */
export function parseWasmDir(text: string, previous: Record<string, string> | undefined): Record<string, string> {
  const colon = text.indexOf(':');
  const host = colon < 0 ? text : text.slice(0, colon);
  const guest = colon < 0 ? text : text.slice(colon + 1);
  if (host === '' || guest === '') {
    throw new EcliError('USAGE', `--wasm-dir ${JSON.stringify(text)}: give a directory, and after a colon the path the guest sees it at`, {
      hint: 'e.g. --wasm-dir ./data or --wasm-dir /var/log/app:/logs',
    });
  }
  if (previous !== undefined && Object.hasOwn(previous, guest)) {
    throw new EcliError('USAGE', `--wasm-dir: two directories for the guest path ${guest}`, { hint: 'give each its own guest path: --wasm-dir HOST:GUEST' });
  }
  return { ...previous, [guest]: host };
}
