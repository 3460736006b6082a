/**
 * `ecc <source.bpf.c> [header.h]`: compile a BPF program into an ecli package.
 * Progress goes to stderr as `INFO ...` lines; errors as `ecc: error: ...` plus `hint: ...`.
 */
import { Command, CommanderError } from 'commander';
import { EcliError } from '../errors.js';
import { escapeControlsInLines } from '../terminal.js';
import type { EccLogger } from '../compiler/ecc.js';
import { reportError } from './report.js';
import { TOOL_VERSION } from '../version.js';

interface EccCliOptions {
  outputPath?: string;
  additionalCflags?: string[];
  clangBin?: string;
  llvmStripBin?: string;
  verbose?: boolean;
  generatePackageJson: boolean;
  headerOnly?: boolean;
  wasmSkeleton?: boolean;
}

function buildCommand(): Command {
  return new Command('ecc')
    .description('Compile an eBPF C program into an ecli package (package.json)')
    .argument('<source>', 'the BPF C source, e.g. prog.bpf.c (the header itself with --header-only)')
    .argument('[header]', 'header defining the event struct(s) to export to user space')
    .option('-o, --output-path <dir>', "output directory (default: the source's directory)")
    .option('-a, --additional-cflags <flags>', 'extra clang flags; repeatable, split on spaces', (value: string, previous: string[] | undefined) => [
      ...(previous ?? []),
      value,
    ])
    .option('-c, --clang-bin <path>', 'clang to use (default: $ECC_CLANG, else clang on PATH)')
    .option('-l, --llvm-strip-bin <path>', 'llvm-strip to use (default: llvm-strip on PATH)')
    .option('-v, --verbose', 'print each command ecc runs and full diagnostics')
    .option('-n, --no-generate-package-json', 'write only <name>.bpf.o and <name>.skel.json')
    .option('--header-only', 'compile the header alone into a BTF-only object (for its export types)')
    .option('--wasm-skeleton', 'also write <name>.skel.h and libbpf-wasm.h, to build a wasm-bpf guest (user space in WebAssembly)')
    .option('--debug', 'show stack traces of errors')
    .version(TOOL_VERSION, '-V, --version')
    .helpOption('-h, --help', 'print help')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
}

function stderrLogger(verbose: boolean): EccLogger {
  const write = (line: string) => process.stderr.write(`${escapeControlsInLines(line)}\n`);
  return {
    info: (line) => write(`INFO ${line}`),
    warn: (line) => write(`ecc: warning: ${line}`),
    diagnostics: (text) => write(text.trimEnd()),
    ...(verbose ? { verbose: write } : {}),
  };
}

/** Runs ecc with `argv` (without node and script); returns the exit status. */
async function runEcc(argv: readonly string[]): Promise<number> {
  const command = buildCommand();
  let verbose = false;
  try {
    command.parse([...argv], { from: 'user' });
    const options = command.opts<EccCliOptions>();
    verbose = options.verbose === true;
    const [source, header] = command.processedArgs as [string, string | undefined];
    // Loaded only to compile: `--help` and `--version` do without the compiler.
    const { runEccPipeline } = await import('../compiler/ecc.js');
    await runEccPipeline({
      source,
      ...(header === undefined ? {} : { header }),
      ...(options.outputPath === undefined ? {} : { outputDir: options.outputPath }),
      additionalCflags: options.additionalCflags ?? [],
      ...(options.clangBin === undefined ? {} : { clang: options.clangBin }),
      ...(options.llvmStripBin === undefined ? {} : { llvmStrip: options.llvmStripBin }),
      generatePackage: options.generatePackageJson,
      headerOnly: options.headerOnly === true,
      wasmSkeleton: options.wasmSkeleton === true,
      logger: stderrLogger(verbose),
    });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      return reportError(new EcliError('USAGE', error.message.replace(/^error: /, ''), { hint: 'run ecc --help for usage' }), {
        tool: 'ecc',
        verbose: false,
        debug: false,
      });
    }
    // clang's own diagnostics are the most useful part of a compile failure: always show them.
    if (error instanceof EcliError && error.code === 'COMPILE_FAILED' && error.detail && !verbose) {
      process.stderr.write(`${escapeControlsInLines(error.detail.trimEnd())}\n`);
    }
    return reportError(error, { tool: 'ecc', verbose, debug: argv.includes('--debug') });
  }
}

void runEcc(process.argv.slice(2)).then((status) => {
  process.exitCode = status;
});
