/**
 * Where cosign keeps the signatures of a manifest in registries without the referrers API: the
 * tag `sha256-<hex>.sig` of the same repository, an OCI image manifest with one layer per
 * signature. Each layer is a simple-signing payload (media type
 * `application/vnd.dev.cosign.simplesigning.v1+json`) whose annotation
 * `dev.cosignproject.cosign/signature` holds the base64 signature over the payload's bytes. Pure.
 */
import { EcliError } from '../errors.js';
import { blobOf, type Blob, type Descriptor } from '../inputs/registry/artifact.js';
import { isObject } from '../inputs/registry/json.js';
import { DOCKER_MANIFEST, OCI_MANIFEST } from '../inputs/registry/media-types.js';

export const SIMPLE_SIGNING_LAYER = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
const IMAGE_CONFIG = 'application/vnd.oci.image.config.v1+json';
/** cosign refuses signature manifests with more layers than this; so does ecli. */
export const MAX_SIGNATURES = 1000;
const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface SignatureManifest {
  manifest: Uint8Array;
  config: Blob;
}

/** `sha256-<hex>.sig`: the tag of the signatures of manifest `digest`. */
export function signatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}

/** The manifest listing `layers` (the signatures kept, then new ones), with an image config naming them. */
export function buildSignatureManifest(layers: readonly Descriptor[]): SignatureManifest {
  const config = blobOf(
    new TextEncoder().encode(JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } })),
    IMAGE_CONFIG,
  );
  const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: config.descriptor, layers };
  return { manifest: new TextEncoder().encode(JSON.stringify(manifest)), config };
}

/**
 * The layers of a signature manifest, in order (other media types too: they are kept when a
 * signature is added). A manifest that is not an image manifest is a SIGNATURE error.
 */
export function parseSignatureManifest(bytes: Uint8Array, source: string): Descriptor[] {
  const fail = (what: string): never => {
    throw new EcliError('SIGNATURE', `the signatures of ${source} are malformed: ${what}`, {
      hint: 'the .sig tag was not written by cosign or ecli sign; remove it and sign again',
    });
  };
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return fail('the manifest is not JSON');
  }
  if (!isObject(value) || value.schemaVersion !== 2) return fail('it is not an image manifest with schemaVersion 2');
  if (value.mediaType !== undefined && value.mediaType !== OCI_MANIFEST && value.mediaType !== DOCKER_MANIFEST) {
    return fail(`the manifest has media type ${JSON.stringify(value.mediaType)}`);
  }
  if (!Array.isArray(value.layers)) return fail('the manifest has no layers');
  if (value.layers.length > MAX_SIGNATURES) return fail(`the manifest has ${value.layers.length} layers, more than ${MAX_SIGNATURES}`);
  return value.layers.map((layer, i) => {
    if (!isObject(layer)) return fail(`layer ${i} is not an object`);
    const { mediaType, digest, size, annotations } = layer;
    if (typeof mediaType !== 'string' || typeof digest !== 'string' || !SHA256_DIGEST.test(digest))
      return fail(`layer ${i} has no media type or sha256 digest`);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return fail(`layer ${i} has no valid size`);
    const descriptor: Descriptor = { mediaType, digest, size };
    if (isObject(annotations)) {
      descriptor.annotations = Object.fromEntries(Object.entries(annotations).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    }
    return descriptor;
  });
}
