/**
 * Keys in cosign's format. A private key is PKCS#8 DER sealed in a JSON envelope (scrypt derives
 * a 32-byte key from the password and a random salt; NaCl secretbox, XSalsa20-Poly1305, seals
 * the DER under a random 24-byte nonce), armoured as PEM `ENCRYPTED SIGSTORE PRIVATE KEY` (or
 * the older label `ENCRYPTED COSIGN PRIVATE KEY`). A public key is PEM `PUBLIC KEY` (SPKI).
 * Only ECDSA P-256 keys, cosign's default, are accepted: signatures are ECDSA-SHA256.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, scrypt, type KeyObject } from 'node:crypto';
import { secretbox } from '@noble/ciphers/salsa';
import { EcliError } from '../errors.js';
import { isObject } from '../inputs/registry/json.js';
import { decodeBase64 } from './base64.js';
import { formatPem, parsePem } from './pem.js';

export const SIGSTORE_PRIVATE_KEY_LABEL = 'ENCRYPTED SIGSTORE PRIVATE KEY';
export const COSIGN_PRIVATE_KEY_LABEL = 'ENCRYPTED COSIGN PRIVATE KEY';
const PUBLIC_KEY_LABEL = 'PUBLIC KEY';

const KDF_NAME = 'scrypt';
const CIPHER_NAME = 'nacl/secretbox';
/**
 * The scrypt parameters cosign's envelope library writes and reads (N 2^15, 2^16, 2^17; r 8;
 * p 1). Others are refused: a key file could otherwise ask for gigabytes of memory.
 */
const ACCEPTED_SCRYPT_N = [32768, 65536, 131072];
const SCRYPT_R = 8;
const SCRYPT_P = 1;
/** What new keys use: cosign's current default. */
const NEW_KEY_SCRYPT_N = 65536;
const SALT_BYTES = 32;
const NONCE_BYTES = 24;
const BOX_KEY_BYTES = 32;
const TAG_BYTES = 16;

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: VerificationKey;
}

export interface VerificationKey {
  key: KeyObject;
  /** How messages name the key: its file, or `key <id>`. */
  name: string;
  /** The first 16 hex digits of the sha256 of its SPKI DER: tells keys apart in messages. */
  id: string;
}

const PRIVATE_HINT = 'pass a private key written by ecli key generate or cosign generate-key-pair';
const PUBLIC_HINT = 'pass a public key (PEM, -----BEGIN PUBLIC KEY-----) written by ecli key generate or cosign generate-key-pair';

/** Opens an encrypted private key with `password`; `source` names the file in errors. */
export async function decryptPrivateKey(pemText: string, password: string, source: string): Promise<SigningKey> {
  const block = parsePem(pemText, source, PRIVATE_HINT);
  if (block.label !== SIGSTORE_PRIVATE_KEY_LABEL && block.label !== COSIGN_PRIVATE_KEY_LABEL) {
    const unencrypted = /PRIVATE KEY$/.test(block.label) ? ' (an unencrypted private key: import it with cosign import-key-pair first)' : '';
    throw new EcliError('USAGE', `${source} is ${withArticle(block.label)}, not an ${SIGSTORE_PRIVATE_KEY_LABEL}${unencrypted}`, { hint: PRIVATE_HINT });
  }
  const envelope = parseEnvelope(block.der, source);
  const boxKey = await deriveKey(password, envelope.salt, envelope.n);
  let der: Uint8Array;
  try {
    der = secretbox(boxKey, envelope.nonce).open(envelope.ciphertext);
  } catch {
    throw new EcliError('USAGE', `cannot decrypt ${source}: wrong password, or the file is damaged`, {
      hint: 'the password comes from COSIGN_PASSWORD (an empty one counts), or is asked for on a terminal',
    });
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch (error) {
    throw new EcliError('USAGE', `${source} decrypts to something that is not a PKCS#8 private key: ${(error as Error).message}`, { hint: PRIVATE_HINT });
  }
  requireP256(privateKey, source, PRIVATE_HINT);
  return { privateKey, publicKey: verificationKey(createPublicKey(privateKey), source) };
}

/** The PEM of `privateKey` sealed with `password`, as cosign writes it (label ENCRYPTED SIGSTORE PRIVATE KEY). */
export async function encryptPrivateKey(privateKey: KeyObject, password: string): Promise<string> {
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const boxKey = await deriveKey(password, salt, NEW_KEY_SCRYPT_N);
  const ciphertext = secretbox(boxKey, nonce).seal(der);
  const envelope = {
    kdf: { name: KDF_NAME, params: { N: NEW_KEY_SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P }, salt: salt.toString('base64') },
    cipher: { name: CIPHER_NAME, nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(ciphertext).toString('base64'),
  };
  return formatPem(SIGSTORE_PRIVATE_KEY_LABEL, new TextEncoder().encode(JSON.stringify(envelope)));
}

/** A new ECDSA P-256 key pair: the encrypted private key's PEM and the public key's PEM. */
export async function generateKeyPair(password: string): Promise<{ privatePem: string; publicPem: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { privatePem: await encryptPrivateKey(privateKey, password), publicPem: publicKeyPem(publicKey) };
}

export function publicKeyPem(publicKey: KeyObject): string {
  return formatPem(PUBLIC_KEY_LABEL, publicKey.export({ format: 'der', type: 'spki' }));
}

/** A public key from its PEM text; `source` names it in errors and messages. */
export function parsePublicKey(pemText: string, source: string): VerificationKey {
  const block = parsePem(pemText, source, PUBLIC_HINT);
  if (block.label !== PUBLIC_KEY_LABEL) {
    const hint = /PRIVATE KEY$/.test(block.label) ? 'this is a private key: verify with its public key (cosign.pub), which you may share' : PUBLIC_HINT;
    throw new EcliError('USAGE', `${source} is ${withArticle(block.label)}, not a PUBLIC KEY`, { hint });
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(block.der), format: 'der', type: 'spki' });
  } catch (error) {
    throw new EcliError('USAGE', `${source} is not a valid public key: ${(error as Error).message}`, { hint: PUBLIC_HINT });
  }
  return verificationKey(key, source);
}

/** A key given as an object (the library API): named by its id. */
export function verificationKey(key: KeyObject, name?: string): VerificationKey {
  requireP256(key, name ?? 'the key', PUBLIC_HINT);
  const id = createHash('sha256')
    .update(key.export({ format: 'der', type: 'spki' }))
    .digest('hex')
    .slice(0, 16);
  return { key, name: name ?? `key ${id}`, id };
}

/** "a PUBLIC KEY", "an ENCRYPTED SIGSTORE PRIVATE KEY", "an ed25519 key": the article the word's sound takes. */
function withArticle(words: string): string {
  return `${/^[aeiou]/i.test(words) ? 'an' : 'a'} ${words}`;
}

function requireP256(key: KeyObject, source: string, hint: string): void {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
    const what = key.asymmetricKeyType === 'ec' ? `an ECDSA key on ${curve ?? 'an unknown curve'}` : withArticle(`${key.asymmetricKeyType ?? 'unknown'} key`);
    throw new EcliError('USAGE', `${source} is ${what}; ecli signs and verifies with ECDSA P-256 keys only (cosign's default)`, { hint });
  }
}

interface Envelope {
  n: number;
  salt: Uint8Array;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
}

function parseEnvelope(json: Uint8Array, source: string): Envelope {
  const fail = (what: string): never => {
    throw new EcliError('USAGE', `${source} is not a cosign encrypted key: ${what}`, { hint: PRIVATE_HINT });
  };
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(json).toString('utf8'));
  } catch {
    return fail('its PEM block does not hold JSON');
  }
  const kdf = field(value, 'kdf');
  const params = field(kdf, 'params');
  const cipher = field(value, 'cipher');
  if (field(kdf, 'name') !== KDF_NAME) fail(`kdf.name is ${JSON.stringify(field(kdf, 'name'))}, not "${KDF_NAME}"`);
  if (field(cipher, 'name') !== CIPHER_NAME) fail(`cipher.name is ${JSON.stringify(field(cipher, 'name'))}, not "${CIPHER_NAME}"`);
  const n = field(params, 'N');
  if (typeof n !== 'number' || !ACCEPTED_SCRYPT_N.includes(n) || field(params, 'r') !== SCRYPT_R || field(params, 'p') !== SCRYPT_P) {
    fail(`scrypt parameters ${JSON.stringify(params)} are not one of cosign's (N ${ACCEPTED_SCRYPT_N.join(', ')}; r ${SCRYPT_R}; p ${SCRYPT_P})`);
  }
  const salt = base64Field(kdf, 'salt', 'kdf.salt', fail);
  const nonce = base64Field(cipher, 'nonce', 'cipher.nonce', fail);
  const ciphertext = base64Field(value, 'ciphertext', 'ciphertext', fail);
  if (salt.length === 0) fail('kdf.salt is empty');
  if (nonce.length !== NONCE_BYTES) fail(`cipher.nonce is ${nonce.length} bytes, not ${NONCE_BYTES}`);
  if (ciphertext.length <= TAG_BYTES) fail(`ciphertext is ${ciphertext.length} bytes, too short to hold a key`);
  return { n: n as number, salt, nonce, ciphertext };
}

function field(value: unknown, name: string): unknown {
  return isObject(value) ? value[name] : undefined;
}

function base64Field(value: unknown, name: string, shown: string, fail: (what: string) => never): Uint8Array {
  const text = field(value, name);
  const bytes = typeof text === 'string' ? decodeBase64(text) : undefined;
  return bytes ?? fail(`${shown} is not a base64 string`);
}

function deriveKey(password: string, salt: Uint8Array, n: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    // scrypt needs 128 * N * r bytes; Node's default cap (32 MiB) is below cosign's parameters.
    const maxmem = 2 * 128 * n * SCRYPT_R;
    scrypt(Buffer.from(password, 'utf8'), salt, BOX_KEY_BYTES, { N: n, r: SCRYPT_R, p: SCRYPT_P, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}
