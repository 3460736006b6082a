/**
 * Prometheus' text format (version 0.0.4) for the families ecli writes itself: the series of
 * sampled maps, which can be many. prom-client's Registry builds an object per series and the
 * whole text as one string before anything is sent; these families are written a slice of series
 * at a time instead, so a scrape neither holds the whole text nor blocks the event loop while it
 * is made. The format's rules are few: label values escape `\`, `"` and newlines; HELP escapes `\`
 * and newlines; values are numbers, `NaN`, `+Inf` or `-Inf`.
 */
import { escapeControls } from '../terminal.js';

/** A family written in slices. `constantLabels` is the `name="value"` text put on every series (or empty). */
export interface StreamedFamily {
  /** The family's text, a slice of series at a time. */
  render(constantLabels: string): Iterable<string>;
}

/** Series per slice: a slice of a histogram with 27 buckets is about 80 KB of text. */
export const SERIES_PER_SLICE = 256;

export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`)) : value;
}

/** `name="value",...` of the pairs given (names are valid label names already). */
export function labelText(pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',');
}

/** Both label texts, joined. */
export function joinLabels(a: string, b: string): string {
  return a === '' ? b : b === '' ? a : `${a},${b}`;
}

/** The `# HELP` and `# TYPE` lines; package text in the help is escaped for terminals that show it. */
export function familyHeader(name: string, help: string, type: 'gauge' | 'histogram'): string {
  const text = escapeControls(help).replace(/\\/g, '\\\\');
  return `# HELP ${name} ${text}\n# TYPE ${name} ${type}\n`;
}

/** One sample line: `name{labels} value`. */
export function sampleLine(name: string, labels: string, value: number): string {
  return `${name}${labels === '' ? '' : `{${labels}}`} ${sampleValue(value)}\n`;
}

function sampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
