/**
 * Parses the words after the package on the `ecli run` command line into variable values.
 * Forms: `--name value`, `--name=value`, `-n value`, `-nvalue`, `-n=value`; flags take no value.
 * A value option takes the next word even when it looks like a negative number.
 */
import { EcliError } from '../errors.js';
import { didYouMean } from '../suggest.js';
import { formatHelp, formatVersion, type PackageHelpTexts } from './help.js';
import type { FlagOptionSpec, OptionSpec } from './spec.js';
import { parseValueText, type OptionValue } from './value.js';

export type ProgramArgs =
  /** `values` holds every variable to write (given on the command line or defaulted), keyed by variable name. */
  { kind: 'run'; values: Map<string, OptionValue>; verbose: boolean } | { kind: 'help'; text: string } | { kind: 'version'; text: string };

type Target = OptionSpec | 'verbose' | 'help' | 'version';

const NEGATIVE_NUMBER = /^-([0-9]|\.[0-9]|inf|nan)/i;

/**
 * `hostOptions`: the option words of the command that runs the package (ecli run's `-j`, ...);
 * one of them given after the package, where the package has no such option, is refused with
 * "put it before the package".
 */
export function parseProgramArgs(
  specs: OptionSpec[],
  argv: readonly string[],
  info: PackageHelpTexts,
  hostOptions: ReadonlySet<string> = new Set(),
): ProgramArgs {
  const longs = new Map<string, Target>([
    ['verbose', 'verbose'],
    ['help', 'help'],
    ['version', 'version'],
  ]);
  const shorts = new Map<string, Target>([
    ['h', 'help'],
    ['V', 'version'],
  ]);
  for (const spec of specs) {
    longs.set(spec.long, spec);
    if (spec.kind === 'value' && spec.short !== undefined) shorts.set(spec.short, spec);
  }

  const given = new Map<string, OptionValue>();
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      if (i + 1 < argv.length) throw strayArgument(argv[i + 1]!, info);
      break;
    }
    if (!word.startsWith('-') || word === '-') throw strayArgument(word, info);

    let target: Target | undefined;
    let shown: string;
    let inline: string | undefined;
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
      inline = eq < 0 ? undefined : word.slice(eq + 1);
      shown = `--${name}`;
      target = longs.get(name);
      if (target === undefined) {
        if (hostOptions.has(shown)) throw notThePackages(shown, specs, info);
        const near = nearMiss(name, specs);
        throw unknownOption(shown, info, near, near === undefined ? didYouMean(name, longs.keys(), (n) => `--${n}`) : '');
      }
    } else {
      const [letter = '', ...rest] = [...word.slice(1)];
      const attached = rest.join('');
      inline = attached === '' ? undefined : attached.startsWith('=') ? attached.slice(1) : attached;
      shown = `-${letter}`;
      target = shorts.get(letter);
      if (target === undefined) {
        if (hostOptions.has(shown)) throw notThePackages(shown, specs, info);
        throw unknownOption(shown, info, undefined);
      }
    }

    if (typeof target === 'string' || target.kind === 'flag') {
      if (inline !== undefined) {
        throw new EcliError('USAGE', `option ${shown} takes no value, but was given '${inline}'`, {
          hint: typeof target === 'string' ? undefined : flagHint(target),
        });
      }
      if (target === 'help') return { kind: 'help', text: formatHelp(specs, info) };
      if (target === 'version') return { kind: 'version', text: formatVersion(info) };
      if (target === 'verbose') {
        if (verbose) throw givenTwice(shown);
        verbose = true;
        continue;
      }
      if (given.has(target.variable)) throw givenTwice(shown);
      given.set(target.variable, target.form !== 'disable');
      continue;
    }

    if (given.has(target.variable)) throw givenTwice(shown);
    let text = inline;
    if (text === undefined) {
      const next = argv[i + 1];
      const numeric = target.valueType.kind === 'int' || target.valueType.kind === 'float';
      if (next === undefined || (next.startsWith('-') && next !== '-' && !(numeric && NEGATIVE_NUMBER.test(next)))) {
        throw new EcliError('USAGE', `option ${shown} needs a value (${target.typeName})`, {
          hint: next === undefined ? undefined : `write --${target.long}=<value> for a value that starts with '-'`,
        });
      }
      text = next;
      i++;
    }
    const checked = parseValueText(target.valueType, target.typeName, text);
    if (!checked.ok) throw new EcliError('OPTION_INVALID', `option --${target.long}: ${checked.problem}`);
    given.set(target.variable, checked.value);
  }

  const values = new Map<string, OptionValue>();
  for (const spec of specs) {
    const value = given.get(spec.variable) ?? spec.default;
    if (value !== undefined) values.set(spec.variable, value);
  }
  return { kind: 'run', values, verbose };
}

function strayArgument(word: string, info: PackageHelpTexts): EcliError {
  return new EcliError('USAGE', `unexpected argument '${word}' for package ${info.name}: it takes only options`, {
    hint: 'run with --help to list its options',
  });
}

function unknownOption(shown: string, info: PackageHelpTexts, hint: string | undefined, suggestion = ''): EcliError {
  return new EcliError('USAGE', `unknown option ${shown} for package ${info.name}${suggestion}; run with --help to list its options`, { hint });
}

const LISTED_OPTIONS = 8;

/**
 * A word after the package that the package has no option of, but ecli run has: the user may have
 * meant either (`-p 5` for a pid filter the package lacks, or ecli's `-j`), so say both.
 */
function notThePackages(shown: string, specs: readonly OptionSpec[], info: PackageHelpTexts): EcliError {
  const names = specs.map((spec) => (spec.kind === 'value' && spec.short !== undefined ? `-${spec.short}/--${spec.long}` : `--${spec.long}`));
  const listed =
    names.length === 0
      ? 'it has no options of its own'
      : `its options: ${names.slice(0, LISTED_OPTIONS).join(', ')}${names.length > LISTED_OPTIONS ? `, and ${names.length - LISTED_OPTIONS} more (see --help)` : ''}`;
  return new EcliError('USAGE', `package ${info.name} has no option ${shown} (${listed}); ecli's own ${shown} goes before the package`, {
    hint: "ecli run [ecli's options] <package> [the package's options]; ecli run --help lists ecli's, ecli run <package> --help the package's",
  });
}

function givenTwice(shown: string): EcliError {
  return new EcliError('USAGE', `option ${shown} was given more than once`);
}

function flagHint(spec: FlagOptionSpec): string {
  switch (spec.form) {
    case 'set':
      return `${spec.variable} is a flag: pass --${spec.long} to set it to true`;
    case 'enable':
      return `${spec.variable} defaults to false: pass --${spec.long} to set it to true`;
    case 'disable':
      return `${spec.variable} defaults to true: pass --${spec.long} to set it to false`;
  }
}

const FLAG_PREFIXES: Record<FlagOptionSpec['form'], string> = { set: '', enable: 'enable-', disable: 'disable-' };

/** A hint for a long name that is another spelling of an existing option (a bool's other form, or the variable's name). */
function nearMiss(name: string, specs: OptionSpec[]): string | undefined {
  const bare = name.replace(/^(enable|disable)-/, '');
  for (const spec of specs) {
    if (spec.kind === 'flag') {
      const base = spec.long.slice(FLAG_PREFIXES[spec.form].length);
      if (bare === base || name === base || name === spec.variable) return flagHint(spec);
    } else if (name === spec.variable) {
      return `variable ${spec.variable} is set with --${spec.long}`;
    }
  }
  return undefined;
}
