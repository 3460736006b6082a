/** Turns any thrown value into the one-line report users see, and the exit status. */
import { EcliError, exitCodeFor } from '../errors.js';

export interface ReportOptions {
  /** The tool name used as the prefix: `ecli` or `ecc`. */
  tool: string;
  /** Print the error's detail (e.g. a full verifier log). */
  verbose: boolean;
  /** Print stack traces. */
  debug: boolean;
}

export function formatError(error: unknown, options: ReportOptions): string {
  const lines: string[] = [];
  if (error instanceof EcliError) {
    lines.push(`${options.tool}: error: ${error.message}`);
    if (error.hint) lines.push(`hint: ${error.hint}`);
    if (error.detail && options.verbose) lines.push(error.detail.trimEnd());
  } else {
    const message = error instanceof Error ? error.message : String(error);
    lines.push(`${options.tool}: internal error: ${message}`);
    if (!options.debug) lines.push('hint: this is a bug; rerun with --debug and report the output');
  }
  if (options.debug && error instanceof Error && error.stack) lines.push(error.stack);
  return lines.join('\n') + '\n';
}

/** Writes the report to stderr and returns the exit status for `error`. */
export function reportError(error: unknown, options: ReportOptions): number {
  process.stderr.write(formatError(error, options));
  return exitCodeFor(error);
}
