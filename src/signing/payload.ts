/**
 * The simple-signing payload cosign signs for a manifest: which manifest digest (critical.image)
 * under which repository name (critical.identity), typed "cosign container image signature". Pure.
 */
import { isObject } from '../inputs/registry/json.js';

export const SIGNATURE_TYPE = 'cosign container image signature';

export interface SignedClaim {
  /** `sha256:<hex>`: the manifest the signature is for. */
  digest: string;
  /** The repository the signer named, e.g. `ghcr.io/org/tool`. */
  dockerReference: string;
}

/** The payload bytes, laid out as cosign writes them (its keys in this order, `optional` null). */
export function buildPayload(claim: SignedClaim): Uint8Array {
  const payload = {
    critical: { identity: { 'docker-reference': claim.dockerReference }, image: { 'docker-manifest-digest': claim.digest }, type: SIGNATURE_TYPE },
    optional: null,
  };
  return new TextEncoder().encode(JSON.stringify(payload));
}

/** The claim in payload bytes, or why they are not a cosign simple-signing payload. */
export function parsePayload(bytes: Uint8Array): SignedClaim | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return { problem: 'its payload is not JSON' };
  }
  const critical = isObject(value) ? value.critical : undefined;
  if (!isObject(critical)) return { problem: 'its payload has no "critical" object' };
  if (critical.type !== SIGNATURE_TYPE) return { problem: `its payload's critical.type is ${JSON.stringify(critical.type)}, not "${SIGNATURE_TYPE}"` };
  const digest = isObject(critical.image) ? critical.image['docker-manifest-digest'] : undefined;
  if (typeof digest !== 'string') return { problem: "its payload has no critical.image['docker-manifest-digest']" };
  const reference = isObject(critical.identity) ? critical.identity['docker-reference'] : undefined;
  return { digest, dockerReference: typeof reference === 'string' ? reference : '' };
}
