/**
 * Reading and writing the `sha256-<hex>.sig` tag of a manifest through the registry client's
 * session (the same credentials, the same repository). Adding a signature keeps the ones there.
 */
import { EcliError } from '../errors.js';
import { blobExists, getBlob, getManifest, putManifest, uploadBlob } from '../inputs/registry/api.js';
import { blobOf, type Blob, type Descriptor } from '../inputs/registry/artifact.js';
import type { RegistryClient } from '../inputs/registry/client.js';
import { OCI_MANIFEST } from '../inputs/registry/media-types.js';
import { formatReference, type RegistryReference } from '../inputs/registry/reference.js';
import type { SigningKey } from './keys.js';
import { buildPayload } from './payload.js';
import { checkSignature, signBytes } from './signature.js';
import { buildSignatureManifest, parseSignatureManifest, signatureTag, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_LAYER } from './signature-manifest.js';
import type { FoundSignature } from './verify.js';

/** A simple-signing payload is a few hundred bytes; larger layers are not read. */
const MAX_PAYLOAD_BYTES = 256 * 1024;
/**
 * All the payloads of one .sig manifest together: a thousand real signatures take well under a
 * MiB. A registry listing a thousand 256 KiB layers would otherwise have ecli fetch and hold
 * 256 MiB before it finds that none checks.
 */
const MAX_PAYLOADS_BYTES = 4 * 1024 * 1024;

export interface SignatureLocation {
  /** The repository the manifest is in: its signatures are beside it. */
  repository: RegistryReference;
  digest: string;
}

/** `host/repo:sha256-<hex>.sig` */
export function signatureReference(at: SignatureLocation): RegistryReference {
  return { registry: at.repository.registry, repository: at.repository.repository, tag: signatureTag(at.digest) };
}

/**
 * The signatures stored for the manifest (none when the .sig tag does not exist), payloads read:
 * each distinct payload once (the signers of one manifest sign the same payload), and no more
 * than MAX_PAYLOADS_BYTES of them in all.
 */
export async function readSignatures(client: RegistryClient, at: SignatureLocation): Promise<FoundSignature[]> {
  const layers = await readSignatureLayers(client, at);
  const found: FoundSignature[] = [];
  const payloads = new Map<string, FoundSignature['payload']>();
  let budget = MAX_PAYLOADS_BYTES;
  for (const layer of layers ?? []) {
    if (layer.mediaType !== SIMPLE_SIGNING_LAYER) continue;
    let payload = payloads.get(layer.digest);
    if (payload === undefined && layer.size > budget) {
      payload = { problem: `its payload was not read: the payloads of this .sig manifest pass ${MAX_PAYLOADS_BYTES} bytes in all` };
    } else if (payload === undefined) {
      budget -= layer.size;
      payload = await readPayload(client, at, layer);
      payloads.set(layer.digest, payload);
    }
    found.push({ payload, signature: layer.annotations?.[SIGNATURE_ANNOTATION] });
  }
  return found;
}

export interface AddedSignature {
  /** False when the same key had already signed this manifest: nothing was written. */
  added: boolean;
  /** Simple-signing layers in the .sig manifest now. */
  count: number;
  reference: RegistryReference;
}

/**
 * Signs the manifest `at.digest` with `key` and stores the signature under its .sig tag, after
 * the ones there (`client` must have push access). The payload names `dockerReference`.
 */
export async function addSignature(client: RegistryClient, at: SignatureLocation, key: SigningKey): Promise<AddedSignature> {
  const reference = signatureReference(at);
  const kept = (await readSignatureLayers(client, at)) ?? [];
  const payload = buildPayload({ digest: at.digest, dockerReference: `${at.repository.registry}/${at.repository.repository}` });
  const unsigned = blobOf(payload, SIMPLE_SIGNING_LAYER);
  const count = kept.filter((l) => l.mediaType === SIMPLE_SIGNING_LAYER).length;
  // Same payload (same digest) and a signature this key made: signing again would only add a copy.
  const already = kept.some((layer) => {
    const signature = layer.annotations?.[SIGNATURE_ANNOTATION];
    return layer.digest === unsigned.descriptor.digest && signature !== undefined && checkSignature(key.publicKey, payload, signature) === 'valid';
  });
  if (already) return { added: false, count, reference };
  const layer: Descriptor = { ...unsigned.descriptor, annotations: { [SIGNATURE_ANNOTATION]: signBytes(key.privateKey, payload) } };
  const built = buildSignatureManifest([...kept, layer]);
  await uploadMissing(client, reference, unsigned);
  await uploadMissing(client, reference, built.config);
  await putManifest(client, reference, built.manifest, OCI_MANIFEST, blobOf(built.manifest, OCI_MANIFEST).descriptor.digest);
  return { added: true, count: count + 1, reference };
}

/** The layers of the .sig manifest, or undefined when the tag does not exist. */
async function readSignatureLayers(client: RegistryClient, at: SignatureLocation): Promise<Descriptor[] | undefined> {
  const reference = signatureReference(at);
  let manifest;
  try {
    manifest = await getManifest(client, reference);
  } catch (error) {
    if (error instanceof EcliError && error.code === 'INPUT_NOT_FOUND') return undefined;
    throw error;
  }
  return parseSignatureManifest(manifest.bytes, formatReference({ ...at.repository, digest: at.digest }));
}

async function readPayload(client: RegistryClient, at: SignatureLocation, layer: Descriptor): Promise<Uint8Array | { problem: string }> {
  if (layer.size > MAX_PAYLOAD_BYTES) return { problem: `its payload is ${layer.size} bytes, more than the ${MAX_PAYLOAD_BYTES} byte limit` };
  try {
    return await getBlob(client, signatureReference(at), layer, MAX_PAYLOAD_BYTES);
  } catch (error) {
    if (error instanceof EcliError && error.code === 'INPUT_NOT_FOUND') return { problem: `the registry has no payload blob ${layer.digest}` };
    throw error;
  }
}

async function uploadMissing(client: RegistryClient, reference: RegistryReference, blob: Blob): Promise<void> {
  if (!(await blobExists(client, reference, blob.descriptor.digest))) await uploadBlob(client, reference, blob.bytes, blob.descriptor.digest);
}
