/**
 * Option values: converting command-line text and meta JSON into typed values, with the range
 * checks of the variable's type. Problems come back as text so that each caller can say where
 * the value came from (`option --x: ...`, `variable x: default ...`).
 */
import type { ValueType } from './value-type.js';

/** bigint for integers and enums, number for floats, boolean for bools, string for char arrays. */
export type OptionValue = bigint | number | boolean | string;

export type Checked = { ok: true; value: OptionValue } | { ok: false; problem: string };

const ok = (value: OptionValue): Checked => ({ ok: true, value });
const fail = (problem: string): Checked => ({ ok: false, problem });

const INTEGER_TEXT = /^([+-]?)(0[xX][0-9a-fA-F]+|[0-9]+)$/;
const FLOAT_TEXT = /^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$/;
const FLOAT_SPECIAL = /^([+-]?)(inf|infinity|nan)$/i;

function integerRange(size: number, signed: boolean): { min: bigint; max: bigint } {
  const bits = BigInt(size * 8);
  return signed ? { min: -(1n << (bits - 1n)), max: (1n << (bits - 1n)) - 1n } : { min: 0n, max: (1n << bits) - 1n };
}

/**
 * The type as shown in messages: `pid_t (int, 4 bytes, -2147483648..2147483647)`; `typeName`
 * is the variable's own spelling (the meta type string or the BTF name).
 */
export function describeType(type: ValueType, typeName: string): string {
  switch (type.kind) {
    case 'int': {
      const { min, max } = integerRange(type.size, type.signed);
      const underlying = type.cName === typeName ? '' : `${type.cName}, `;
      return `${typeName} (${underlying}${type.size} byte${type.size === 1 ? '' : 's'}, ${min}..${max})`;
    }
    case 'float':
      return `${typeName} (${type.size}-byte floating point)`;
    case 'string':
      return `${typeName} (a string of at most ${type.size - 1} bytes)`;
    case 'bool':
      return typeName;
  }
}

/** Range-checks an already typed value against `type`. */
export function checkValue(type: ValueType, typeName: string, value: OptionValue): Checked {
  switch (type.kind) {
    case 'int': {
      if (typeof value !== 'bigint') return fail(`${show(value)} is not an integer, as ${typeName} needs`);
      const { min, max } = integerRange(type.size, type.signed);
      return value < min || value > max ? fail(`${value} does not fit ${describeType(type, typeName)}`) : ok(value);
    }
    case 'float':
      if (typeof value !== 'number') return fail(`${show(value)} is not a number, as ${typeName} needs`);
      if (type.size === 4 && Number.isFinite(value) && !Number.isFinite(Math.fround(value))) {
        return fail(`${value} does not fit ${describeType(type, typeName)}`);
      }
      return ok(value);
    case 'bool':
      return typeof value === 'boolean' ? ok(value) : fail(`${show(value)} is not true or false, as ${typeName} needs`);
    case 'string': {
      if (typeof value !== 'string') return fail(`${show(value)} is not a string, as ${typeName} needs`);
      const needed = new TextEncoder().encode(value).length + 1;
      if (needed > type.size) {
        return fail(`the string is too long for ${typeName}: with its terminating NUL it needs ${needed} bytes, the variable holds ${type.size}`);
      }
      return ok(value);
    }
  }
}

/** Parses command-line text: decimal or 0x-hex integers, enumerator names, decimal floats, strings. */
export function parseValueText(type: ValueType, typeName: string, text: string): Checked {
  switch (type.kind) {
    case 'int': {
      const enumerator = type.enumerators.find((e) => e.name === text);
      if (enumerator) return checkValue(type, typeName, enumerator.value);
      const match = INTEGER_TEXT.exec(text);
      if (!match) {
        const names = type.enumerators.length > 0 ? ` or one of ${type.enumerators.map((e) => e.name).join(', ')}` : '';
        return fail(`'${text}' is not a valid ${typeName}: expected a decimal or 0x-prefixed hex integer${names}`);
      }
      const magnitude = BigInt(match[2]!);
      return checkValue(type, typeName, match[1] === '-' ? -magnitude : magnitude);
    }
    case 'float': {
      const special = FLOAT_SPECIAL.exec(text);
      if (special) {
        const magnitude = special[2]!.toLowerCase() === 'nan' ? NaN : Infinity;
        return checkValue(type, typeName, special[1] === '-' ? -magnitude : magnitude);
      }
      if (!FLOAT_TEXT.test(text)) return fail(`'${text}' is not a valid ${typeName}: expected a decimal number such as 1.5 or 2e-3`);
      // 1e400 would read as infinity: out of range as 1e39 is for a float (infinity is written inf).
      const value = Number(text);
      if (!Number.isFinite(value)) return fail(`${text} does not fit ${describeType(type, typeName)}`);
      return checkValue(type, typeName, value);
    }
    case 'bool':
      if (text === 'true' || text === 'false') return ok(text === 'true');
      return fail(`'${text}' is not a valid ${typeName}: expected true or false`);
    case 'string':
      return checkValue(type, typeName, text);
  }
}

/**
 * Converts a value written in the package meta (`value` or `cmdarg.default`). Strings are parsed
 * like command-line text; a number given for a char array becomes its decimal text, as in the
 * reference.
 */
export function valueFromJson(type: ValueType, typeName: string, json: unknown): Checked {
  if (typeof json === 'string') return parseValueText(type, typeName, json);
  switch (type.kind) {
    case 'int':
      if (typeof json !== 'number' || !Number.isInteger(json)) return fail(`${show(json)} is not an integer, as ${typeName} needs`);
      if (!Number.isSafeInteger(json)) {
        return fail(`${json} is too large to be exact in JSON; write it as a string, e.g. "${BigInt(json)}"`);
      }
      return checkValue(type, typeName, BigInt(json));
    case 'float':
      if (typeof json !== 'number') return fail(`${show(json)} is not a number, as ${typeName} needs`);
      // JSON has no infinity: a number that reads as one was out of range (1e400).
      if (!Number.isFinite(json)) return fail(`a number beyond the range of ${describeType(type, typeName)}; write "inf" or "-inf" for infinity`);
      return checkValue(type, typeName, json);
    case 'string':
      if (typeof json !== 'number') return fail(`${show(json)} is not a string, as ${typeName} needs`);
      return checkValue(type, typeName, String(json));
    case 'bool':
      return typeof json === 'boolean' ? ok(json) : fail(`${show(json)} is not true or false, as ${typeName} needs`);
  }
}

function show(value: unknown): string {
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return `'${value}'`;
  return JSON.stringify(value) ?? String(value);
}
