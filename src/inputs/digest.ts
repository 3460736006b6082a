/** sha256 pins: parsing a user-given digest and checking bytes against it. */
import { createHash } from 'node:crypto';
import { EcliError } from '../errors.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The pin in lower case; a USAGE error unless it is 64 hexadecimal digits. */
export function parseSha256Pin(pin: string): string {
  const digest = pin.trim().toLowerCase();
  if (!SHA256_HEX.test(digest)) {
    throw new EcliError('USAGE', `--sha256 ${JSON.stringify(pin)} is not a sha256 digest: expected 64 hexadecimal digits`, {
      hint: 'compute it with: sha256sum <file>',
    });
  }
  return digest;
}

/** Throws INTEGRITY when `bytes` do not hash to `expected` (already parsed with parseSha256Pin). */
export function verifySha256(bytes: Uint8Array, expected: string, what: string): void {
  const actual = sha256Hex(bytes);
  if (actual !== expected) {
    throw new EcliError('INTEGRITY', `sha256 mismatch for ${what}: expected ${expected}, got ${actual}`, {
      hint: 'the file changed since the digest was taken; check where it came from before pinning the new digest',
    });
  }
}
