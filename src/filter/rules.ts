/**
 * The text of `--filter`, in Inspektor Gadget's syntax: rules separated by commas, all of which
 * must hold (`comm~^ba,pid>100`). A rule is a field name, an operator and a value; `\,` is a
 * comma inside a value, and every other backslash is kept as written (so a regular expression's
 * `\d` or `\.` reaches the regular expression unchanged). Pure: which fields exist and what their
 * values mean is decided when the rules are compiled against a record (compile.ts).
 */
import { EcliError } from '../errors.js';

/** The comparison of a rule: equality and order on numbers and strings, `~` a regular expression match on strings. */
export type FilterOperator = '==' | '!=' | '<' | '<=' | '>' | '>=' | '~' | '!~';

export interface FilterRule {
  /** The field's name; for a shorthand, what the field holds (the process id member is `pid` or `tgid`). */
  field: string;
  operator: FilterOperator;
  /** The value as written, `\,` unescaped. */
  value: string;
  /** The rule as written, for messages. */
  text: string;
  /** `--pid`, `--comm`, `--container`: each export's member holding that, whatever its name. */
  shorthand?: FilterShorthand;
}

/** The filters libbpf-tools users type: `-p PID`, `-c COMM`, and ig's `--containername`. */
export type FilterShorthand = 'pid' | 'comm' | 'container';

/** The rule of `--pid N`, `--comm NAME` or `--container NAME`. */
export function shorthandRule(shorthand: FilterShorthand, value: string): FilterRule {
  return { field: shorthand, operator: '==', value, text: `--${shorthand} ${value}`, shorthand };
}

/** Longest first, so `<=` is not read as `<` followed by a value `=...`. `=` is ig's alias of `==`. */
const OPERATORS: ReadonlyArray<[string, FilterOperator]> = [
  ['==', '=='],
  ['!=', '!='],
  ['<=', '<='],
  ['>=', '>='],
  ['!~', '!~'],
  ['<', '<'],
  ['>', '>'],
  ['~', '~'],
  ['=', '=='],
];

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const FILTER_HINT = "write FIELD OPERATOR VALUE rules separated by commas, e.g. --filter 'comm~^(ba|da)sh$,pid>100' (operators: == != < <= > >= ~ !~)";

/** Parses the text of `--filter`. Throws USAGE for a rule without a field or an operator. */
export function parseFilterRules(text: string): FilterRule[] {
  return splitRules(text).map((rule) => parseRule(rule, text));
}

/** Splits at commas not preceded by a backslash; `\,` becomes `,` and other backslashes stay. */
function splitRules(text: string): string[] {
  const rules: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && text[i + 1] === ',') {
      current += ',';
      i++;
    } else if (c === ',') {
      rules.push(current);
      current = '';
    } else current += c;
  }
  rules.push(current);
  return rules;
}

function parseRule(rule: string, whole: string): FilterRule {
  const bad = (why: string): never => {
    throw new EcliError('USAGE', `--filter ${whole}: ${why}`, { hint: FILTER_HINT });
  };
  if (rule.trim() === '') bad(whole.trim() === '' ? 'no rule' : 'an empty rule (two commas in a row, or one at an end)');
  const at = rule.search(/[=!<>~]/);
  if (at < 0) bad(`rule "${rule}" has no operator`);
  const field = rule.slice(0, at).trim();
  if (field === '') bad(`rule "${rule}" names no field before its operator`);
  if (!FIELD_NAME.test(field)) bad(`"${field}" is not a field name (letters, digits, _ and . between names)`);
  const match = OPERATORS.find(([written]) => rule.startsWith(written, at));
  if (match === undefined) bad(`rule "${rule}" has no operator at "${rule.slice(at)}"`);
  const [written, operator] = match!;
  return { field, operator, value: rule.slice(at + written.length), text: rule };
}
