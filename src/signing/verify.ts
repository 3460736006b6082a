/**
 * Deciding whether what was found is a valid signature by one of the keys a requirement names:
 * for a manifest, any of its simple-signing payloads signed by such a key and naming the
 * manifest's digest; for a file, its detached signature. Every refusal is one SIGNATURE error
 * saying which case it is. Pure apart from the crypto.
 */
import { EcliError } from '../errors.js';
import type { VerificationKey } from './keys.js';
import { parsePayload, type SignedClaim } from './payload.js';
import { checkSignature } from './signature.js';

/** Keys, any one of which must have signed, and who asked for them (in messages). */
export interface Requirement {
  keys: readonly VerificationKey[];
  /** `--verify-key`, or the policy rule: `/etc/ecli/policy.json rule 2 (match "ghcr.io/org/*")`. */
  origin: string;
}

/** One layer of a signature manifest, as read. */
export interface FoundSignature {
  /** The payload bytes, or why they could not be read. */
  payload: Uint8Array | { problem: string };
  /** The base64 annotation, if there is one. */
  signature: string | undefined;
}

export interface VerifiedManifest {
  key: VerificationKey;
  claim: SignedClaim;
}

/** `subject` names the manifest in messages (`host/repo@sha256:...`); `digest` is the one it must name. */
export function verifyManifest(subject: string, digest: string, found: readonly FoundSignature[], requirement: Requirement): VerifiedManifest {
  const required = ` (required by ${requirement.origin})`;
  if (found.length === 0) throw signatureError(`${subject} has no signature${required}`, `sign it with: ecli sign --key cosign.key ${subject}`);
  const otherDigests: string[] = [];
  const malformed: string[] = [];
  /** Signed by a required key, but not a payload cosign writes. */
  const signedMalformed: string[] = [];
  let byOthers = 0;
  for (const [i, candidate] of found.entries()) {
    const where = `signature ${i + 1} of ${found.length}`;
    const { payload, signature } = candidate;
    if (!(payload instanceof Uint8Array)) {
      malformed.push(`${where}: ${payload.problem}`);
      continue;
    }
    if (signature === undefined) {
      malformed.push(`${where}: it has no dev.cosignproject.cosign/signature annotation`);
      continue;
    }
    const checks = requirement.keys.map((key) => ({ key, check: checkSignature(key, payload, signature) }));
    if (checks.some((c) => c.check === 'malformed')) {
      malformed.push(`${where}: its signature is not a base64 DER ECDSA signature`);
      continue;
    }
    const signer = checks.find((c) => c.check === 'valid')?.key;
    if (signer === undefined) {
      byOthers++;
      continue;
    }
    const claim = parsePayload(payload);
    if ('problem' in claim) signedMalformed.push(`${where}: ${claim.problem}`);
    else if (claim.digest === digest) return { key: signer, claim };
    else otherDigests.push(`${signer.name} signed a payload naming ${claim.digest}`);
  }
  const keys = keyNames(requirement.keys);
  if (otherDigests.length > 0) {
    throw signatureError(
      `${subject}: ${otherDigests[0]}, not ${digest}; that signature was made for another manifest${required}`,
      'do not run it: a signature was copied onto a manifest it was not made for',
    );
  }
  if (signedMalformed.length > 0) {
    throw signatureError(
      `${subject}: malformed signature (${signedMalformed[0]})${required}`,
      'the signer signed something that is not a cosign payload; sign the package again',
    );
  }
  if (byOthers > 0) {
    const count = found.length === 1 ? 'its one signature is not' : `none of its ${found.length} signatures is`;
    throw signatureError(
      `${subject} is not signed by ${keys}: ${count} by that key${required}`,
      'check that you verify with the right public key; the package may come from someone else',
    );
  }
  throw signatureError(
    `${subject}: malformed signature (${malformed[0]})${required}`,
    'the .sig tag was not written by cosign or ecli sign; sign the package again',
  );
}

/** A detached signature as looked for: its text (undefined: none), where it is, and why it is missing. */
export interface DetachedSignature {
  text: string | undefined;
  /** `pkg.json.sig`, a URL, or `the signature given`. */
  source: string;
  /** Said when there is none: `pkg.json.sig does not exist`. */
  missing: string;
}

/** A detached signature over a file's bytes, as `cosign sign-blob` writes it: the key that made it. */
export function verifyDetachedSignature(subject: string, bytes: Uint8Array, signature: DetachedSignature, requirement: Requirement): VerificationKey {
  const required = ` (required by ${requirement.origin})`;
  const text = signature.text;
  if (text === undefined) {
    throw signatureError(
      `${subject} has no signature: ${signature.missing}${required}`,
      'sign it with: ecli sign --key cosign.key <file>, or name its signature with --signature',
    );
  }
  const checks = requirement.keys.map((key) => ({ key, check: checkSignature(key, bytes, text) }));
  const valid = checks.find((c) => c.check === 'valid');
  if (valid !== undefined) return valid.key;
  if (checks.some((c) => c.check === 'malformed')) {
    const json = text.trimStart().startsWith('{')
      ? ' (it is JSON, perhaps a sigstore bundle; ecli reads the base64 signature that cosign sign-blob --output-signature writes)'
      : '';
    throw signatureError(
      `${subject}: malformed signature: ${signature.source} is not a base64 DER ECDSA signature${json}${required}`,
      'sign the file again with: ecli sign --key cosign.key <file>',
    );
  }
  throw signatureError(
    `${subject}: ${signature.source} is not a signature by ${keyNames(requirement.keys)} of these bytes: the file changed after it was signed, or another key signed it${required}`,
    'do not run it; check where the file and its signature came from',
  );
}

function keyNames(keys: readonly VerificationKey[]): string {
  return keys.map((k) => k.name).join(' or ');
}

function signatureError(message: string, hint: string): EcliError {
  return new EcliError('SIGNATURE', message, { hint });
}
