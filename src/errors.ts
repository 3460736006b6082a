/**
 * Typed errors. Every failure a user can meet is an EcliError with a stable code;
 * the CLI maps codes to exit statuses in one place (`exitCodeFor`) and prints
 * `<tool>: error: <message>` plus an optional `hint: <hint>` line. This module imports nothing.
 */

export type ErrorCode =
  | 'USAGE' // bad command line for ecli/ecc itself or for a package's options
  | 'INPUT_NOT_FOUND' // a file or URL that cannot be read
  | 'PACKAGE_INVALID' // JSON/schema/base64/zlib/size/ELF problems in a package
  | 'BTF_INVALID' // malformed BTF, or meta that disagrees with the object's BTF
  | 'OPTION_INVALID' // a program option value that does not fit its variable
  | 'PERMISSION' // not root / missing capabilities
  | 'KERNEL_UNSUPPORTED' // the running kernel lacks a feature the package needs
  | 'LOAD_FAILED' // libbpf/verifier refused the object
  | 'ATTACH_FAILED' // a program could not be attached
  | 'RUNTIME' // failures while polling/sampling
  | 'COMPILE_FAILED' // ecc: clang/bpftool failures
  | 'TOOL_MISSING' // ecc/ecli: a required system tool or library is not installed
  | 'NETWORK' // fetching a package over HTTP(S)
  | 'INTEGRITY' // a digest that does not match its pin
  | 'REGISTRY_AUTH' // a registry refused the credentials (or anonymous access); docker's config file is unusable
  | 'SIGNATURE' // no signature, one by another key, one naming another digest, a malformed one, or a signing policy refusal
  | 'GUEST_FAULT' // a Wasm guest trapped, or handed a host call a pointer, length or table index outside its memory or table
  | 'INTERNAL'; // a bug: should never happen

export class EcliError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** Extra detail printed only with --verbose (e.g. the full verifier log). */
  readonly detail: string | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string | undefined; detail?: string | undefined; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EcliError';
    this.code = code;
    this.hint = options.hint;
    this.detail = options.detail;
  }
}

/** Exit statuses, documented in docs/errors.md. 0 is success, including a run stopped by SIGINT, SIGTERM, SIGHUP or SIGQUIT. */
const EXIT_CODES: Record<ErrorCode, number> = {
  USAGE: 2,
  INPUT_NOT_FOUND: 3,
  PACKAGE_INVALID: 4,
  BTF_INVALID: 4,
  OPTION_INVALID: 2,
  PERMISSION: 5,
  KERNEL_UNSUPPORTED: 6,
  LOAD_FAILED: 7,
  ATTACH_FAILED: 8,
  RUNTIME: 9,
  COMPILE_FAILED: 10,
  TOOL_MISSING: 11,
  NETWORK: 12,
  INTEGRITY: 13,
  REGISTRY_AUTH: 14,
  SIGNATURE: 15,
  GUEST_FAULT: 16,
  INTERNAL: 70,
};

export function exitCodeFor(error: unknown): number {
  return error instanceof EcliError ? EXIT_CODES[error.code] : EXIT_CODES.INTERNAL;
}

/** The RUNTIME error for a failed write to stdout; with line counts when they are known (a run). */
export function writeFailure(error: { code?: string | undefined; message: string }, written?: number, lost?: number): EcliError {
  const reason = error.code ?? error.message;
  const lines = (n: number | undefined): string => `${n} line${n === 1 ? '' : 's'}`;
  const counts = written === undefined ? '; the output is incomplete' : ` after ${lines(written)}; ${lines(lost)} ${lost === 1 ? 'was' : 'were'} not written`;
  return new EcliError('RUNTIME', `writing to stdout failed (${reason})${counts}`, {
    hint: error.code === 'ENOSPC' ? 'free space where stdout goes, or send it elsewhere' : 'check where stdout goes (a full disk, a closed or broken file)',
    cause: error,
  });
}
