/** The OCI image manifest of a package artifact or a Wasm module: building it for push, reading it after pull. Pure. */
import { EcliError } from '../../errors.js';
import { isObject } from './json.js';
import { sha256Hex } from '../digest.js';
import {
  DESCRIPTION_ANNOTATION,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_INDEX,
  OCI_MANIFEST,
  PACKAGE_ARTIFACT_TYPE,
  PACKAGE_CONFIG_TYPE,
  PACKAGE_JSON_LAYER,
  PACKAGE_LAYERS,
  PACKAGE_TAR_GZIP_LAYER,
  PACKAGE_TAR_LAYER,
  TITLE_ANNOTATION,
  VERSION_ANNOTATION,
  WASM_CONFIG,
  WASM_LAYER,
} from './media-types.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface Blob {
  descriptor: Descriptor;
  bytes: Uint8Array;
}

export interface PackageArtifact {
  config: Blob;
  layer: Blob;
  /** The manifest exactly as it is uploaded; its sha256 is the artifact's digest. */
  manifest: Uint8Array;
  digest: string;
}

export interface ArtifactInfo {
  name: string;
  version: string;
  description?: string;
}

export type PackageFileKind = 'json' | 'tar' | 'tar.gz';

const LAYER_TYPES: Record<PackageFileKind, string> = {
  json: PACKAGE_JSON_LAYER,
  tar: PACKAGE_TAR_LAYER,
  'tar.gz': PACKAGE_TAR_GZIP_LAYER,
};
/** The config blob's bytes of a package artifact and of a Wasm module's: an empty JSON object. */
const EMPTY_CONFIG_BYTES = new TextEncoder().encode('{}');
const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;

export function blobOf(bytes: Uint8Array, mediaType: string, annotations?: Record<string, string>): Blob {
  const descriptor: Descriptor = { mediaType, digest: `sha256:${sha256Hex(bytes)}`, size: bytes.length };
  return { descriptor: annotations === undefined ? descriptor : { ...descriptor, annotations }, bytes };
}

/**
 * One layer that is the package file byte for byte, a `{}` config of our own media type, and
 * the package's name, version and description as annotations. No timestamp: pushing the same
 * package twice gives the same digest.
 */
export function buildArtifact(file: Uint8Array, kind: PackageFileKind, fileName: string, info: ArtifactInfo): PackageArtifact {
  const annotations: Record<string, string> = { [TITLE_ANNOTATION]: info.name, [VERSION_ANNOTATION]: info.version };
  if (info.description !== undefined) annotations[DESCRIPTION_ANNOTATION] = info.description;
  return oneLayerArtifact(blobOf(EMPTY_CONFIG_BYTES, PACKAGE_CONFIG_TYPE), blobOf(file, LAYER_TYPES[kind], { [TITLE_ANNOTATION]: fileName }), {
    artifactType: PACKAGE_ARTIFACT_TYPE,
    annotations,
  });
}

/**
 * A Wasm module as the reference's `ecli push` writes it, so that its `ecli pull` (which accepts
 * only layers of WASM_LAYER) and `ecli run <reference>` find it: one layer that is the module byte
 * for byte, a `{}` config of WASM_CONFIG, no artifactType, and the module's file name as the
 * manifest's title annotation.
 */
export function buildWasmArtifact(module: Uint8Array, fileName: string): PackageArtifact {
  return oneLayerArtifact(blobOf(EMPTY_CONFIG_BYTES, WASM_CONFIG), blobOf(module, WASM_LAYER), { annotations: { [TITLE_ANNOTATION]: fileName } });
}

/** The OCI image manifest of `config` and the one `layer` (with an artifactType when given), and its digest. */
function oneLayerArtifact(config: Blob, layer: Blob, fields: { artifactType?: string; annotations: Record<string, string> }): PackageArtifact {
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      ...(fields.artifactType === undefined ? {} : { artifactType: fields.artifactType }),
      config: config.descriptor,
      layers: [layer.descriptor],
      annotations: fields.annotations,
    }),
  );
  return { config, layer, manifest, digest: `sha256:${sha256Hex(manifest)}` };
}

/**
 * The layer that holds the package: one of our media types, else the reference's Wasm layer,
 * else the only layer (its content tells what it is). PACKAGE_INVALID for anything else.
 */
export function packageLayer(manifestBytes: Uint8Array, source: string): Descriptor {
  const fail = (what: string): never => {
    throw new EcliError('PACKAGE_INVALID', `${source} is not an ecli package: ${what}`, {
      hint: 'push a package with: ecli push <package.json | package.tar.gz> <reference>',
    });
  };
  let manifest: unknown;
  try {
    manifest = JSON.parse(Buffer.from(manifestBytes).toString('utf8'));
  } catch {
    return fail('its manifest is not JSON');
  }
  if (!isObject(manifest)) return fail('its manifest is not a JSON object');
  const mediaType = manifest.mediaType;
  if (mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST || Array.isArray(manifest.manifests)) {
    return fail('it is an image index (a list of manifests, e.g. one per platform), not a single artifact');
  }
  if (manifest.schemaVersion !== 2) return fail('its manifest is not an image manifest with schemaVersion 2');
  if (mediaType !== undefined && mediaType !== OCI_MANIFEST && mediaType !== DOCKER_MANIFEST) {
    return fail(`its manifest has media type ${JSON.stringify(mediaType)}`);
  }
  if (!Array.isArray(manifest.layers) || manifest.layers.length === 0) return fail('its manifest has no layers');
  const layers = manifest.layers.map((layer, i) => descriptorAt(layer, `layer ${i}`, fail));
  const chosen =
    layers.find((layer) => PACKAGE_LAYERS.includes(layer.mediaType)) ??
    layers.find((layer) => layer.mediaType === WASM_LAYER) ??
    (layers.length === 1 ? layers[0] : undefined);
  if (chosen === undefined) {
    return fail(`none of its ${layers.length} layers is a package (media types ${[...new Set(layers.map((l) => l.mediaType))].join(', ')})`);
  }
  return chosen;
}

/**
 * The file name `ecli pull` writes (and `ecli run` types a pulled package by): the repository's
 * last component, which the user typed, with the extension of the layer's media type
 * (`tools/execsnoop` → `execsnoop.json`). The layer's title annotation is not used: the registry
 * does not choose names in the user's folder (package.json, Makefile, a tool's config file).
 */
export function pulledFileName(repository: string, layer: Descriptor): string {
  const base = pulledFileStem(repository);
  const extension = extensionOf(layer.mediaType);
  return base.endsWith(extension) ? base : `${base}${extension}`;
}

/** What pulledFileName starts with whatever the layer: the repository's last component, known before the manifest. */
export function pulledFileStem(repository: string): string {
  return repository.slice(repository.lastIndexOf('/') + 1);
}

function extensionOf(mediaType: string): string {
  if (mediaType === WASM_LAYER || mediaType.endsWith('+wasm')) return '.wasm';
  if (mediaType.endsWith('+json')) return '.json';
  if (/tar\+gzip$|tar\.gzip$/.test(mediaType)) return '.tar.gz';
  if (mediaType.endsWith('.tar')) return '.tar';
  return '';
}

function descriptorAt(value: unknown, where: string, fail: (what: string) => never): Descriptor {
  if (!isObject(value)) return fail(`${where} is not an object`);
  const { mediaType, digest, size, annotations } = value;
  if (typeof mediaType !== 'string') return fail(`${where} has no mediaType`);
  if (typeof digest !== 'string' || !SHA256_DIGEST.test(digest)) return fail(`${where} has no sha256 digest (${JSON.stringify(digest)})`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return fail(`${where} has no valid size`);
  const descriptor: Descriptor = { mediaType, digest, size };
  if (isObject(annotations)) {
    descriptor.annotations = Object.fromEntries(Object.entries(annotations).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  }
  return descriptor;
}
