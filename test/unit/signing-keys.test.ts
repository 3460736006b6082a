/** Keys in cosign's format: the encrypted envelope, labels, passwords, curves; signatures over bytes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, scryptSync } from 'node:crypto';
import { secretbox } from '@noble/ciphers/salsa';
import { EcliError } from '../../src/errors.js';
import {
  COSIGN_PRIVATE_KEY_LABEL,
  decryptPrivateKey,
  encryptPrivateKey,
  generateKeyPair,
  parsePublicKey,
  publicKeyPem,
  SIGSTORE_PRIVATE_KEY_LABEL,
} from '../../src/signing/keys.js';
import { formatPem, parsePem } from '../../src/signing/pem.js';
import { checkSignature, signBytes } from '../../src/signing/signature.js';

function errorWith(code: string, message: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof EcliError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  };
}

/** The JSON envelope inside a private key's PEM. */
interface Envelope {
  kdf: { name: string; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: string; nonce: string };
  ciphertext: string;
}

function envelopeOf(pem: string): Envelope {
  return JSON.parse(Buffer.from(parsePem(pem, 'k', '').der).toString('utf8')) as Envelope;
}

function withEnvelope(pem: string, edit: (envelope: Envelope) => void, label = SIGSTORE_PRIVATE_KEY_LABEL): string {
  const envelope = envelopeOf(pem);
  edit(envelope);
  return formatPem(label, Buffer.from(JSON.stringify(envelope)));
}

test("a generated pair: the envelope is cosign's (scrypt N 65536 r 8 p 1, 32-byte salt, nacl/secretbox, 24-byte nonce), and it opens with its password only", async () => {
  const pair = await generateKeyPair('s3cret');
  assert.match(pair.privatePem, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
  assert.match(pair.publicPem, /^-----BEGIN PUBLIC KEY-----\n/);
  const envelope = envelopeOf(pair.privatePem) as {
    kdf: { name: string; params: object; salt: string };
    cipher: { name: string; nonce: string };
    ciphertext: string;
  };
  assert.deepEqual(Object.keys(envelope), ['kdf', 'cipher', 'ciphertext']);
  assert.equal(envelope.kdf.name, 'scrypt');
  assert.deepEqual(envelope.kdf.params, { N: 65536, r: 8, p: 1 });
  assert.equal(Buffer.from(envelope.kdf.salt, 'base64').length, 32);
  assert.equal(envelope.cipher.name, 'nacl/secretbox');
  assert.equal(Buffer.from(envelope.cipher.nonce, 'base64').length, 24);

  const opened = await decryptPrivateKey(pair.privatePem, 's3cret', 'cosign.key');
  assert.equal(publicKeyPem(opened.publicKey.key), pair.publicPem);
  assert.equal(opened.publicKey.id, parsePublicKey(pair.publicPem, 'cosign.pub').id);
  await assert.rejects(
    decryptPrivateKey(pair.privatePem, 's3cre', 'cosign.key'),
    errorWith('USAGE', /^cannot decrypt cosign\.key: wrong password, or the file is damaged$/),
  );
});

test('the empty password is a password like any other', async () => {
  const pair = await generateKeyPair('');
  await decryptPrivateKey(pair.privatePem, '', 'k');
  await assert.rejects(decryptPrivateKey(pair.privatePem, ' ', 'k'), errorWith('USAGE', /wrong password/));
});

test("the older label ENCRYPTED COSIGN PRIVATE KEY and cosign's other scrypt strengths (N 2^15, 2^17) are read", async () => {
  const pair = await generateKeyPair('pw');
  const relabelled = withEnvelope(pair.privatePem, () => undefined, COSIGN_PRIVATE_KEY_LABEL);
  assert.equal(publicKeyPem((await decryptPrivateKey(relabelled, 'pw', 'k')).publicKey.key), pair.publicPem);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  for (const n of [32768, 131072]) {
    const opened = await decryptPrivateKey(sealWith(privateKey.export({ format: 'der', type: 'pkcs8' }), 'pw', n), 'pw', 'k');
    assert.equal(publicKeyPem(opened.publicKey.key), publicKeyPem(publicKey), `N ${n}`);
  }
  // The N is part of the key derivation: the same ciphertext under another N does not open.
  const n15 = withEnvelope(await encryptPrivateKey(privateKey, 'pw'), (e) => (e.kdf.params.N = 32768));
  await assert.rejects(decryptPrivateKey(n15, 'pw', 'k'), errorWith('USAGE', /wrong password, or the file is damaged/));
});

/** A key envelope sealed here with scrypt parameter `n`. */
function sealWith(der: Uint8Array, password: string, n: number): string {
  const salt = randomBytes(32);
  const nonce = randomBytes(24);
  const boxKey = scryptSync(password, salt, 32, { N: n, r: 8, p: 1, maxmem: 256 * n * 8 });
  const envelope = {
    kdf: { name: 'scrypt', params: { N: n, r: 8, p: 1 }, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(secretbox(boxKey, nonce).seal(der)).toString('base64'),
  };
  return formatPem(SIGSTORE_PRIVATE_KEY_LABEL, Buffer.from(JSON.stringify(envelope)));
}

test('damaged or foreign key files are refused with what is wrong', async () => {
  const pair = await generateKeyPair('pw');
  const cases: [string, RegExp][] = [
    ['not a key', /^k is not a PEM file \(no -----BEGIN \.\.\.----- block\)$/],
    [pair.publicPem, /^k is a PUBLIC KEY, not an ENCRYPTED SIGSTORE PRIVATE KEY$/],
    [formatPem('PRIVATE KEY', Buffer.from('x')), /an unencrypted private key: import it with cosign import-key-pair first/],
    [formatPem(SIGSTORE_PRIVATE_KEY_LABEL, Buffer.from('{not json')), /is not a cosign encrypted key: its PEM block does not hold JSON$/],
    [withEnvelope(pair.privatePem, (e) => (e.kdf.params.N = 1 << 22)), /scrypt parameters \{"N":4194304,"r":8,"p":1\} are not one of cosign's/],
    [withEnvelope(pair.privatePem, (e) => (e.kdf.name = 'pbkdf2')), /kdf\.name is "pbkdf2", not "scrypt"/],
    [withEnvelope(pair.privatePem, (e) => (e.cipher.name = 'aes-gcm')), /cipher\.name is "aes-gcm", not "nacl\/secretbox"/],
    [withEnvelope(pair.privatePem, (e) => (e.cipher.nonce = Buffer.alloc(12).toString('base64'))), /cipher\.nonce is 12 bytes, not 24/],
    [withEnvelope(pair.privatePem, (e) => (e.ciphertext = 'not base64!')), /ciphertext is not a base64 string/],
    [
      withEnvelope(pair.privatePem, (e) => {
        const bytes = Buffer.from(e.ciphertext, 'base64');
        bytes[20]! ^= 1;
        e.ciphertext = bytes.toString('base64');
      }),
      /^cannot decrypt k: wrong password, or the file is damaged$/,
    ],
  ];
  for (const [text, message] of cases) await assert.rejects(decryptPrivateKey(text, 'pw', 'k'), errorWith('USAGE', message));
});

test('keys other than ECDSA P-256 are refused, public or private', async () => {
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const sealed = await encryptPrivateKey(p384.privateKey, 'pw');
  await assert.rejects(
    decryptPrivateKey(sealed, 'pw', 'k'),
    errorWith('USAGE', /^k is an ECDSA key on secp384r1; ecli signs and verifies with ECDSA P-256 keys only/),
  );
  const ed = generateKeyPairSync('ed25519');
  assert.throws(() => parsePublicKey(publicKeyPem(ed.publicKey), 'ed.pub'), errorWith('USAGE', /^ed\.pub is an ed25519 key; ecli signs/));
  assert.throws(
    () => parsePublicKey(formatPem('ENCRYPTED SIGSTORE PRIVATE KEY', Buffer.from('x')), 'cosign.key'),
    (error: unknown) => {
      assert.ok(error instanceof EcliError);
      assert.equal(error.message, 'cosign.key is an ENCRYPTED SIGSTORE PRIVATE KEY, not a PUBLIC KEY');
      assert.match(error.hint ?? '', /verify with its public key \(cosign\.pub\)/);
      return true;
    },
  );
});

test('signatures: DER ECDSA-SHA256 in base64; another key, other bytes and garbage are told apart', async () => {
  const pair = await generateKeyPair('pw');
  const key = await decryptPrivateKey(pair.privatePem, 'pw', 'k');
  const other = parsePublicKey((await generateKeyPair('pw')).publicPem, 'other.pub');
  const bytes = Buffer.from('the bytes of a package\n');
  const signature = signBytes(key.privateKey, bytes);
  assert.equal(Buffer.from(signature, 'base64')[0], 0x30, 'an ASN.1 SEQUENCE');
  assert.equal(checkSignature(key.publicKey, bytes, signature), 'valid');
  assert.equal(checkSignature(key.publicKey, bytes, `${signature}\n`), 'valid', 'a trailing newline is allowed');
  assert.equal(checkSignature(other, bytes, signature), 'invalid');
  const altered = Buffer.from(bytes);
  altered[0]! ^= 1;
  assert.equal(checkSignature(key.publicKey, altered, signature), 'invalid');
  assert.equal(checkSignature(key.publicKey, bytes, 'not base64!'), 'malformed');
  assert.equal(checkSignature(key.publicKey, bytes, ''), 'malformed');
  assert.equal(checkSignature(key.publicKey, bytes, Buffer.from('not DER').toString('base64')), 'malformed');
});
