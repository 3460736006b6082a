/** A minimal valid package (header-only BPF ELF, empty meta) for tests that need no real object. */
import { encodeBpfObject } from '../../src/package/codec.js';

const EM_BPF = 247;

export function minimalBpfElf(): Uint8Array {
  const bytes = new Uint8Array(64);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  new DataView(bytes.buffer).setUint16(18, EM_BPF, true);
  return bytes;
}

export function syntheticPackageText(objName = 'demo_bpf', doc?: Record<string, string>): string {
  return JSON.stringify({
    ...encodeBpfObject(minimalBpfElf()),
    meta: {
      bpf_skel: { obj_name: objName, data_sections: [], maps: [], progs: [], ...(doc === undefined ? {} : { doc }) },
      export_types: [],
    },
  });
}
