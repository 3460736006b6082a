/**
 * ecli's own flags, declared once: `ecli.ts` builds commander's options from this table, and
 * docs/cli.md's flag reference is generated from it (`npm run docs:flags`; a unit test fails when
 * the two drift). Adding a flag is one row here, plus its prose in docs/cli.md.
 *
 * A row's key is the property commander stores the value under (`--metrics-labels` →
 * `metricsLabels`, `--no-widen` → `widen`), and the type of that value follows from the row:
 * a switch is a boolean, `<value>` without a parser a string, with one whatever it returns.
 */
import { Option, type Command } from 'commander';
import { parseFields } from '../format/fields.js';
import { TIME_MODES } from '../format/time.js';
import { parseChunkSize, parseContainerSocket, parseCount, parseDuration, parseMaxSeries, parseSort, parseTop } from './run-limits.js';
import { parseWasmDir, parseWasmMemory } from './wasm-flags.js';

/** `ecli` itself (before any command) and its commands. */
export const ECLI_COMMANDS = ['ecli', 'run', 'inspect', 'pack', 'push', 'pull', 'login', 'key generate', 'sign', 'verify'] as const;
export type EcliCommand = (typeof ECLI_COMMANDS)[number];

/** Where docs/cli.md explains a flag at length (a heading anchor of docs/cli.md, or another page). */
export type FlagGroup = 'general' | 'input' | 'output' | 'filters and containers' | 'run control' | 'metrics' | 'registry' | 'pack' | 'signing';

export interface FlagRow<Value, Commands extends readonly EcliCommand[] = readonly EcliCommand[]> {
  /** Commander's syntax: `-j, --json`, `--time <mode>`, `--no-widen`. */
  readonly flags: string;
  /** The commands that take it; `ecli` means before any command (`ecli -v run ...`). */
  readonly commands: Commands;
  /** One line for `--help` and the reference table; a row several commands share may word it for each. */
  readonly summary: string | { readonly [Command in Commands[number]]: string };
  readonly group: FlagGroup;
  /** Where the docs explain it: a docs/cli.md anchor (`#ecli-run-load-attach-print`) or a page (`metrics.md`). */
  readonly docs: string;
  /** Turns the text given into the value; throws a USAGE EcliError when it is wrong. */
  readonly parse?: (text: string, previous: Value | undefined) => Value;
  readonly choices?: readonly string[];
  /** commander's built-ins, which it answers itself: `-V, --version` and `-h, --help`. */
  readonly builtin?: 'version' | 'help';
  /** The one kind of input of `ecli run` the flag means something for; `ecli run` refuses it with the other. Unset: both. */
  readonly runInput?: RunInput;
  /** Only so a row's value type can be read back; never set. */
  readonly valueType?: Value;
}

/** Any row of the table, as the functions that walk it see one. */
export interface AnyFlagRow {
  readonly flags: string;
  readonly commands: readonly EcliCommand[];
  readonly summary: string | Readonly<Partial<Record<EcliCommand, string>>>;
  readonly group: FlagGroup;
  readonly docs: string;
  readonly parse?: (text: string, previous: never) => unknown;
  readonly choices?: readonly string[];
  readonly builtin?: 'version' | 'help';
  readonly runInput?: RunInput;
}

/** What `ecli run` runs: a package (JSON, tarball, C source) or a wasm-bpf module. */
export type RunInput = 'package' | 'wasm';

type Row<Value> = <const Commands extends readonly EcliCommand[]>(row: Omit<FlagRow<Value, Commands>, 'valueType'>) => FlagRow<Value, Commands>;
/** A flag without a value: `-j, --json`, `--no-widen`. */
const switchFlag: Row<boolean> = (row) => row;
/** One of commander's built-ins, `-V, --version` and `-h, --help`, which it answers itself. */
function builtinFlag<const Builtin extends 'version' | 'help', const Commands extends readonly EcliCommand[]>(
  row: Omit<FlagRow<never, Commands>, 'valueType' | 'builtin'> & { builtin: Builtin },
): FlagRow<never, Commands> & { readonly builtin: Builtin } {
  return row;
}
/** A flag whose value is kept as text. */
const textFlag: Row<string> = (row) => row;
/** A flag whose value `parse` turns into something else. */
function parsedFlag<Value, const Commands extends readonly EcliCommand[]>(
  row: Omit<FlagRow<Value, Commands>, 'valueType'> & { parse: (text: string, previous: Value | undefined) => Value },
): FlagRow<Value, Commands> {
  return row;
}
/** A flag whose value is one of `choices`. */
function choiceFlag<const Choice extends string, const Commands extends readonly EcliCommand[]>(
  row: Omit<FlagRow<Choice, Commands>, 'valueType' | 'choices'> & { choices: readonly Choice[] },
): FlagRow<Choice, Commands> {
  return row;
}

const RUN_SECTION = '#ecli-run-load-attach-print';
const INPUT_SECTION = '#ecli-inspect-and-ecli-pack-distribute';
const PLAIN_HTTP = 'speak plain HTTP to the registry (always allowed for localhost and 127.0.0.0/8)';
const SIGNING = 'signing.md';
/** A repeatable flag: each one adds its value. */
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];
const CONTAINERS_PAGE = 'containers.md';

/** Every flag of ecli, in the order `--help` and the docs list them. */
export const ECLI_FLAGS = {
  version: builtinFlag({
    flags: '-V, --version',
    commands: ['ecli'],
    summary: "print ecli-ts's version",
    group: 'general',
    docs: '#requirements-and-build',
    builtin: 'version',
  }),
  help: builtinFlag({
    flags: '-h, --help',
    commands: ECLI_COMMANDS,
    summary: 'print help',
    group: 'general',
    docs: RUN_SECTION,
    builtin: 'help',
  }),
  verbose: switchFlag({
    flags: '-v, --verbose',
    commands: ['ecli', 'run'],
    summary: 'show libbpf messages and full verifier logs',
    group: 'general',
    docs: RUN_SECTION,
  }),
  debug: switchFlag({
    flags: '--debug',
    commands: ['ecli', 'run'],
    summary: 'show stack traces of errors',
    group: 'general',
    docs: 'errors.md',
  }),
  json: switchFlag({
    flags: '-j, --json',
    commands: ['run', 'inspect'],
    summary: { run: 'print events and sampled maps as JSON lines', inspect: 'print the report as JSON' },
    group: 'output',
    runInput: 'package',
    docs: RUN_SECTION,
  }),
  tracePipe: switchFlag({
    flags: '--trace-pipe',
    commands: ['run'],
    summary: 'for bpf_printk programs: print the kernel trace pipe on stdout',
    group: 'output',
    runInput: 'package',
    docs: RUN_SECTION,
  }),
  fields: parsedFlag({
    flags: '--fields <list>',
    commands: ['run'],
    summary: 'columns to show: pid,comm (only these, in this order) or -ppid,+argv (change the default ones)',
    group: 'output',
    runInput: 'package',
    docs: RUN_SECTION,
    parse: parseFields,
  }),
  time: choiceFlag({
    flags: '--time <mode>',
    commands: ['run'],
    summary: 'time stamp of each line (plain text: hms by default; JSON: iso)',
    group: 'output',
    runInput: 'package',
    docs: RUN_SECTION,
    choices: TIME_MODES,
  }),
  widen: switchFlag({
    flags: '--no-widen',
    commands: ['run'],
    summary: "plain text: keep the reference's fixed column offsets instead of widening columns to fit",
    group: 'output',
    runInput: 'package',
    docs: RUN_SECTION,
  }),
  wide: switchFlag({
    flags: '--wide',
    commands: ['run'],
    summary: 'plain text on a terminal: print whole lines (by default a line wider than the terminal is cut, ending with …)',
    group: 'output',
    runInput: 'package',
    docs: RUN_SECTION,
  }),
  filter: textFlag({
    flags: '--filter <rules>',
    commands: ['run'],
    summary: "keep only the events (and sampled map entries) that match every rule, in Inspektor Gadget's syntax: 'comm~^(ba|da)sh$,pid>100,container==web'",
    group: 'filters and containers',
    runInput: 'package',
    docs: CONTAINERS_PAGE,
  }),
  pid: textFlag({
    flags: '--pid <pid>',
    commands: ['run'],
    summary: 'keep only the events of this process id (the pid or tgid member; a package option named --pid goes after the package)',
    group: 'filters and containers',
    runInput: 'package',
    docs: CONTAINERS_PAGE,
  }),
  comm: textFlag({
    flags: '--comm <name>',
    commands: ['run'],
    summary: 'keep only the events whose comm is this name',
    group: 'filters and containers',
    runInput: 'package',
    docs: CONTAINERS_PAGE,
  }),
  container: textFlag({
    flags: '--container <name>',
    commands: ['run'],
    summary: 'keep only the events from the container of this name',
    group: 'filters and containers',
    runInput: 'package',
    docs: CONTAINERS_PAGE,
  }),
  containers: switchFlag({
    flags: '--no-containers',
    commands: ['run'],
    summary: 'do not look up the container of each event (JSON lines then carry no container member)',
    group: 'filters and containers',
    runInput: 'package',
    docs: CONTAINERS_PAGE,
  }),
  containerSocket: parsedFlag({
    flags: '--container-socket <runtime=path>',
    commands: ['run'],
    summary: 'ask this API socket for container names and images (docker=PATH, podman=PATH; default /run/docker.sock, /run/podman/podman.sock); repeatable',
    group: 'filters and containers',
    runInput: 'package',
    docs: CONTAINERS_PAGE,
    parse: parseContainerSocket,
  }),
  duration: parsedFlag({
    flags: '--duration <time>',
    commands: ['run'],
    summary: 'stop after this long: 500ms, 10s, 2m, 1h (a bare number is seconds)',
    group: 'run control',
    docs: RUN_SECTION,
    parse: parseDuration,
  }),
  interval: parsedFlag({
    flags: '--interval <time>',
    commands: ['run'],
    summary: 'iterators (iter/ programs): print a snapshot every interval instead of once',
    group: 'run control',
    runInput: 'package',
    docs: RUN_SECTION,
    parse: parseDuration,
  }),
  count: parsedFlag({
    flags: '--count <n>',
    commands: ['run'],
    summary: 'stop after n events (for a package printing only sampled maps: n intervals; only iterators: n snapshots)',
    group: 'run control',
    runInput: 'package',
    docs: RUN_SECTION,
    parse: parseCount,
  }),
  sort: parsedFlag({
    flags: '--sort <fields>',
    commands: ['run'],
    summary: 'sampled maps: order each interval by these key/value fields, -name for descending (e.g. -count,comm)',
    group: 'output',
    runInput: 'package',
    docs: RUN_SECTION,
    parse: parseSort,
  }),
  top: parsedFlag({
    flags: '--top <n>',
    commands: ['run'],
    summary: 'sampled maps: print at most n entries per interval (after --sort)',
    group: 'output',
    runInput: 'package',
    docs: RUN_SECTION,
    parse: parseTop,
  }),
  metrics: textFlag({
    flags: '--metrics <host:port>',
    commands: ['run'],
    summary: 'also serve Prometheus metrics at http://HOST:PORT/metrics ([::]:PORT for every address)',
    group: 'metrics',
    runInput: 'package',
    docs: 'metrics.md',
  }),
  metricsLabels: textFlag({
    flags: '--metrics-labels <k=v,...>',
    commands: ['run'],
    summary: 'constant labels added to every metric, e.g. host=web1,role=db; the word container counts events by container',
    group: 'metrics',
    runInput: 'package',
    docs: 'metrics.md',
  }),
  metricsMaxSeries: parsedFlag({
    flags: '--metrics-max-series <n>',
    commands: ['run'],
    summary: 'the most series one metric of a sampled map keeps (default 10000); beyond it the oldest are dropped and counted',
    group: 'metrics',
    runInput: 'package',
    docs: 'metrics.md',
    parse: parseMaxSeries,
  }),
  header: textFlag({
    flags: '--header <file.h>',
    commands: ['run'],
    summary: 'with a C source: the header declaring its exported structs (default: <name>.h beside <name>.bpf.c)',
    group: 'input',
    docs: RUN_SECTION,
  }),
  sha256: textFlag({
    flags: '--sha256 <hex>',
    commands: ['run', 'inspect'],
    summary: 'refuse the package unless its sha256 digest is this (required for URLs)',
    group: 'input',
    docs: INPUT_SECTION,
  }),
  insecure: switchFlag({
    flags: '--insecure',
    commands: ['run', 'inspect'],
    summary: 'allow a URL without a --sha256 pin',
    group: 'input',
    docs: INPUT_SECTION,
  }),
  output: textFlag({
    flags: '-o, --output <path>',
    commands: ['pack', 'pull'],
    summary: {
      pack: 'output file or directory (default: <name>.tar.gz)',
      pull: 'file, or folder to write <repository>.<json|tar|tar.gz|wasm> into (default: the current folder)',
    },
    group: 'pack',
    docs: INPUT_SECTION,
  }),
  force: switchFlag({
    flags: '-f, --force',
    commands: ['pull'],
    summary: 'replace the file the package is written to when it exists (a file named by -o is always replaced)',
    group: 'registry',
    docs: 'registry.md',
  }),
  btf: parsedFlag({
    flags: '--btf <path>',
    commands: ['pack'],
    summary: 'a BTF file (<id>/<version>/<arch>/<release>.btf) or btfhub-archive tree; repeatable',
    group: 'pack',
    docs: INPUT_SECTION,
    parse: (path: string, previous: string[] | undefined) => [...(previous ?? []), path],
  }),
  username: textFlag({
    flags: '-u, --username <user>',
    commands: ['login'],
    summary: 'the user name',
    group: 'registry',
    docs: 'registry.md',
  }),
  plainHttp: switchFlag({
    flags: '--plain-http',
    commands: ['run', 'inspect', 'push', 'pull', 'login', 'sign', 'verify'],
    summary: PLAIN_HTTP,
    group: 'registry',
    docs: 'registry.md',
  }),
  progType: choiceFlag({
    flags: '-p, --prog-type <type>',
    commands: ['run', 'inspect'],
    summary: 'package type when it cannot be guessed',
    group: 'input',
    docs: RUN_SECTION,
    choices: ['json', 'tar', 'wasm', 'JSON', 'TAR', 'WASM', 'jsoneunomia', 'wasmmodule'],
  }),
  wasmDir: parsedFlag({
    flags: '--wasm-dir <dir[:guest-path]>',
    commands: ['run'],
    summary: 'Wasm modules: let the guest see this host directory (at guest-path); repeatable. By default it sees none',
    group: 'run control',
    runInput: 'wasm',
    docs: 'wasm.md',
    parse: parseWasmDir,
  }),
  wasmMemory: parsedFlag({
    flags: '--wasm-memory <size>',
    commands: ['run'],
    summary: 'Wasm modules: the most memory the guest may grow to, e.g. 256M (default 1G, at most 4G)',
    group: 'run control',
    runInput: 'wasm',
    docs: 'wasm.md',
    parse: parseWasmMemory,
  }),
  raw: switchFlag({
    flags: '--raw',
    commands: ['run'],
    summary: "Wasm modules: write the guest's output to a terminal as it is, control characters included",
    group: 'output',
    runInput: 'wasm',
    docs: 'wasm.md',
  }),
  chunkSize: parsedFlag({
    flags: '--chunk-size <bytes>',
    commands: ['push'],
    summary: 'upload in PATCH requests of this many bytes (default: one PUT)',
    group: 'registry',
    docs: 'registry.md',
    parse: parseChunkSize,
  }),
  verifyKey: parsedFlag({
    flags: '--verify-key <cosign.pub>',
    commands: ['run', 'pull'],
    summary: {
      run: 'refuse the package unless a signature by this public key checks, before any of it is decoded; repeatable (any one of the keys)',
      pull: 'refuse the package unless a signature by this public key checks, before its layer is fetched; repeatable (any one of the keys)',
    },
    group: 'signing',
    docs: SIGNING,
    parse: collect,
  }),
  signature: textFlag({
    flags: '--signature <path|url>',
    commands: ['run', 'verify'],
    summary: 'the detached signature of a file, URL or stdin package (default: <package>.sig)',
    group: 'signing',
    docs: SIGNING,
  }),
  key: parsedFlag({
    flags: '--key <path>',
    commands: ['sign', 'verify'],
    summary: {
      sign: 'the private key, cosign.key (its password from COSIGN_PASSWORD, or asked for on a terminal)',
      verify: 'the public key, cosign.pub; repeatable (a signature by any one of them)',
    },
    group: 'signing',
    docs: SIGNING,
    parse: collect,
  }),
  outputSignature: textFlag({
    flags: '--output-signature <path>',
    commands: ['sign'],
    summary: "where a file's signature goes (default: <file>.sig)",
    group: 'signing',
    docs: SIGNING,
  }),
  outputPrefix: textFlag({
    flags: '--output-prefix <prefix>',
    commands: ['key generate'],
    summary: 'path and name of the two files, without extension (default: cosign)',
    group: 'signing',
    docs: SIGNING,
  }),
} as const;

type Flags = typeof ECLI_FLAGS;
type FlagName = keyof Flags;
/** The flags `command` takes. */
type FlagNameOf<Command extends EcliCommand> = {
  [Name in FlagName]: Command extends Flags[Name]['commands'][number] ? (Flags[Name] extends { builtin: string } ? never : Name) : never;
}[FlagName];
/** What commander hands a command's action: each flag given, under its row's key, typed by its row. */
export type FlagValues<Command extends EcliCommand> = { [Name in FlagNameOf<Command>]?: NonNullable<Flags[Name]['valueType']> };

/** The rows `command` takes, in table order. */
export function flagsOf(command: EcliCommand): [string, AnyFlagRow][] {
  return Object.entries<AnyFlagRow>(ECLI_FLAGS).filter(([, row]) => row.commands.includes(command));
}

/** The row's one line for `command`. */
export function summaryFor(row: AnyFlagRow, command: EcliCommand): string {
  return typeof row.summary === 'string' ? row.summary : row.summary[command]!;
}

/** Commander's option for a row as `command` takes it (not the built-ins, which commander makes itself). */
function commanderOption(row: AnyFlagRow, command: EcliCommand): Option {
  const option = new Option(row.flags, summaryFor(row, command));
  if (row.choices !== undefined) option.choices(row.choices);
  // commander hands the parser the flag's previous value, which is of the row's own type.
  if (row.parse !== undefined) option.argParser(row.parse as (text: string, previous: unknown) => unknown);
  return option;
}

/** Adds `command`'s flags from the table to commander's `target`, the built-ins included. */
export function addFlags(target: Command, command: EcliCommand, version: string): Command {
  for (const [, row] of flagsOf(command)) {
    if (row.builtin === 'version') target.version(version, row.flags, summaryFor(row, command));
    else if (row.builtin === 'help') target.helpOption(row.flags, summaryFor(row, command));
    else target.addOption(commanderOption(row, command));
  }
  return target;
}

/** The words of `command`'s flags that take no value (`-v`, `--verbose`, `--debug` for `ecli`). */
export function switchWords(command: EcliCommand): string[] {
  return flagsOf(command)
    .filter(([, row]) => row.builtin === undefined && !/[<[]/.test(row.flags))
    .flatMap(([, row]) => flagWords(row));
}

/** The commands (not `ecli` itself) that take the flag `word` (`-j`, `--json`). */
export function commandsTaking(word: string): EcliCommand[] {
  return ECLI_COMMANDS.filter((command) => command !== 'ecli' && flagsOf(command).some(([, row]) => flagWords(row).includes(word)));
}

/**
 * The flags of `ecli run` among `values` (as commander parsed them, under their rows' keys) that
 * apply only to `input`, each by its first word (`-j`, `--no-widen`), in table order.
 */
export function runFlagsOnlyFor(input: RunInput, values: Readonly<Record<string, unknown>>): string[] {
  return flagsOf('run')
    .filter(([key, row]) => row.runInput === input && (row.flags.startsWith('--no-') ? values[key] === false : values[key] !== undefined))
    .map(([, row]) => flagWords(row)[0]!);
}

/** `-j`, `--json` of `-j, --json`; `--no-widen` of `--no-widen`. */
export function flagWords(row: AnyFlagRow): string[] {
  return row.flags.split(/[ ,|]+/).filter((w) => w.startsWith('-'));
}
