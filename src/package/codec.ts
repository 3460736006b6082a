/**
 * The package's byte layer: text → JSON, bpf_object (base64 → zlib → BPF ELF) and back, and the
 * reference's JSON serialisation (compact, keys sorted at every level).
 */
import { deflateSync, inflateSync } from 'node:zlib';
import { EM_BPF, isElf } from '../elf/elf.js';
import { EcliError } from '../errors.js';
import { oneLine } from './one-line.js';
import type { ComposedPackage } from './types.js';

/** Largest ELF object we accept; checked before inflating so a zlib bomb cannot eat memory. */
export const MAX_BPF_OBJECT_SIZE = 64 * 1024 * 1024;

/** The reference (flate2's default) compresses with zlib level 6. */
const ZLIB_LEVEL = 6;
const ELF64_HEADER_SIZE = 64;
const REBUILD_HINT = 'the package is damaged or was not written by ecc; rebuild it with ./ecc';

const BASE64_ALPHABET = /^[A-Za-z0-9+/]*$/;
/** Bits of the last character that encode no data, by unpadded length mod 4. */
const UNUSED_TAIL_BITS = [0, 0, 4, 2];
const BASE64_VALUE = new Map([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].map((c, i) => [c, i]));

export function parsePackageText(text: string, source: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new EcliError('PACKAGE_INVALID', `${source} is not valid JSON: ${oneLine(message)}`, {
      hint: 'a package is the package.json that ecc writes; check the file is complete',
    });
  }
  const duplicate = duplicateKey(text);
  if (duplicate !== undefined) {
    // JSON.parse keeps the last of two; other parsers keep the first or refuse (the reference's does).
    throw new EcliError('PACKAGE_INVALID', `${source} has the key "${oneLine(duplicate.key)}" twice in ${duplicate.where}`, {
      hint: 'a package has each key once; rebuild it with ./ecc',
    });
  }
  return parsed;
}

/**
 * The first key that an object of `text` (valid JSON) holds twice, and where: `the top-level
 * object`, `meta.bpf_skel`. A scan, not a second parse: strings are skipped with indexOf, so the
 * megabytes of a bpf_object cost little. Also used on the signing policy.
 */
export function duplicateKey(text: string): { key: string; where: string } | undefined {
  // One frame per open object or array: its keys (objects only), whether a key comes next, its path.
  const frames: Array<{ keys: Set<string> | undefined; expectKey: boolean; path: string; lastKey: string }> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const end = stringEnd(text, i);
      const frame = frames.at(-1);
      if (frame?.keys !== undefined && frame.expectKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (frame.keys.has(key)) return { key, where: frame.path === '' ? 'the top-level object' : frame.path };
        frame.keys.add(key);
        frame.lastKey = key;
        frame.expectKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const parent = frames.at(-1);
      const name =
        parent === undefined ? '' : parent.keys === undefined ? `${parent.path}[]` : parent.path === '' ? parent.lastKey : `${parent.path}.${parent.lastKey}`;
      frames.push({ keys: c === 0x7b ? new Set() : undefined, expectKey: c === 0x7b, path: name, lastKey: '' });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      frames.pop();
    } else if (c === 0x2c /* , */) {
      const frame = frames.at(-1);
      if (frame?.keys !== undefined) frame.expectKey = true;
    }
  }
  return undefined;
}

/** The index of the quote that closes the string opening at `start`. */
function stringEnd(text: string, start: number): number {
  for (let quote = text.indexOf('"', start + 1); ; quote = text.indexOf('"', quote + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote;
  }
}

/** Decodes `bpf_object` to the ELF bytes, checking size, zlib integrity and that it is a BPF ELF. */
export function decodeBpfObject(pkg: ComposedPackage, source: string): Uint8Array {
  const fail = (what: string): never => {
    throw new EcliError('PACKAGE_INVALID', `invalid package ${source}: ${what}`, { hint: REBUILD_HINT });
  };
  const declared = pkg.bpf_object_size;
  if (declared > MAX_BPF_OBJECT_SIZE) {
    fail(`bpf_object_size is ${declared} bytes, more than the ${MAX_BPF_OBJECT_SIZE} byte limit`);
  }
  const compressed = decodeBase64Strict(pkg.bpf_object, fail);
  let elf: Buffer;
  try {
    // One byte over the declared size is enough to prove a mismatch without inflating a bomb.
    elf = inflateSync(compressed, { maxOutputLength: declared + 1 });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      return fail(`bpf_object_size is ${declared} but the object inflates to more than ${declared + 1} bytes`);
    }
    return fail(`bpf_object is not a valid zlib stream: ${(error as Error).message}`);
  }
  if (elf.length !== declared) {
    fail(`bpf_object_size is ${declared} but the object inflates to ${elf.length} bytes`);
  }
  checkBpfElf(elf, fail);
  return new Uint8Array(elf.buffer, elf.byteOffset, elf.length);
}

/** Compresses an ELF object the way ecc does, for `{bpf_object, bpf_object_size}`. */
export function encodeBpfObject(elf: Uint8Array): { bpf_object: string; bpf_object_size: number } {
  return {
    bpf_object: deflateSync(elf, { level: ZLIB_LEVEL }).toString('base64'),
    bpf_object_size: elf.length,
  };
}

/** package.json text as the reference writes it. */
export function serializePackage(pkg: ComposedPackage): string {
  return stableStringify(pkg);
}

/**
 * Compact JSON with object keys sorted by UTF-8 byte order at every level (serde_json without
 * preserve_order). Values are rendered as JSON.stringify renders them; undefined members are
 * skipped.
 */
export function stableStringify(value: unknown): string {
  return stringifyValue(value) ?? 'null';
}

function stringifyValue(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => stringifyValue(item) ?? 'null').join(',')}]`;
  const members: string[] = [];
  for (const key of Object.keys(value).sort(compareUtf8)) {
    const rendered = stringifyValue((value as Record<string, unknown>)[key]);
    if (rendered !== undefined) members.push(`${JSON.stringify(key)}:${rendered}`);
  }
  return `{${members.join(',')}}`;
}

/** UTF-8 byte order equals code point order, which differs from UTF-16 order above U+D7FF. */
function compareUtf8(a: string, b: string): number {
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  for (;;) {
    const x = left.next();
    const y = right.next();
    if (x.done || y.done) return x.done === y.done ? 0 : x.done ? -1 : 1;
    const diff = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (diff !== 0) return diff;
  }
}

/** RFC 4648 base64 with padding and canonical trailing bits; Buffer.from alone is lenient. */
function decodeBase64Strict(text: string, fail: (what: string) => never): Buffer {
  const body = text.replace(/={1,2}$/, '');
  if (!BASE64_ALPHABET.test(body)) {
    let at = 0;
    while (BASE64_VALUE.has(body[at]!)) at++;
    const character = oneLine(JSON.stringify(String.fromCodePoint(body.codePointAt(at)!)));
    fail(`bpf_object is not valid base64: unexpected character ${character} at offset ${at}`);
  }
  if (text.length % 4 !== 0) {
    fail(`bpf_object is not valid base64: its length ${text.length} is not a multiple of 4 (missing or extra = padding?)`);
  }
  const tailBits = UNUSED_TAIL_BITS[body.length % 4]!;
  if (tailBits > 0 && (BASE64_VALUE.get(body[body.length - 1]!)! & ((1 << tailBits) - 1)) !== 0) {
    fail('bpf_object is not valid base64: the last character has non-zero padding bits');
  }
  return Buffer.from(body, 'base64');
}

function checkBpfElf(elf: Buffer, fail: (what: string) => never): void {
  if (!isElf(elf)) {
    fail('bpf_object is not an ELF object (no \\x7fELF magic)');
  }
  if (elf.length < ELF64_HEADER_SIZE) fail(`bpf_object is an ELF object truncated to ${elf.length} bytes`);
  if (elf[4] !== 2) fail('bpf_object is a 32-bit ELF object; BPF objects are 64-bit');
  if (elf[5] !== 1) fail('bpf_object is a big-endian ELF object; only little-endian BPF objects are supported');
  const machine = elf.readUInt16LE(18);
  if (machine !== EM_BPF) {
    fail(`bpf_object is an ELF object for machine ${machine}, not BPF (${EM_BPF}); compile it with clang -target bpf`);
  }
}
