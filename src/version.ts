/** ecli-ts's own name and version, read once from the repository's package.json (ecli -V, ecc -V, pack manifests). */
import { readFileSync } from 'node:fs';

// Read at run time (this file runs as dist/src/version.js); a JSON import would make tsc copy
// package.json into dist/, where it could go stale.
const ourPackage = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };

export const TOOL_NAME: string = ourPackage.name;
export const TOOL_VERSION: string = ourPackage.version;
