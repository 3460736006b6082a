/** Media types of the OCI artifacts ecli pushes and pulls (and of those it recognises). */

/** The manifest's `artifactType`: an ecli package. */
export const PACKAGE_ARTIFACT_TYPE = 'application/vnd.ecli.package.v1';
/** The config blob's media type; its content is `{}`. */
export const PACKAGE_CONFIG_TYPE = 'application/vnd.ecli.package.config.v1+json';
export const PACKAGE_JSON_LAYER = 'application/vnd.ecli.package.v1+json';
export const PACKAGE_TAR_LAYER = 'application/vnd.ecli.package.v1.tar';
export const PACKAGE_TAR_GZIP_LAYER = 'application/vnd.ecli.package.v1.tar+gzip';
/** What the reference `ecli push` writes: a Wasm module, with a `{}` config of WASM_CONFIG. */
export const WASM_LAYER = 'application/vnd.wasm.content.layer.v1+wasm';
export const WASM_CONFIG = 'application/vnd.wasm.config.v1+json';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

export const PACKAGE_LAYERS = [PACKAGE_JSON_LAYER, PACKAGE_TAR_LAYER, PACKAGE_TAR_GZIP_LAYER];

export const TITLE_ANNOTATION = 'org.opencontainers.image.title';
export const VERSION_ANNOTATION = 'org.opencontainers.image.version';
export const DESCRIPTION_ANNOTATION = 'org.opencontainers.image.description';
