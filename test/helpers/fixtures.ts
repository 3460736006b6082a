/** The reference ecc packages (located by env.ts), decoded to meta + BTF without the package module. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { Btf } from '../../src/btf/btf.js';
import { BtfKind } from '../../src/btf/types.js';
import { findSection, parseElf } from '../../src/elf/elf.js';
import type { ComposedPackage, EunomiaObjectMeta } from '../../src/package/types.js';
import { fixturesDir } from './env.js';

export interface Fixture {
  meta: EunomiaObjectMeta;
  btf: Btf;
}

/** A reference package as parsed JSON (not validated): tests edit it to make broken packages. */
export function readFixturePackage(name: string): ComposedPackage {
  return JSON.parse(readFileSync(path.join(fixturesDir, name), 'utf8')) as ComposedPackage;
}

/** The BPF ELF of a reference package, inflated directly. */
export function fixtureElf(pkg: ComposedPackage): Buffer {
  return inflateSync(Buffer.from(pkg.bpf_object, 'base64'));
}

export function loadFixture(name: string): Fixture {
  const pkg = readFixturePackage(name);
  const elf = parseElf(fixtureElf(pkg));
  const section = findSection(elf, '.BTF');
  if (!section) throw new Error(`${name}: no .BTF section`);
  return { meta: pkg.meta, btf: Btf.parse(section.data) };
}

/** The key and value type ids of a BTF-defined map, as the kernel reports them (`__type` pointees). */
export function mapTypeIds(btf: Btf, mapName: string): { key: number; value: number } {
  const variable = btf.types.find((t) => t.kind === BtfKind.Var && t.name === mapName);
  if (!variable || variable.kind !== BtfKind.Var) throw new Error(`no map ${mapName}`);
  const def = btf.resolve(variable.type);
  if (def.kind !== BtfKind.Struct) throw new Error(`map ${mapName} is not a struct`);
  const pointee = (member: string): number => {
    const m = def.members.find((x) => x.name === member);
    const p = m && btf.type(m.type);
    if (!p || p.kind !== BtfKind.Ptr) throw new Error(`map ${mapName} has no ${member} type`);
    return p.type;
  };
  return { key: pointee('key'), value: pointee('value') };
}
