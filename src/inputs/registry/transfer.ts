/** Push a package artifact to a registry; pull the package layer of one. */
import { blobExists, getBlob, getManifest, putManifest, uploadBlob } from './api.js';
import { packageLayer, pulledFileName, type Blob, type Descriptor, type PackageArtifact } from './artifact.js';
import { RegistryClient, type ClientOptions } from './client.js';
import { OCI_MANIFEST } from './media-types.js';
import { formatReference, type RegistryReference } from './reference.js';

export interface PushOptions extends ClientOptions {
  /** Upload blobs in PATCH requests of this many bytes instead of one PUT. */
  chunkSize?: number;
  /** Told about each blob: uploaded, or already in the registry. */
  onBlob?: (blob: Descriptor, uploaded: boolean) => void;
}

export interface PulledPackage {
  /** The manifest's digest: what `host/repo@<digest>` pins. */
  digest: string;
  layer: Descriptor;
  bytes: Uint8Array;
  /** `<repository>.<extension of the layer's media type>`: see pulledFileName. */
  fileName: string;
}

export async function pushArtifact(ref: RegistryReference, artifact: PackageArtifact, options: PushOptions = {}): Promise<void> {
  const client = await RegistryClient.connect(ref.registry, ref.repository, 'push', options);
  for (const blob of [artifact.config, artifact.layer]) await pushBlob(client, ref, blob, options);
  await putManifest(client, ref, artifact.manifest, OCI_MANIFEST, artifact.digest);
}

/** An existing blob (HEAD answers 200) is not uploaded again. */
async function pushBlob(client: RegistryClient, ref: RegistryReference, blob: Blob, options: PushOptions): Promise<void> {
  const present = await blobExists(client, ref, blob.descriptor.digest);
  if (!present) await uploadBlob(client, ref, blob.bytes, blob.descriptor.digest, options.chunkSize);
  options.onBlob?.(blob.descriptor, !present);
}

export interface PullOptions extends ClientOptions {
  /** Runs once the manifest is fetched (its digest checked), before its layers are read or fetched. */
  checkManifest?: (client: RegistryClient, digest: string) => Promise<void>;
  /** Runs once the package layer and the file name it gets are known, before the layer is downloaded: pull checks its destination there. */
  beforeDownload?: (fileName: string) => void;
}

export async function pullPackage(ref: RegistryReference, maxBytes: number, options: PullOptions = {}): Promise<PulledPackage> {
  const client = await RegistryClient.connect(ref.registry, ref.repository, 'pull', options);
  const manifest = await getManifest(client, ref);
  await options.checkManifest?.(client, manifest.digest);
  const layer = packageLayer(manifest.bytes, formatReference(ref));
  const fileName = pulledFileName(ref.repository, layer);
  options.beforeDownload?.(fileName);
  const bytes = await getBlob(client, ref, layer, maxBytes);
  return { digest: manifest.digest, layer, bytes, fileName };
}
