/**
 * The initial values of option variables as the object holds them (the C initialiser of a
 * `.rodata`/`.data` global, 0 for `.bss`): what a program gets when its option is not given and
 * has no `@cmdarg` default. Shown by the package's --help and by `ecli inspect`.
 */
import type { DataSectionLayout } from '../btf/layout.js';
import type { OptionSpec } from './spec.js';
import type { OptionValue } from './value.js';
import type { ValueType } from './value-type.js';

/** The value of `type` stored at `offset` in `image`. */
export function readOptionValue(type: ValueType, image: Uint8Array, offset: number): OptionValue {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  switch (type.kind) {
    case 'int': {
      let bits = 0n;
      for (let i = type.size - 1; i >= 0; i--) bits = (bits << 8n) | BigInt(view.getUint8(offset + i));
      return type.signed ? BigInt.asIntN(type.size * 8, bits) : bits;
    }
    case 'bool':
      return view.getUint8(offset) !== 0;
    case 'float':
      return type.size === 4 ? view.getFloat32(offset, true) : view.getFloat64(offset, true);
    case 'string': {
      const bytes = image.subarray(offset, offset + type.size);
      const end = bytes.indexOf(0);
      return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
    }
  }
}

/** A value as a user would type it: an enum by its enumerator's name, a string as it is. */
export function optionValueText(type: ValueType, value: OptionValue): string {
  if (type.kind === 'int') {
    const named = type.enumerators.find((e) => e.value === value);
    if (named) return named.name;
  }
  if (type.kind === 'string') return JSON.stringify(value);
  return String(value);
}

/** `specs` with each variable's initial value read from its section's image (when the object has one). */
export function withInitialValues(specs: readonly OptionSpec[], layouts: readonly DataSectionLayout[]): OptionSpec[] {
  return specs.map((spec) => {
    const layout = layouts.find((l) => l.name === spec.section);
    const variable = layout?.variables.find((v) => v.name === spec.variable && !v.isStatic);
    if (!layout || !variable) return spec;
    return { ...spec, initial: readOptionValue(spec.valueType, layout.initial, variable.offset) };
  });
}
