/**
 * The cosign signature layout (simple-signing payload, the .sig manifest) and the verdicts on
 * what was found: a valid signature, none, another key's, one naming another digest, a malformed one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { EcliError } from '../../src/errors.js';
import { decryptPrivateKey, generateKeyPair, type SigningKey } from '../../src/signing/keys.js';
import { buildPayload, parsePayload } from '../../src/signing/payload.js';
import { signBytes } from '../../src/signing/signature.js';
import {
  buildSignatureManifest,
  parseSignatureManifest,
  signatureTag,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_LAYER,
} from '../../src/signing/signature-manifest.js';
import { verifyDetachedSignature, verifyManifest, type FoundSignature, type Requirement } from '../../src/signing/verify.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const OTHER_DIGEST = `sha256:${'cd'.repeat(32)}`;
const SUBJECT = `127.0.0.1:5000/tools/x@${DIGEST}`;

async function newKey(name: string): Promise<SigningKey> {
  const key = await decryptPrivateKey((await generateKeyPair('')).privatePem, '', name);
  return { ...key, publicKey: { ...key.publicKey, name } };
}

function requirementOf(...keys: SigningKey[]): Requirement {
  return { keys: keys.map((k) => k.publicKey), origin: '--verify-key' };
}

function signed(key: SigningKey, digest = DIGEST): FoundSignature {
  const payload = buildPayload({ digest, dockerReference: '127.0.0.1:5000/tools/x' });
  return { payload, signature: signBytes(key.privateKey, payload) };
}

function refusal(message: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof EcliError, String(error));
    assert.equal(error.code, 'SIGNATURE');
    assert.match(error.message, message);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  };
}

test("the payload is cosign's simple-signing JSON, byte for byte", () => {
  const payload = buildPayload({
    digest: 'sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec',
    dockerReference: 'index.docker.io/namespace/image',
  });
  assert.equal(
    Buffer.from(payload).toString(),
    '{"critical":{"identity":{"docker-reference":"index.docker.io/namespace/image"},"image":{"docker-manifest-digest":"sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec"},"type":"cosign container image signature"},"optional":null}',
  );
  assert.deepEqual(parsePayload(payload), {
    digest: 'sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec',
    dockerReference: 'index.docker.io/namespace/image',
  });
  // What cosign adds with -a (optional annotations) is read too.
  const annotated = Buffer.from(
    JSON.stringify({
      critical: { identity: { 'docker-reference': 'r' }, image: { 'docker-manifest-digest': DIGEST }, type: 'cosign container image signature' },
      optional: { team: 'x' },
    }),
  );
  assert.deepEqual(parsePayload(annotated), { digest: DIGEST, dockerReference: 'r' });
  assert.deepEqual(parsePayload(Buffer.from('{"critical":{"type":"atomic container signature"}}')), {
    problem: 'its payload\'s critical.type is "atomic container signature", not "cosign container image signature"',
  });
  assert.deepEqual(parsePayload(Buffer.from('[1]')), { problem: 'its payload has no "critical" object' });
});

test('the .sig tag and manifest: sha256-<hex>.sig, an OCI manifest with one simple-signing layer per signature', () => {
  assert.equal(signatureTag(DIGEST), `sha256-${'ab'.repeat(32)}.sig`);
  const payload = buildPayload({ digest: DIGEST, dockerReference: 'r' });
  const layer = {
    mediaType: SIMPLE_SIGNING_LAYER,
    digest: `sha256:${createHash('sha256').update(payload).digest('hex')}`,
    size: payload.length,
    annotations: { [SIGNATURE_ANNOTATION]: 'MEUC' },
  };
  const built = buildSignatureManifest([layer, { ...layer, annotations: { [SIGNATURE_ANNOTATION]: 'MEYC' } }]);
  const manifest = JSON.parse(Buffer.from(built.manifest).toString()) as {
    mediaType: string;
    config: { mediaType: string; digest: string };
    layers: unknown[];
  };
  assert.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.equal(manifest.config.mediaType, 'application/vnd.oci.image.config.v1+json');
  assert.equal(manifest.config.digest, built.config.descriptor.digest);
  assert.deepEqual(JSON.parse(Buffer.from(built.config.bytes).toString()).rootfs, { type: 'layers', diff_ids: [layer.digest, layer.digest] });
  assert.deepEqual(parseSignatureManifest(built.manifest, SUBJECT), manifest.layers);
  assert.throws(
    () => parseSignatureManifest(Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'), SUBJECT),
    refusal(/signatures of .* are malformed: the manifest has media type/),
  );
  assert.throws(
    () => parseSignatureManifest(Buffer.from('{"schemaVersion":2,"layers":[{"mediaType":"x","digest":"sha256:1","size":1}]}'), SUBJECT),
    refusal(/layer 0 has no media type or sha256 digest/),
  );
});

test('a manifest verifies when any of its signatures is by a required key and names its digest', async () => {
  const ours = await newKey('ours.pub');
  const theirs = await newKey('theirs.pub');
  const verified = verifyManifest(SUBJECT, DIGEST, [signed(theirs), signed(ours)], requirementOf(ours));
  assert.equal(verified.key.name, 'ours.pub');
  assert.deepEqual(verified.claim, { digest: DIGEST, dockerReference: '127.0.0.1:5000/tools/x' });
  assert.equal(verifyManifest(SUBJECT, DIGEST, [signed(theirs)], requirementOf(ours, theirs)).key.name, 'theirs.pub', 'any one of the keys');
  // A malformed neighbour does not spoil a valid signature.
  assert.equal(verifyManifest(SUBJECT, DIGEST, [{ payload: Buffer.from('x'), signature: 'garbage' }, signed(ours)], requirementOf(ours)).key.name, 'ours.pub');
});

test('refusals say which case it is, in one line naming who required the key', async () => {
  const ours = await newKey('ours.pub');
  const theirs = await newKey('theirs.pub');
  const need = requirementOf(ours);
  assert.throws(
    () => verifyManifest(SUBJECT, DIGEST, [], need),
    refusal(/^127\.0\.0\.1:5000\/tools\/x@sha256:(ab)+ has no signature \(required by --verify-key\)$/),
  );
  assert.throws(
    () => verifyManifest(SUBJECT, DIGEST, [signed(theirs)], need),
    refusal(/ is not signed by ours\.pub: its one signature is not by that key \(required by --verify-key\)$/),
  );
  assert.throws(
    () => verifyManifest(SUBJECT, DIGEST, [signed(theirs), signed(theirs)], need),
    refusal(/ is not signed by ours\.pub: none of its 2 signatures is by that key/),
  );
  assert.throws(
    () => verifyManifest(SUBJECT, DIGEST, [signed(ours, OTHER_DIGEST)], need),
    refusal(new RegExp(`: ours\\.pub signed a payload naming ${OTHER_DIGEST}, not ${DIGEST}; that signature was made for another manifest`)),
  );
  const good = signed(ours);
  assert.throws(
    () => verifyManifest(SUBJECT, DIGEST, [{ ...good, signature: undefined }], need),
    refusal(/malformed signature \(signature 1 of 1: it has no dev\.cosignproject\.cosign\/signature annotation\)/),
  );
  assert.throws(
    () => verifyManifest(SUBJECT, DIGEST, [{ ...good, signature: 'bm90IERFUg==' }], need),
    refusal(/malformed signature \(signature 1 of 1: its signature is not a base64 DER ECDSA signature\)/),
  );
  assert.throws(
    () => verifyManifest(SUBJECT, DIGEST, [{ payload: { problem: 'the registry has no payload blob sha256:00' }, signature: 'x' }], need),
    refusal(/malformed signature \(signature 1 of 1: the registry has no payload blob/),
  );
  const notJson = Buffer.from('not json');
  assert.throws(
    () => verifyManifest(SUBJECT, DIGEST, [{ payload: notJson, signature: signBytes(ours.privateKey, notJson) }], need),
    refusal(/malformed signature \(signature 1 of 1: its payload is not JSON\)/),
  );
});

test('a detached signature verifies over the exact bytes; one byte changed, another key, none or garbage are refused', async () => {
  const ours = await newKey('ours.pub');
  const theirs = await newKey('theirs.pub');
  const bytes = Buffer.from('{"bpf_object": "..."}\n');
  const at = { source: 'pkg.json.sig', missing: 'pkg.json.sig does not exist' };
  const good = { ...at, text: signBytes(ours.privateKey, bytes) };
  assert.equal(verifyDetachedSignature('pkg.json', bytes, good, requirementOf(theirs, ours)).name, 'ours.pub');
  const altered = Buffer.from(bytes);
  altered[3]! ^= 0x01;
  assert.throws(
    () => verifyDetachedSignature('pkg.json', altered, good, requirementOf(ours)),
    refusal(/^pkg\.json: pkg\.json\.sig is not a signature by ours\.pub of these bytes: the file changed after it was signed, or another key signed it/),
  );
  assert.throws(() => verifyDetachedSignature('pkg.json', bytes, good, requirementOf(theirs)), refusal(/is not a signature by theirs\.pub of these bytes/));
  assert.throws(
    () => verifyDetachedSignature('pkg.json', bytes, { ...at, text: undefined }, requirementOf(ours)),
    refusal(/^pkg\.json has no signature: pkg\.json\.sig does not exist \(required by --verify-key\)$/),
  );
  assert.throws(
    () => verifyDetachedSignature('pkg.json', bytes, { ...at, text: '{"mediaType":"application/vnd.dev.sigstore.bundle"}' }, requirementOf(ours)),
    refusal(/malformed signature: pkg\.json\.sig is not a base64 DER ECDSA signature \(it is JSON, perhaps a sigstore bundle/),
  );
});
