/** Turns any thrown value into the one-line report users see, and the exit status. */
import { EcliError, exitCodeFor } from '../errors.js';
import { escapeControls, escapeControlsInLines } from '../terminal.js';

export interface ReportOptions {
  /** The tool name used as the prefix: `ecli` or `ecc`. */
  tool: string;
  /** Print the error's detail (e.g. a full verifier log). */
  verbose: boolean;
  /** Print stack traces. */
  debug: boolean;
}

/**
 * The report of `error`. Messages quote package and event strings, so their control characters
 * are escaped (terminal.ts): the message and the hint stay one line each.
 */
export function formatError(error: unknown, options: ReportOptions): string {
  const lines: string[] = [];
  if (error instanceof EcliError) {
    lines.push(`${options.tool}: error: ${escapeControls(error.message)}`);
    if (error.hint) lines.push(`hint: ${escapeControls(error.hint)}`);
    if (error.detail && options.verbose) lines.push(escapeControlsInLines(error.detail.trimEnd()));
  } else {
    const message = error instanceof Error ? error.message : String(error);
    lines.push(`${options.tool}: internal error: ${escapeControls(message)}`);
    if (!options.debug) lines.push('hint: this is a bug; rerun with --debug and report the output');
  }
  if (options.debug && error instanceof Error && error.stack) lines.push(escapeControlsInLines(error.stack));
  return lines.join('\n') + '\n';
}

/** Writes the report to stderr and returns the exit status for `error`. */
export function reportError(error: unknown, options: ReportOptions): number {
  process.stderr.write(formatError(error, options));
  return exitCodeFor(error);
}
