/** Where the wasm-bpf guest SDK header (sdk/wasm/libbpf-wasm.h) is, in the repository and in the npm package. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EcliError } from '../errors.js';

const SDK_HEADER = join('sdk', 'wasm', 'libbpf-wasm.h');
/** dist/src/compiler/ (tsc's output) and dist/bundle/ (the bundle) are three and two levels below the root. */
const MAX_LEVELS = 4;

export function wasmSdkHeaderPath(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (let level = 0; level <= MAX_LEVELS; level++) {
    const candidate = join(dir, SDK_HEADER);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new EcliError('TOOL_MISSING', `${SDK_HEADER} is missing from the installation of ecc`, {
    hint: 'reinstall ecli-ts (the npm package ships sdk/)',
  });
}
