/** ECDSA-SHA256 signatures as cosign writes them: ASN.1 DER, in base64. */
import { sign, verify, type KeyObject } from 'node:crypto';
import { decodeBase64 } from './base64.js';
import type { VerificationKey } from './keys.js';

export type SignatureCheck = 'valid' | 'invalid' | 'malformed';

/** The base64 signature of `bytes` (ECDSA over their SHA-256, DER-encoded). */
export function signBytes(privateKey: KeyObject, bytes: Uint8Array): string {
  return sign('sha256', bytes, { key: privateKey, dsaEncoding: 'der' }).toString('base64');
}

/** Whether `signature` (base64, surrounding white space allowed) is `key`'s over `bytes`. */
export function checkSignature(key: VerificationKey, bytes: Uint8Array, signature: string): SignatureCheck {
  const der = decodeBase64(signature.trim());
  if (der === undefined || !isEcdsaSignatureDer(der)) return 'malformed';
  return verify('sha256', bytes, { key: key.key, dsaEncoding: 'der' }, der) ? 'valid' : 'invalid';
}

/**
 * The shape of an ECDSA-Sig-Value, SEQUENCE { r INTEGER, s INTEGER }, for P-256 (each at most
 * 33 bytes, so every length fits one byte). OpenSSL only answers "does not verify" for bytes of
 * another shape; this tells a damaged signature from one by another key.
 */
function isEcdsaSignatureDer(der: Uint8Array): boolean {
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return false;
  let at = 2;
  for (let integer = 0; integer < 2; integer++) {
    const length = der[at + 1];
    if (der[at] !== 0x02 || length === undefined || length === 0 || length > 33) return false;
    at += 2 + length;
  }
  return at === der.length;
}
