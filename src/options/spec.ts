/**
 * The program options of a package, one per settable global variable of its data sections,
 * with the reference's names: `--<long>`, `-<short>`, and for bools `--<long>`,
 * `--enable-<long>` or `--disable-<long>` depending on the default.
 */
import type { Btf } from '../btf/btf.js';
import { BtfKind } from '../btf/types.js';
import { EcliError } from '../errors.js';
import type { DataSectionVariableMeta, EunomiaObjectMeta } from '../package/types.js';
import { valueFromJson, type OptionValue } from './value.js';
import { valueTypeFromBtf, valueTypeFromName, type ValueType } from './value-type.js';

/** How a bool flag maps to a value: `--x` sets true; `--enable-x` sets true; `--disable-x` sets false. */
export type FlagForm = 'set' | 'enable' | 'disable';

interface OptionBase {
  /** The C global's name; values are keyed by it. */
  variable: string;
  /** The data section holding it, e.g. `.rodata`. */
  section: string;
  /** The meta `type` string, for help and messages. */
  typeName: string;
  valueType: ValueType;
  help: string;
  /** The variable's value in the object (initial.ts), when the object's section image is known. */
  initial?: OptionValue;
}

export interface FlagOptionSpec extends OptionBase {
  kind: 'flag';
  /** The option word after `--`, prefix included: `boolflag`, `enable-failed`. */
  long: string;
  form: FlagForm;
  /** Value when the flag is absent; undefined keeps the variable's initial value from the object. */
  default?: boolean;
}

export interface ValueOptionSpec extends OptionBase {
  kind: 'value';
  long: string;
  short?: string;
  default?: OptionValue;
  /** The default as written in the meta, for help. */
  defaultText?: string;
}

export type OptionSpec = FlagOptionSpec | ValueOptionSpec;

/**
 * Options every package's command line has. A variable may take one of these names: after the
 * package its own option wins (ecli's --verbose is still given before the package), except that
 * it may not take both -h and --help, which would leave the help unreachable.
 */
const BUILTIN_LONG_OPTIONS = ['verbose', 'help', 'version'] as const;
const BUILTIN_SHORT_OPTIONS = ['h', 'V'] as const;

export interface ShadowedBuiltins {
  long: Set<(typeof BUILTIN_LONG_OPTIONS)[number]>;
  short: Set<(typeof BUILTIN_SHORT_OPTIONS)[number]>;
}

/** The built-in option names the package's own options take. */
export function shadowedBuiltins(specs: readonly OptionSpec[]): ShadowedBuiltins {
  return {
    long: new Set(BUILTIN_LONG_OPTIONS.filter((name) => specs.some((spec) => spec.long === name))),
    short: new Set(BUILTIN_SHORT_OPTIONS.filter((name) => specs.some((spec) => spec.kind === 'value' && spec.short === name))),
  };
}

const DUMMY_PREFIX = '__eunomia_dummy';
/** Filled by libbpf from the kernel configuration; never set by the user. */
const KCONFIG_SECTION = '.kconfig';
const CMDARG_HINT = 'fix the @cmdarg comment of the variable and rebuild the package';

/**
 * Builds the options of `meta`. With `btf` (the package object's BTF), each variable's type is
 * taken from its DATASEC entry with typedefs resolved; without it, from the meta type string.
 * Variables whose type cannot be set (pointers, structs, ...) get no option.
 */
export function buildOptionSpecs(meta: EunomiaObjectMeta, btf?: Btf): OptionSpec[] {
  const specs: OptionSpec[] = [];
  for (const section of meta.bpf_skel.data_sections) {
    if (section.name === KCONFIG_SECTION) continue;
    const btfVariables = btf ? datasecVariableTypes(btf, section.name) : undefined;
    for (const variable of section.variables) {
      if (variable.name.startsWith(DUMMY_PREFIX)) continue;
      const valueType = btf ? btfValueType(btf, btfVariables, section.name, variable.name) : valueTypeFromName(variable.type);
      const preset = variable.cmdarg?.default ?? variable.value ?? undefined;
      if (!valueType) {
        if (preset !== undefined) {
          throw new EcliError(
            'PACKAGE_INVALID',
            `variable ${variable.name} (${variable.type}) has a value in the package meta, but only integer, enum, bool, float and char-array variables can be set`,
            { hint: 'remove the value or the @cmdarg default of that variable' },
          );
        }
        continue;
      }
      const base = { variable: variable.name, section: section.name, typeName: variable.type, valueType, help: helpOf(variable) };
      const long = longNameOf(variable);
      specs.push(valueType.kind === 'bool' ? flagOption(base, long, preset) : valueOption(base, long, variable, preset));
    }
  }
  checkNameClashes(specs);
  return specs;
}

function datasecVariableTypes(btf: Btf, sectionName: string): Map<string, number> | undefined {
  const datasec = btf.findByName(sectionName, BtfKind.Datasec);
  if (!datasec || datasec.kind !== BtfKind.Datasec) return undefined;
  const types = new Map<string, number>();
  for (const info of datasec.vars) {
    const v = btf.type(info.type);
    if (v.kind === BtfKind.Var) types.set(v.name, v.type);
  }
  return types;
}

function btfValueType(btf: Btf, variables: Map<string, number> | undefined, section: string, name: string): ValueType | undefined {
  const typeId = variables?.get(name);
  if (typeId === undefined) {
    const where = variables ? `the object's ${section} section has no such variable` : `the object's BTF has no ${section} section`;
    throw new EcliError('BTF_INVALID', `variable ${name} is listed in the package meta under ${section}, but ${where}`, {
      hint: 'the meta does not match its BPF object; rebuild the package with ./ecc',
    });
  }
  return valueTypeFromBtf(btf, typeId);
}

function helpOf(variable: DataSectionVariableMeta): string {
  return variable.cmdarg?.help ?? variable.description ?? `Set value of \`${variable.type}\` variable ${variable.name}`;
}

function longNameOf(variable: DataSectionVariableMeta): string {
  const long = variable.cmdarg?.long ?? variable.name;
  if (typeof long !== 'string' || !/^[^-=\s][^=\s]*$/.test(long)) {
    throw new EcliError('PACKAGE_INVALID', `variable ${variable.name}: long option name ${JSON.stringify(long)} is not usable`, {
      hint: `${CMDARG_HINT}; a long name must not be empty, start with '-', or contain '=' or spaces`,
    });
  }
  return long;
}

function flagOption(base: OptionBase, long: string, preset: unknown): FlagOptionSpec {
  if (preset === undefined) return { ...base, kind: 'flag', long, form: 'set' };
  if (typeof preset !== 'boolean') {
    const message = `variable ${base.variable}: a bool variable's default must be true or false, not ${JSON.stringify(preset)}`;
    throw new EcliError('PACKAGE_INVALID', message, { hint: CMDARG_HINT });
  }
  return preset
    ? { ...base, kind: 'flag', long: `disable-${long}`, form: 'disable', default: true }
    : { ...base, kind: 'flag', long: `enable-${long}`, form: 'enable', default: false };
}

function valueOption(base: OptionBase, long: string, variable: DataSectionVariableMeta, preset: unknown): ValueOptionSpec {
  const spec: ValueOptionSpec = { ...base, kind: 'value', long };
  const short = variable.cmdarg?.short;
  if (short !== undefined) {
    if (typeof short !== 'string' || [...short].length !== 1 || /[-=\s]/.test(short)) {
      const message = `variable ${variable.name}: short option name ${JSON.stringify(short)} must be exactly one character`;
      throw new EcliError('PACKAGE_INVALID', message, { hint: `${CMDARG_HINT}; '-', '=' and spaces are not allowed` });
    }
    spec.short = short;
  }
  if (preset !== undefined) {
    const checked = valueFromJson(base.valueType, base.typeName, preset);
    if (!checked.ok) {
      throw new EcliError('PACKAGE_INVALID', `variable ${variable.name}: default ${checked.problem}`, { hint: CMDARG_HINT });
    }
    spec.default = checked.value;
    spec.defaultText = typeof preset === 'string' ? preset : String(preset);
  }
  return spec;
}

function checkNameClashes(specs: OptionSpec[]): void {
  // option name → who uses it, for the message
  const longs = new Map<string, string>();
  const shorts = new Map<string, string>();
  const claim = (names: Map<string, string>, name: string, shown: string, variable: string): void => {
    const owner = names.get(name);
    if (owner !== undefined) {
      throw new EcliError('PACKAGE_INVALID', `option ${shown} of variable ${variable} is already used by ${owner}`, {
        hint: 'give one of them another name with @cmdarg {"long": ..., "short": ...} and rebuild the package',
      });
    }
    names.set(name, `variable ${variable}`);
  };
  for (const spec of specs) {
    claim(longs, spec.long, `--${spec.long}`, spec.variable);
    if (spec.kind === 'value' && spec.short !== undefined) claim(shorts, spec.short, `-${spec.short}`, spec.variable);
  }
  const shadowed = shadowedBuiltins(specs);
  if (shadowed.long.has('help') && shadowed.short.has('h')) {
    throw new EcliError('PACKAGE_INVALID', `options --help (${longs.get('help')}) and -h (${shorts.get('h')}) would leave no way to print the package's help`, {
      hint: 'give one of them another name with @cmdarg {"long": ..., "short": ...} and rebuild the package',
    });
  }
}
