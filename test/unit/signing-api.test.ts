/** openPackage's signature options: verifyKeys (paths or KeyObjects), signature (a path or bytes), policy. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EcliError, exitCodeFor, openPackage } from '../../src/api/index.js';
import { decryptPrivateKey, generateKeyPair, publicKeyPem } from '../../src/signing/keys.js';
import { signBytes } from '../../src/signing/signature.js';
import { fixturesDir } from '../helpers/env.js';

test('openPackage verifies before decoding: a signed file opens, an unsigned or altered one is refused with SIGNATURE (exit 15)', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ecli-api-signing-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const key = await decryptPrivateKey((await generateKeyPair('')).privatePem, '', 'k');
  const pub = path.join(dir, 'cosign.pub');
  writeFileSync(pub, publicKeyPem(key.publicKey.key));
  // A policy of our own, so that the machine's /etc/ecli/policy.json plays no part.
  const policy = path.join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify({ version: 1, files: { action: 'allow' } }));
  const bytes = readFileSync(path.join(fixturesDir, 'minimal_printk.json'));
  const file = path.join(dir, 'pkg.json');
  writeFileSync(file, bytes);
  const refused = (message: RegExp) => (error: unknown) =>
    error instanceof EcliError && error.code === 'SIGNATURE' && exitCodeFor(error) === 15 && message.test(error.message);

  await assert.rejects(
    openPackage(file, { verifyKeys: [pub], policy }),
    refused(/pkg\.json \(sha256:[0-9a-f]{64}\) has no signature: .*pkg\.json\.sig does not exist \(required by the verifyKeys option\)$/),
  );
  writeFileSync(`${file}.sig`, signBytes(key.privateKey, bytes));
  const notices: string[] = [];
  const pkg = await openPackage(file, { verifyKeys: [pub], policy, onNotice: (m) => notices.push(m) });
  assert.equal(pkg.spec.objectName, 'simple_bpf');
  assert.match(notices.join('\n'), /^verified .*pkg\.json \(sha256:[0-9a-f]{64}\): signed by .*cosign\.pub$/m);
  // A KeyObject, and bytes with their signature's bytes.
  await openPackage(file, { verifyKeys: [key.publicKey.key], policy });
  await openPackage(new Uint8Array(bytes), { verifyKeys: [key.publicKey.key], policy, signature: Buffer.from(signBytes(key.privateKey, bytes)) });
  await assert.rejects(
    openPackage(new Uint8Array(bytes), { verifyKeys: [pub], policy }),
    refused(/^<buffer> \(sha256:[0-9a-f]{64}\) has no signature: give its detached signature/),
  );
  const altered = Buffer.from(bytes);
  altered[altered.indexOf('simple_bpf')]! ^= 1;
  writeFileSync(file, altered);
  await assert.rejects(
    openPackage(file, { verifyKeys: [pub], policy }),
    refused(/is not a signature by key [0-9a-f]{16} of these bytes|is not a signature by .*cosign\.pub of these bytes/),
  );
  // The policy alone: files must be signed by its key.
  writeFileSync(policy, JSON.stringify({ version: 1, files: { action: 'verify', keys: ['cosign.pub'] } }));
  writeFileSync(file, bytes);
  await openPackage(file, { policy });
  writeFileSync(`${file}.sig`, signBytes((await decryptPrivateKey((await generateKeyPair('')).privatePem, '', 'o')).privateKey, bytes));
  await assert.rejects(openPackage(file, { policy }), refused(/\(required by .*policy\.json "files"\)$/));
});
