/**
 * The OCI image manifest of a Wasm module, as the reference's `ecli push` writes it, so that its
 * `ecli pull` (which accepts only layers of WASM_LAYER) and `ecli run <reference>` find it: one
 * layer that is the module byte for byte, a `{}` config of WASM_CONFIG, no artifactType, and the
 * module's file name as the manifest's title annotation. Pure.
 */
import { sha256Hex } from '../digest.js';
import { blobOf, type PackageArtifact } from './artifact.js';
import { OCI_MANIFEST, TITLE_ANNOTATION, WASM_CONFIG, WASM_LAYER } from './media-types.js';

const CONFIG_BYTES = new TextEncoder().encode('{}');

export function buildWasmArtifact(module: Uint8Array, fileName: string): PackageArtifact {
  const config = blobOf(CONFIG_BYTES, WASM_CONFIG);
  const layer = blobOf(module, WASM_LAYER);
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: config.descriptor,
      layers: [layer.descriptor],
      annotations: { [TITLE_ANNOTATION]: fileName },
    }),
  );
  return { config, layer, manifest, digest: `sha256:${sha256Hex(manifest)}` };
}
