/** The `--help` and `--version` texts of a package, laid out like the reference's (clap's). */
import type { EunomiaObjectMeta } from '../package/types.js';
import { optionValueText } from './initial.js';
import { shadowedBuiltins, type OptionSpec } from './spec.js';

export interface PackageHelpTexts {
  /** `bpf_skel.obj_name`. */
  name: string;
  version: string;
  /** Printed before the usage line. */
  beforeHelp: string;
  /** Printed after the options. */
  afterHelp: string;
}

const DEFAULT_VERSION = '0.1.0';
const DEFAULT_BEFORE_HELP = 'A simple eBPF program';
/** The reference's footer; a package our ecc wrote (meta.built_by) names our ecc instead. */
const DEFAULT_AFTER_HELP = 'Built with eunomia-bpf framework.\nSee https://github.com/eunomia-bpf/eunomia-bpf for more information.';
const VERBOSE_HELP = 'Whether to show libbpf debug information';

/** The help and version texts from `bpf_skel.doc`, with the reference's defaults. */
export function packageHelpTexts(meta: EunomiaObjectMeta): PackageHelpTexts {
  const doc = meta.bpf_skel.doc;
  return {
    name: meta.bpf_skel.obj_name,
    version: doc?.version ?? DEFAULT_VERSION,
    beforeHelp: doc?.brief ?? doc?.description ?? DEFAULT_BEFORE_HELP,
    afterHelp: doc?.details ?? (typeof meta.built_by === 'string' ? `Built with ${meta.built_by}, in eunomia-bpf's package format.` : DEFAULT_AFTER_HELP),
  };
}

/** `<name> <version>` plus a newline. */
export function formatVersion(info: PackageHelpTexts): string {
  return `${info.name} ${info.version}\n`;
}

/** The full help text, ending with a newline. */
export function formatHelp(specs: OptionSpec[], info: PackageHelpTexts): string {
  const shadowed = shadowedBuiltins(specs);
  const rows: [string, string][] = shadowed.long.has('verbose') ? [] : [['      --verbose', VERBOSE_HELP]];
  for (const spec of specs) {
    const shown = defaultShown(spec);
    const help = shown === undefined ? spec.help : `${spec.help} [default: ${shown}]`;
    if (spec.kind === 'flag') {
      rows.push([`      --${spec.long}`, help]);
    } else {
      const short = spec.short === undefined ? '    ' : `-${spec.short}, `;
      rows.push([`  ${short}--${spec.long} <${spec.variable}>`, help]);
    }
  }
  const builtin = (short: 'h' | 'V', long: 'help' | 'version', help: string): void => {
    const left = [shadowed.short.has(short) ? undefined : `-${short}`, shadowed.long.has(long) ? undefined : `--${long}`];
    if (left[0] === undefined && left[1] === undefined) return;
    rows.push([left[0] === undefined ? `      ${left[1]}` : `  ${left.filter((x) => x !== undefined).join(', ')}`, help]);
  };
  builtin('h', 'help', 'Print help');
  builtin('V', 'version', 'Print version');
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  const options = rows.map(([left, help]) => left.padEnd(width) + help.split('\n').join(`\n${' '.repeat(width)}`));
  const notes = shadowingNotes(shadowed, info.name);
  return [info.beforeHelp, '', `Usage: ${info.name} [OPTIONS]`, '', 'Options:', ...options, ...notes, '', info.afterHelp].join('\n') + '\n';
}

/**
 * What the program gets without the option: the `@cmdarg` default as the meta writes it (the
 * reference's text), else the variable's initial value in the object. `--enable-x`/`--disable-x`
 * say theirs in their names.
 */
export function defaultShown(spec: OptionSpec): string | undefined {
  if (spec.kind === 'flag') return spec.form === 'set' && spec.initial !== undefined ? String(spec.initial) : undefined;
  if (spec.defaultText !== undefined) return spec.defaultText;
  return spec.initial === undefined ? undefined : optionValueText(spec.valueType, spec.initial);
}

/** Which names above are the package's own, and where ecli's options of those names went. */
function shadowingNotes(shadowed: ReturnType<typeof shadowedBuiltins>, name: string): string[] {
  const notes: string[] = [];
  if (shadowed.long.has('verbose')) {
    notes.push(`--verbose is ${name}'s own option; ecli's (libbpf messages) goes before the package: ecli --verbose run <package>`);
  }
  if (shadowed.long.has('help')) notes.push(`--help is ${name}'s own option; -h prints this help`);
  if (shadowed.short.has('h')) notes.push(`-h is ${name}'s own option; --help prints this help`);
  const version = [...(shadowed.short.has('V') ? ['-V'] : []), ...(shadowed.long.has('version') ? ['--version'] : [])];
  if (version.length > 0) notes.push(`${version.join(' and ')} ${version.length === 1 ? 'is' : 'are'} ${name}'s own; ecli -V prints ecli's version`);
  return notes.length === 0 ? [] : ['', ...notes];
}
