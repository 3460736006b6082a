/**
 * The regular expressions of `~` and `!~`: RE2's syntax and semantics, as Inspektor Gadget's
 * filters (Go's regexp) have them, through re2js, a JavaScript port of RE2. Matching takes time
 * linear in the text whatever the pattern, which matters because the text is event data that
 * anyone on the host controls (a process name, a file name); JavaScript's own RegExp
 * backtracks, and `(a+)+$` against a crafted 256-byte file name would stall the run. RE2 has no
 * backreferences and no lookaround, so patterns using them are refused when the filter is parsed.
 * re2js is loaded only when a filter has a regular expression.
 */
import { EcliError } from '../errors.js';

/** Whether the pattern matches somewhere in the text (unanchored, as Go's MatchString). */
export type TextMatcher = (text: string) => boolean;

export type RegexCompiler = (pattern: string, rule: string) => TextMatcher;

const REGEX_HINT = "regular expressions use RE2's syntax (as in Inspektor Gadget): no backreferences (\\1) and no lookaround ((?=, (?!, (?<=, (?<!)";

/** re2js, loaded on first use. */
export async function loadRegexCompiler(): Promise<RegexCompiler> {
  const { RE2JS } = await import('re2js');
  return (pattern, rule) => {
    try {
      const compiled = RE2JS.compile(pattern);
      return (text) => compiled.test(text);
    } catch (error) {
      const reason = error instanceof Error ? error.message.replace(/^error parsing regexp: /, '') : String(error);
      throw new EcliError('USAGE', `--filter ${rule}: ${pattern} is not a regular expression: ${reason}`, { hint: REGEX_HINT });
    }
  };
}
