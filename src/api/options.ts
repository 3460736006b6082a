/** Program options given to the API as an object keyed by variable name, checked like the command line's. */
import { EcliError } from '../errors.js';
import type { PackageSpec } from '../model/spec.js';
import { checkValue, valueFromJson, type OptionValue } from '../options/value.js';
import { didYouMean } from '../suggest.js';

/** A value for a program option: a bigint or a safe integer for integers, a number, a boolean, or a string (parsed like the command line's). */
export type ProgramOptionValue = bigint | number | boolean | string;

/** Every variable to write: the given values, checked against their types, and the defaults of the others. */
export function optionValues(spec: PackageSpec, given: Readonly<Record<string, ProgramOptionValue>>): Map<string, OptionValue> {
  const variables = spec.options.map((option) => option.variable);
  for (const name of Object.keys(given)) {
    if (!variables.includes(name)) {
      const known = variables.length === 0 ? 'it has no options' : `its options are ${variables.join(', ')}`;
      throw new EcliError('USAGE', `package ${spec.help.name} has no option ${name}${didYouMean(name, variables)}`, { hint: known });
    }
  }
  const values = new Map<string, OptionValue>();
  for (const option of spec.options) {
    const value = given[option.variable];
    if (value === undefined) {
      if (option.default !== undefined) values.set(option.variable, option.default);
      continue;
    }
    const checked = typeof value === 'bigint' ? checkValue(option.valueType, option.typeName, value) : valueFromJson(option.valueType, option.typeName, value);
    if (!checked.ok) throw new EcliError('OPTION_INVALID', `option ${option.variable}: ${checked.problem}`);
    values.set(option.variable, checked.value);
  }
  return values;
}
