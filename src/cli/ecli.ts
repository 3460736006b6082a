/**
 * `ecli`: run, inspect and pack eunomia-style eBPF packages.
 *   ecli run [-j] [--trace-pipe] [--metrics HOST:PORT [--metrics-labels k=v,...]] [--sha256 H | --insecure] [-p json|tar|wasm] <package> [program options...]
 *   ecli run [--wasm-dir DIR[:GUEST]]... [--wasm-memory SIZE] [--raw] <module.wasm> [guest args...]
 *   ecli inspect [--json] <package>
 *   ecli pack <package.json> [-o out.tar.gz] [--btf path]...
 *   ecli push [--plain-http] [--chunk-size N] <package> <host[:port]/repo[:tag]>
 *   ecli pull [--plain-http] [-o file|dir] [--force] <host[:port]/repo[:tag] | host[:port]/repo@sha256:...>
 *   ecli login -u <user> [--plain-http] <host[:port]>     (password on stdin)
 *   ecli key generate [--output-prefix cosign]
 *   ecli sign --key cosign.key <reference | file>
 *   ecli verify --key cosign.pub <reference | file | url>
 *   ecli <package> [program options...]        (same as `ecli run`)
 * ecli's own flags come before the package; everything after it belongs to the program.
 */
import { Command, CommanderError } from 'commander';
import { existsSync } from 'node:fs';
import { EcliError, writeFailure } from '../errors.js';
import { closestName, didYouMean } from '../suggest.js';
import type { OutputSettings } from '../format/event.js';
import { escapeControls } from '../terminal.js';
import type { ProgType, ResolveOptions } from '../inputs/source.js';
import { TOOL_VERSION } from '../version.js';
import { addFlags, commandsTaking, ECLI_COMMANDS, flagsOf, flagWords, runFlagsOnlyFor, switchWords, type FlagValues } from './flags.js';
import { reportError } from './report.js';

interface GlobalFlags {
  verbose: boolean;
  debug: boolean;
}

type RunFlags = FlagValues<'run'>;
/** The flags that say how to read a package, which `run` and `inspect` share. */
type SourceFlags = Pick<RunFlags, 'sha256' | 'insecure' | 'progType' | 'plainHttp'>;

/** The words that name a command: the flag table's commands (`key generate` is `key`), and commander's `help`. */
const COMMANDS = new Set([...ECLI_COMMANDS.filter((command) => command !== 'ecli').map((command) => command.split(' ')[0]!), 'help']);
/** ecli's own flags that may stand before the command (`ecli -v run ...`). */
const LEADING_SWITCHES = switchWords('ecli');
/** Every word of ecli's own flags, built-ins included. */
const ECLI_WORDS = new Set(flagsOf('ecli').flatMap(([, row]) => flagWords(row)));
const io = { stdout: process.stdout, stderr: process.stderr };

function resolveOptions(flags: SourceFlags): ResolveOptions {
  const options: ResolveOptions = {};
  if (flags.sha256 !== undefined) options.sha256 = flags.sha256;
  if (flags.insecure) options.insecure = true;
  if (flags.progType !== undefined) options.progType = parseProgType(flags.progType);
  if (flags.plainHttp) options.plainHttp = true;
  options.onNotice = (message) => process.stderr.write(`ecli: ${message}\n`);
  return options;
}

function parseProgType(value: string): ProgType {
  const lower = value.toLowerCase();
  if (lower === 'json' || lower === 'jsoneunomia') return 'json';
  if (lower === 'tar') return 'tar';
  if (lower === 'wasm' || lower === 'wasmmodule') return 'wasm';
  throw new EcliError('USAGE', `unknown program type ${value}: use json, tar or wasm`);
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

/**
 * `requested` resolves with the signal's name on the first SIGINT, SIGTERM, SIGHUP or SIGQUIT,
 * `forced` on the second (stop waiting for stdout). An uncaught error rejects `requested`
 * instead, so the runner still detaches everything before the error is reported.
 */
function stopSignals(): { requested: Promise<string>; forced: Promise<string> } {
  let received = 0;
  let request!: (signal: string) => void;
  let force!: (signal: string) => void;
  const requested = new Promise<string>((resolve, reject) => {
    request = resolve;
    process.on('uncaughtException', reject);
    process.on('unhandledRejection', reject);
  });
  const forced = new Promise<string>((resolve) => {
    force = resolve;
  });
  for (const signal of STOP_SIGNALS) process.on(signal, () => (++received === 1 ? request : force)(signal));
  return { requested, forced };
}

async function run(packageSpec: string, programArgs: string[], flags: RunFlags, global: GlobalFlags, hostOptions: ReadonlySet<string>): Promise<number> {
  // `run` passes unknown options through to the program, so one before the package lands here.
  if (packageSpec.startsWith('-') && packageSpec !== '-') {
    const close = didYouMean(packageSpec.split('=')[0]!, hostOptions);
    throw new EcliError('USAGE', `unknown option ${packageSpec} for ecli run${close} (the package must come before its own options)`, {
      hint: 'see ecli run --help',
    });
  }
  const options = {
    ...resolveOptions(flags),
    output: outputSettings(flags),
    tracePipe: flags.tracePipe === true,
    verbose: global.verbose || flags.verbose === true,
    hostOptions,
    ...(flags.header === undefined ? {} : { header: flags.header }),
    limits: { ...(flags.count === undefined ? {} : { count: flags.count }), ...(flags.duration === undefined ? {} : { durationMs: flags.duration }) },
    stages: {
      filter: flags.filter,
      pid: flags.pid,
      comm: flags.comm,
      container: flags.container,
      containers: flags.containers !== false,
      sockets: flags.containerSocket,
    },
    ...(flags.interval === undefined ? {} : { iteratorIntervalMs: flags.interval }),
    ...(flags.metrics === undefined ? {} : { metrics: { address: flags.metrics, labels: flags.metricsLabels, maxSeries: flags.metricsMaxSeries } }),
    signing: {
      verifyKeys: flags.verifyKey ?? [],
      ...(flags.signature === undefined ? {} : { signature: flags.signature }),
      onVerified: (message: string) => process.stderr.write(`ecli: ${message}\n`),
    },
    wasm: {
      ...(flags.wasmDir === undefined ? {} : { preopens: flags.wasmDir }),
      ...(flags.wasmMemory === undefined ? {} : { memoryPages: flags.wasmMemory }),
      raw: flags.raw === true,
    },
    flagsOnlyFor: { package: runFlagsOnlyFor('package', flags), wasm: runFlagsOnlyFor('wasm', flags) },
  };
  for (const [given, flag] of [
    [flags.metricsLabels, '--metrics-labels'],
    [flags.metricsMaxSeries, '--metrics-max-series'],
  ] as const) {
    if (given !== undefined && flags.metrics === undefined) {
      throw new EcliError('USAGE', `${flag} needs --metrics`, { hint: 'add --metrics HOST:PORT, e.g. --metrics 127.0.0.1:9464' });
    }
  }
  const stop = stopSignals();
  // Each command loads what it needs when it runs: `--help` and `--version` load none of it.
  const { runRun } = await import('./commands/run.js');
  return runRun(packageSpec, programArgs, { ...options, stopRequested: stop.requested, stopForced: stop.forced }, io);
}

function outputSettings(flags: RunFlags): OutputSettings {
  const settings: OutputSettings = { format: flags.json ? 'json' : 'plain', widen: flags.widen !== false };
  if (flags.fields !== undefined) settings.fields = flags.fields;
  if (flags.time !== undefined) settings.time = flags.time;
  if (flags.sort !== undefined) settings.sort = flags.sort;
  if (flags.top !== undefined) settings.top = flags.top;
  // On a terminal, a line wider than it would wrap onto the next lines: cut it, unless --wide.
  if (!flags.json && flags.wide !== true && process.stdout.isTTY) settings.maxWidth = () => process.stdout.columns;
  return settings;
}

/** `requested` is ecli's --verbose and --debug, updated when they are given after `run` too. */
function buildProgram(exit: (code: number) => void, requested: GlobalFlags): Command {
  let global: GlobalFlags = { verbose: false, debug: false };
  const program = addFlags(new Command('ecli').description('Run eunomia-bpf style eBPF packages (ecli-compatible)'), 'ecli', TOOL_VERSION)
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeErr: (text) => process.stderr.write(text),
      // Commander's `error: ...` becomes ours: `ecli: error: ...` plus a hint.
      // Its "(Did you mean ...?)" comes on a line of its own: keep the message on one line.
      outputError: (text, write) => write(`ecli: ${escapeControls(text.trimEnd().replace(/\n/g, ' '))}\nhint: see ecli --help, or ecli <command> --help\n`),
    })
    .hook('preAction', (command) => {
      const opts = command.opts<{ verbose?: boolean; debug?: boolean }>();
      global = { verbose: opts.verbose === true, debug: opts.debug === true };
    });

  const runCommand = addFlags(
    program.command('run').description('load a package, attach its programs and print what it exports until Ctrl-C; or run a wasm-bpf module'),
    'run',
    TOOL_VERSION,
  )
    .argument(
      '<package>',
      'package.json, a .tar/.tar.gz from `ecli pack`, a C source prog.bpf.c (compiled as ecc would, and cached), a wasm-bpf module.wasm, an http(s) URL, a registry reference [oci://]host[:port]/repo[:tag|@sha256:...], or - for stdin',
    )
    .argument('[options...]', "the program's own options (see `ecli run <package> --help`), or a Wasm module's arguments")
    .passThroughOptions()
    .allowUnknownOption();
  runCommand.action(async (spec: string, args: string[], flags: RunFlags) => {
    if (flags.debug) requested.debug = true;
    const hostOptions = new Set(runCommand.options.flatMap((o) => [o.short, o.long].filter((w): w is string => w !== undefined)));
    const code = await run(spec, args, flags, global, hostOptions);
    // Output still queued means the run gave up on a stdout that stopped reading (and said so):
    // waiting for it here would hang the exit.
    if (process.stdout.writableNeedDrain) process.exit(code);
    exit(code);
  });

  addFlags(
    program
      .command('inspect')
      .description("show a package's programs, maps, options and event layout, or what a Wasm module imports and exports (no root needed)"),
    'inspect',
    TOOL_VERSION,
  )
    .argument('<package>')
    .action(async (spec: string, flags: FlagValues<'inspect'>) => {
      // Command modules load on use: `ecli run` starts without their dependencies (cli-table3, tar).
      const { runInspect } = await import('./commands/inspect.js');
      await runInspect(spec, { ...resolveOptions(flags), json: flags.json === true }, io);
      exit(0);
    });

  addFlags(program.command('pack').description('write a tarball of a package, with a manifest and optional BTF files'), 'pack', TOOL_VERSION)
    .argument('<package.json>')
    .action(async (path: string, flags: FlagValues<'pack'>) => {
      const { runPack } = await import('./commands/pack.js');
      await runPack(path, { ...(flags.output ? { output: flags.output } : {}), ...(flags.btf ? { btf: flags.btf } : {}) }, io);
      exit(0);
    });

  addFlags(program.command('push').description('upload a package or Wasm module to an OCI registry; prints the digest to pin it by'), 'push', TOOL_VERSION)
    .argument('<package>', 'package.json, a package tarball, or a wasm-bpf module.wasm (pushed as the reference pushes it)')
    .argument('<reference>', 'host[:port]/repository[:tag] (tag default: latest)')
    .action(async (spec: string, reference: string, flags: FlagValues<'push'>) => {
      const { runPush } = await import('./commands/push.js');
      await runPush(
        spec,
        reference,
        { ...(flags.plainHttp ? { plainHttp: true } : {}), ...(flags.chunkSize === undefined ? {} : { chunkSize: flags.chunkSize }) },
        io,
      );
      exit(0);
    });

  addFlags(program.command('pull').description('download a package from an OCI registry, checking its digest'), 'pull', TOOL_VERSION)
    .argument('<reference>', 'host[:port]/repository[:tag] or host[:port]/repository@sha256:<digest>')
    .action(async (reference: string, flags: FlagValues<'pull'>) => {
      const { runPull } = await import('./commands/pull.js');
      await runPull(
        reference,
        {
          ...(flags.output ? { output: flags.output } : {}),
          ...(flags.force ? { force: true } : {}),
          ...(flags.plainHttp ? { plainHttp: true } : {}),
          ...(flags.verifyKey ? { verifyKeys: flags.verifyKey } : {}),
        },
        io,
      );
      exit(0);
    });

  addFlags(
    program.command('login').description("check a registry user's password (read from stdin) and store it in docker's config.json"),
    'login',
    TOOL_VERSION,
  )
    .argument('<registry>', 'host[:port]')
    .action(async (registry: string, flags: FlagValues<'login'>) => {
      const { runLogin } = await import('./commands/login.js');
      await runLogin(registry, { ...(flags.username === undefined ? {} : { username: flags.username }), ...(flags.plainHttp ? { plainHttp: true } : {}) }, io);
      exit(0);
    });
  addFlags(
    program
      .command('key')
      .description("manage signing keys in cosign's format")
      .command('generate')
      .description('write a new key pair: <prefix>.key (encrypted with COSIGN_PASSWORD or a password asked for on the terminal, mode 0600) and <prefix>.pub'),
    'key generate',
    TOOL_VERSION,
  ).action(async (flags: FlagValues<'key generate'>) => {
    const { runKeyGenerate } = await import('./commands/key.js');
    await runKeyGenerate(flags.outputPrefix === undefined ? {} : { outputPrefix: flags.outputPrefix }, io);
    exit(0);
  });

  addFlags(
    program.command('sign').description('sign a package: a registry reference gets a cosign signature in its .sig tag, a file a detached <file>.sig'),
    'sign',
    TOOL_VERSION,
  )
    .argument('<target>', '[oci://]host[:port]/repository[:tag|@sha256:...], or a package file')
    .action(async (target: string, flags: FlagValues<'sign'>) => {
      const { runSign } = await import('./commands/sign.js');
      await runSign(
        target,
        {
          keys: flags.key ?? [],
          ...(flags.outputSignature ? { outputSignature: flags.outputSignature } : {}),
          ...(flags.plainHttp ? { plainHttp: true } : {}),
        },
        io,
      );
      exit(0);
    });

  addFlags(
    program.command('verify').description('check a signature by a public key; prints the verified digest, or fails with exit 15'),
    'verify',
    TOOL_VERSION,
  )
    .argument('<target>', '[oci://]host[:port]/repository[:tag|@sha256:...], a package file, or an http(s) URL')
    .action(async (target: string, flags: FlagValues<'verify'>) => {
      const { runVerify } = await import('./commands/verify.js');
      await runVerify(
        target,
        { keys: flags.key ?? [], ...(flags.signature ? { signature: flags.signature } : {}), ...(flags.plainHttp ? { plainHttp: true } : {}) },
        io,
      );
      exit(0);
    });
  return program;
}

/** `ecli <package> ...` is `ecli run <package> ...`: insert `run` after ecli's own leading flags. */
function withImplicitRun(argv: string[]): string[] {
  let i = 0;
  while (i < argv.length && LEADING_SWITCHES.includes(argv[i]!)) i++;
  const first = argv[i];
  if (first === undefined || first.startsWith('-') || COMMANDS.has(first)) return argv;
  return [...argv.slice(0, i), 'run', ...argv.slice(i)];
}

/**
 * `ecli runn pkg.json` would run a package named `runn`: a first word that is close to a command's
 * name, and is no file, is refused with the command it probably meant.
 */
function refuseMistypedCommand(argv: string[]): void {
  const first = argv.find((a) => !LEADING_SWITCHES.includes(a));
  if (first === undefined || COMMANDS.has(first) || first.startsWith('-') || /[./:]/.test(first) || existsSync(first)) return;
  const command = closestName(first, COMMANDS);
  if (command === undefined) return;
  throw new EcliError('USAGE', `unknown command ${first} (did you mean ${command}?)`, {
    hint: `the commands are ${[...COMMANDS].join(', ')}; a package is a file name or URL`,
  });
}

/**
 * `ecli -j run pkg.json`: a command's flag before the command. Commander would only say "unknown
 * option"; this says which command takes it and where it goes.
 */
function refuseCommandFlagBeforeCommand(argv: readonly string[]): void {
  for (const arg of argv) {
    if (COMMANDS.has(arg) || !arg.startsWith('-')) return;
    const word = arg.split('=')[0]!;
    if (ECLI_WORDS.has(word)) continue;
    const commands = commandsTaking(word);
    if (commands.length === 0) return;
    const given = argv.find((a) => COMMANDS.has(a));
    const target = commands.find((c) => c === given) ?? commands[0]!;
    const names = commands.map((c) => `ecli ${c}`);
    const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
    throw new EcliError('USAGE', `${word} is an option of ${list}, not of ecli itself: put it after the command (ecli ${target} ${word} ...)`, {
      hint: `ecli's own options (${[...ECLI_WORDS].join(', ')}) go before the command, the command's after it`,
    });
  }
}

async function main(): Promise<void> {
  const argv = withImplicitRun(process.argv.slice(2));
  // ecli's own flags stand before the command; what follows the package is the program's.
  const commandAt = argv.findIndex((arg) => COMMANDS.has(arg));
  const ecliFlags = commandAt < 0 ? argv : argv.slice(0, commandAt);
  const debug = ecliFlags.includes('--debug');
  const verbose = ecliFlags.some((a) => a === '-v' || a === '--verbose');
  // A run counts its own lost lines; any other command that could not write its output fails here.
  let stdoutFailure: NodeJS.ErrnoException | undefined;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    stdoutFailure ??= error;
  });
  const exit = (code: number): void => {
    process.stdout.write('', (error?: NodeJS.ErrnoException | null) => {
      // This callback may run before the 'error' event of the write that failed.
      const failure = stdoutFailure ?? error ?? undefined;
      const lost = code === 0 && failure !== undefined && failure.code !== 'EPIPE';
      process.exit(lost ? reportError(writeFailure(failure), { tool: 'ecli', verbose, debug }) : code);
    });
  };
  const requested: GlobalFlags = { verbose, debug };
  if (argv.length === 0) {
    // As the reference does, a usage error (exit 2); with the usage, so that it says what to type.
    process.stderr.write(`${buildProgram(exit, requested).helpInformation()}\necli: error: no command or package given\n`);
    exit(2);
    return;
  }
  try {
    refuseMistypedCommand(process.argv.slice(2));
    refuseCommandFlagBeforeCommand(process.argv.slice(2));
    await buildProgram(exit, requested).parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      exit(error.exitCode === 0 ? 0 : 2);
      return;
    }
    exit(reportError(error, { tool: 'ecli', verbose, debug: requested.debug }));
  }
}

void main();
