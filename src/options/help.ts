/** The `--help` and `--version` texts of a package, laid out like the reference's (clap's). */
import type { EunomiaObjectMeta } from '../package/types.js';
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
const DEFAULT_AFTER_HELP = 'Built with eunomia-bpf framework.\nSee https://github.com/eunomia-bpf/eunomia-bpf for more information.';
const VERBOSE_HELP = 'Whether to show libbpf debug information';

/** The help and version texts from `bpf_skel.doc`, with the reference's defaults. */
export function packageHelpTexts(meta: EunomiaObjectMeta): PackageHelpTexts {
  const doc = meta.bpf_skel.doc;
  return {
    name: meta.bpf_skel.obj_name,
    version: doc?.version ?? DEFAULT_VERSION,
    beforeHelp: doc?.brief ?? doc?.description ?? DEFAULT_BEFORE_HELP,
    afterHelp: doc?.details ?? DEFAULT_AFTER_HELP,
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
    if (spec.kind === 'flag') {
      rows.push([`      --${spec.long}`, spec.help]);
    } else {
      const short = spec.short === undefined ? '    ' : `-${spec.short}, `;
      const help = spec.defaultText === undefined ? spec.help : `${spec.help} [default: ${spec.defaultText}]`;
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
