/** The distribution API calls ecli needs: manifests by tag or digest, blobs (HEAD, GET, upload). */
import { EcliError } from '../../errors.js';
import { sha256Hex } from '../digest.js';
import type { Descriptor } from './artifact.js';
import type { RegistryClient, RegistryResponse } from './client.js';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST } from './media-types.js';
import { formatReference, manifestReference, type RegistryReference } from './reference.js';

export interface FetchedManifest {
  bytes: Uint8Array;
  /** sha256 of the bytes, checked against the reference's digest (and the registry's header). */
  digest: string;
}

/** Registries must accept manifests of 4 MiB; nothing larger is read. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const ACCEPT_MANIFESTS = [OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_LIST].join(', ');

export async function getManifest(client: RegistryClient, ref: RegistryReference): Promise<FetchedManifest> {
  const name = formatReference(ref);
  const response = await client.send(
    `/v2/${ref.repository}/manifests/${manifestReference(ref)}`,
    { headers: { accept: ACCEPT_MANIFESTS }, maxBytes: MAX_MANIFEST_BYTES },
    `pulling ${name}`,
  );
  if (response.status === 404) throw notFound(ref, response);
  expectStatus(response, [200], `GET manifest of ${name}`);
  const digest = `sha256:${sha256Hex(response.bytes)}`;
  if (ref.digest !== undefined && digest !== ref.digest) {
    throw new EcliError('INTEGRITY', `${name}: the registry sent a manifest whose digest is ${digest}`, {
      hint: 'the registry or something between it and you altered the manifest; do not run it',
    });
  }
  const claimed = response.headers.get('docker-content-digest');
  if (claimed !== null && claimed.startsWith('sha256:') && claimed !== digest) {
    throw new EcliError('INTEGRITY', `${name}: the registry says the manifest is ${claimed}, but its bytes are ${digest}`, {
      hint: 'the registry or something between it and you altered the manifest; do not run it',
    });
  }
  return { bytes: response.bytes, digest };
}

/** GET a blob, checking its size and digest against the descriptor. */
export async function getBlob(client: RegistryClient, ref: RegistryReference, blob: Descriptor, maxBytes: number): Promise<Uint8Array> {
  const name = formatReference(ref);
  if (blob.size > maxBytes) {
    throw new EcliError('PACKAGE_INVALID', `${name}: its layer is ${blob.size} bytes, more than the ${maxBytes} byte limit for a package`);
  }
  let response: RegistryResponse;
  try {
    response = await client.send(`/v2/${ref.repository}/blobs/${blob.digest}`, { maxBytes: blob.size }, `pulling ${name}`);
  } catch (error) {
    if (error instanceof EcliError && /larger than the \d+ byte limit/.test(error.message)) throw sizeMismatch(name, blob, 'more');
    throw error;
  }
  if (response.status === 404) {
    throw new EcliError('INPUT_NOT_FOUND', `${name}: the registry has no blob ${blob.digest}, which the manifest names`, {
      hint: 'push the package again',
    });
  }
  expectStatus(response, [200], `GET blob ${blob.digest} of ${name}`);
  if (response.bytes.length !== blob.size) throw sizeMismatch(name, blob, `${response.bytes.length}`);
  const digest = `sha256:${sha256Hex(response.bytes)}`;
  if (digest !== blob.digest) {
    throw new EcliError('INTEGRITY', `${name}: blob ${blob.digest} arrived with digest ${digest}`, {
      hint: "the registry's copy is damaged or was altered; push the package again",
    });
  }
  return response.bytes;
}

export async function blobExists(client: RegistryClient, ref: RegistryReference, digest: string): Promise<boolean> {
  const response = await client.send(`/v2/${ref.repository}/blobs/${digest}`, { method: 'HEAD' }, `pushing to ${formatReference(ref)}`);
  if (response.status === 404) return false;
  expectStatus(response, [200], `HEAD blob ${digest}`);
  return true;
}

/**
 * POST an upload session, then either one PUT with the whole blob (monolithic) or PATCHes of
 * `chunkSize` bytes (at least the registry's `OCI-Chunk-Min-Length`) closed by a PUT.
 */
export async function uploadBlob(client: RegistryClient, ref: RegistryReference, bytes: Uint8Array, digest: string, chunkSize?: number): Promise<void> {
  const what = `pushing to ${formatReference(ref)}`;
  const started = await client.send(`/v2/${ref.repository}/blobs/uploads/`, { method: 'POST', headers: { 'content-length': '0' } }, what);
  expectStatus(started, [202], `POST /v2/${ref.repository}/blobs/uploads/`);
  let location = uploadLocation(client, started);
  const minimum = Number(started.headers.get('oci-chunk-min-length') ?? 0);
  const chunk = chunkSize === undefined ? bytes.length : Math.max(chunkSize, Number.isSafeInteger(minimum) ? minimum : 0, 1);
  let body: Uint8Array = bytes;
  if (chunk < bytes.length) {
    for (let start = 0; start < bytes.length; start += chunk) {
      const part = bytes.subarray(start, Math.min(start + chunk, bytes.length));
      const patched = await client.send(
        location,
        { method: 'PATCH', headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${start + part.length - 1}` }, body: part },
        what,
      );
      expectStatus(patched, [202], `PATCH upload of ${digest} at byte ${start}`);
      location = uploadLocation(client, patched);
    }
    body = new Uint8Array(0);
  }
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  const finished = await client.send(url.href, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body }, what);
  expectStatus(finished, [201], `PUT upload of ${digest}`);
}

export async function putManifest(client: RegistryClient, ref: RegistryReference, manifest: Uint8Array, mediaType: string, digest: string): Promise<void> {
  const name = formatReference(ref);
  const response = await client.send(
    `/v2/${ref.repository}/manifests/${manifestReference(ref)}`,
    { method: 'PUT', headers: { 'content-type': mediaType }, body: manifest },
    `pushing ${name}`,
  );
  expectStatus(response, [201], `PUT manifest of ${name}`);
  const stored = response.headers.get('docker-content-digest');
  if (stored !== null && stored !== digest) {
    throw new EcliError('INTEGRITY', `${name}: the registry stored the manifest as ${stored}, not ${digest}`, {
      hint: 'the registry rewrote the manifest; pull it by tag to see what it holds',
    });
  }
}

/** The absolute URL of an upload session; it must stay on http(s) at the registry's scheme or better. */
function uploadLocation(client: RegistryClient, response: RegistryResponse): string {
  const location = response.headers.get('location');
  if (location === null) throw new EcliError('NETWORK', `${client.registry} started an upload without a Location header`);
  const url = new URL(location, client.base);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && client.base.startsWith('http:'))) {
    throw new EcliError('NETWORK', `${client.registry} sent the upload to ${url.protocol}//${url.host}, refused`);
  }
  return url.href;
}

function notFound(ref: RegistryReference, response: RegistryResponse): EcliError {
  const name = formatReference(ref);
  const unknownRepository = response.errorCodes.includes('NAME_UNKNOWN');
  const what = unknownRepository
    ? `${ref.registry} has no repository ${ref.repository}`
    : ref.digest !== undefined
      ? `${ref.registry}/${ref.repository} has no manifest ${ref.digest}`
      : `${ref.registry}/${ref.repository} has no tag ${manifestReference(ref)}`;
  return new EcliError('INPUT_NOT_FOUND', `cannot pull ${name}: ${what}${response.errorText === undefined ? '' : ` (${response.errorText})`}`, {
    hint: unknownRepository ? 'check the repository name, or push to it first' : 'check the tag or digest; tags are case-sensitive',
  });
}

function expectStatus(response: RegistryResponse, statuses: number[], what: string): void {
  if (statuses.includes(response.status)) return;
  const detail = response.errorText === undefined ? '' : ` (${response.errorText})`;
  throw new EcliError('NETWORK', `${what}: the registry answered HTTP ${response.status}${detail}`);
}

function sizeMismatch(name: string, blob: Descriptor, got: string): EcliError {
  return new EcliError('INTEGRITY', `${name}: blob ${blob.digest} should be ${blob.size} bytes, the registry sent ${got}`, {
    hint: "the registry's copy is damaged or was altered; push the package again",
  });
}
