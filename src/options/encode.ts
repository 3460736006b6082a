/**
 * Writes option values into a data section's initial image (the bytes given to
 * `bpf_map__set_initial_value`), each at its variable's offset and in its BTF type's encoding:
 * integers, enums and floats little-endian, bools as one byte 0/1, strings NUL-padded.
 */
import type { Btf } from '../btf/btf.js';
import type { DataSectionLayout } from '../btf/layout.js';
import { EcliError } from '../errors.js';
import { checkValue, type OptionValue } from './value.js';
import { valueTypeFromBtf, type ValueType } from './value-type.js';

/**
 * A copy of `layout.initial` with every value of `values` (keyed by variable name) that names a
 * non-static variable of this section written in. Variables without a value keep their bytes.
 */
export function writeOptionValues(btf: Btf, layout: DataSectionLayout, values: ReadonlyMap<string, OptionValue>): Uint8Array {
  const image = layout.initial.slice();
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  for (const variable of layout.variables) {
    const value = values.get(variable.name);
    if (value === undefined || variable.isStatic) continue;
    const typeName = btf.typeName(variable.typeId);
    const type = valueTypeFromBtf(btf, variable.typeId);
    if (!type) {
      throw new EcliError('OPTION_INVALID', `variable ${variable.name} in ${layout.name}: variables of type ${typeName} cannot be set`);
    }
    const checked = checkValue(type, typeName, value);
    if (!checked.ok) throw new EcliError('OPTION_INVALID', `variable ${variable.name} in ${layout.name}: ${checked.problem}`);
    encode(view, variable.offset, type, checked.value);
  }
  return image;
}

/** `value` has already been checked against `type`. */
function encode(view: DataView, offset: number, type: ValueType, value: OptionValue): void {
  switch (type.kind) {
    case 'int': {
      let bits = BigInt.asUintN(type.size * 8, value as bigint);
      for (let i = 0; i < type.size; i++, bits >>= 8n) view.setUint8(offset + i, Number(bits & 0xffn));
      return;
    }
    case 'bool':
      view.setUint8(offset, value ? 1 : 0);
      return;
    case 'float':
      if (type.size === 4) view.setFloat32(offset, value as number, true);
      else view.setFloat64(offset, value as number, true);
      return;
    case 'string': {
      const bytes = new TextEncoder().encode(value as string);
      const target = new Uint8Array(view.buffer, view.byteOffset + offset, type.size);
      target.fill(0);
      target.set(bytes);
      return;
    }
  }
}
