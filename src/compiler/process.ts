/** Running the external tools ecc drives (clang, llvm-strip, bpftool) and finding them on PATH. */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { EcliError } from '../errors.js';

export interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The signal that ended the tool, when one did. */
  signal?: NodeJS.Signals;
}

export interface ToolRunOptions {
  /** Called with each chunk of stdout instead of collecting it. */
  onStdout?: (text: string) => void;
  /** Receives `$ <command line>` before the tool runs. */
  log?: ((line: string) => void) | undefined;
  stdin?: string;
}

/** Directories searched after PATH: bpftool lives in sbin, which a user's PATH often lacks. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** The first candidate that resolves to an executable file, as an absolute path. */
export function findExecutable(candidates: readonly string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const name of candidates) {
    const paths = name.includes('/') ? [path.resolve(name)] : dirs.map((dir) => path.join(dir, name));
    for (const file of paths) {
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {
        // not here; try the next place
      }
    }
  }
  return undefined;
}

function commandLine(file: string, args: readonly string[]): string {
  return [file, ...args].map(shellQuote).join(' ');
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Runs a tool to completion. A non-zero exit is returned, not thrown; failing to start is thrown. */
export function runTool(file: string, args: readonly string[], options: ToolRunOptions = {}): Promise<ToolRun> {
  options.log?.(`$ ${commandLine(file, args)}`);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: string[] = [];
    const stderr: string[] = [];
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (text: string) => (options.onStdout ? options.onStdout(text) : stdout.push(text)));
    child.stderr.on('data', (text: string) => stderr.push(text));
    child.on('error', (error) => {
      reject(
        new EcliError('TOOL_MISSING', `cannot run ${file}: ${error.message}`, {
          hint: 'check that the tool is installed and executable (make setup installs clang, llvm and bpftool)',
          cause: error,
        }),
      );
    });
    child.on('close', (code, signal) => {
      resolve({ code: code ?? (signal ? 128 : 1), stdout: stdout.join(''), stderr: stderr.join(''), ...(signal ? { signal } : {}) });
    });
    child.stdin.on('error', () => {
      // the tool may exit without reading its input; its exit status tells what happened
    });
    child.stdin.end(options.stdin ?? '');
  });
}
