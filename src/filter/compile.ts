/**
 * Filter rules compiled against a record's columns into predicates on its bytes (members and
 * their display hints' `_text` forms) and on its container. Everything about the rules (the
 * fields exist, the values fit their types, the regular expressions parse) is checked here,
 * before anything is loaded; the predicates only read bytes and compare.
 *
 * Numbers compare as numbers (integers of any width exactly, enums also by enumerator name),
 * bools by `==`/`!=` with true/false/1/0, strings (char arrays, `_text` forms, container fields)
 * by equality, byte order or a regular expression. A host process's container fields are empty
 * strings, so `container==` keeps host events and `container!=` container events.
 */
import { Buffer } from 'node:buffer';
import type { Btf } from '../btf/btf.js';
import type { Column, Columns } from '../btf/columns.js';
import { BtfKind } from '../btf/types.js';
import { EcliError } from '../errors.js';
import { CONTAINER_FIELDS, CONTAINER_KEY, containerField, SHORT_ID_LENGTH, type ContainerField, type ContainerInfo } from '../format/container.js';
import { hintDecoders } from '../format/display.js';
import { isValueHint, twinKey, type HintContext } from '../format/hints.js';
import { cString, isCharArray } from '../format/value.js';
import { didYouMean } from '../suggest.js';
import type { RegexCompiler, TextMatcher } from './regex.js';
import type { FilterOperator, FilterRule } from './rules.js';

export type MemberPredicate = (data: Buffer, offset: number) => boolean;
export type ContainerPredicate = (container: ContainerInfo | undefined) => boolean;

export interface RecordFilter {
  /** All rules on the record's own bytes; undefined when there are none. */
  readonly members: MemberPredicate | undefined;
  /** All rules on its container; undefined when there are none. */
  readonly container: ContainerPredicate | undefined;
}

export interface FilterTarget {
  btf: Btf;
  columns: Columns;
  /** The member holding the process id, for `--pid` (pid, tgid, or the one the package marks). */
  pidField?: string | undefined;
  /** Whether the records have a container to filter on (enrichment finds one for them). */
  containers: boolean;
  hints: HintContext;
  /** Compiles `~` patterns; needed only when a rule has one (loadRegexCompiler). */
  regex?: RegexCompiler | undefined;
}

type Reader<T> = (data: Buffer, offset: number) => T;

/** How a field's values are read and compared. */
type FieldKind =
  | { kind: 'integer'; read: Reader<number>; min: number; max: number; enumValues?: ReadonlyMap<string, bigint> }
  | { kind: 'bigint'; read: Reader<bigint>; min: bigint; max: bigint; enumValues?: ReadonlyMap<string, bigint> }
  | { kind: 'float'; read: Reader<number> }
  | { kind: 'bool'; read: Reader<boolean> }
  | { kind: 'string'; read: Reader<string>; bytes?: { length: number; at: number } }
  | { kind: 'container'; field: ContainerField };

interface Field {
  name: string;
  describe: string;
  kind: FieldKind;
}

export function compileFilter(rules: readonly FilterRule[], target: FilterTarget): RecordFilter {
  const fields = fieldsOf(target);
  const members: MemberPredicate[] = [];
  const container: ContainerPredicate[] = [];
  for (const rule of rules) {
    const name = fieldName(rule, target);
    if (name === undefined) {
      throw new EcliError('USAGE', `${ruleName(rule)}: ${target.columns.describe} has no process id member`, {
        hint: `--pid compares a member named pid or tgid (or one the package marks with /// @container "pid"); see its fields with ecli inspect`,
      });
    }
    const field = fields.get(name);
    const member = target.columns.members.find((c) => c.name === name);
    if (field === undefined && member !== undefined) {
      throw new EcliError('USAGE', `${ruleName(rule)}: ${name} is ${target.btf.typeName(member.typeId)}, which a filter cannot compare`, {
        hint: 'filters compare numbers, bools, enums and strings (char arrays)',
      });
    }
    if (field === undefined) {
      const close = didYouMean(name, fields.keys());
      const names = [...fields.keys()];
      throw new EcliError('USAGE', `${ruleName(rule)}: ${target.columns.describe} has no field ${name}${close}`, {
        hint: `its fields are ${names.join(', ')}${asksForContainer(name) && !target.containers && !target.columns.members.some((c) => c.name === CONTAINER_KEY) ? containerlessNote(target.columns) : ''}`,
      });
    }
    const compiled = compileRule(rule, field, target.regex);
    if ('container' in compiled) container.push(compiled.container);
    else members.push(compiled.members);
  }
  return { members: all(members), container: all(container) };
}

/** The field a rule compares in `target`: a shorthand's is the member holding that there. */
function fieldName(rule: FilterRule, target: FilterTarget): string | undefined {
  return rule.shorthand === 'pid' ? target.pidField : rule.field;
}

/** How messages name a rule: `--filter comm~x`, or the shorthand as given (`--pid 42`). */
function ruleName(rule: FilterRule): string {
  return rule.shorthand === undefined ? `--filter ${rule.text}` : rule.text;
}

/**
 * Whether `rule` names a field `target` has (whether it can be compared or not). A package with
 * several exports applies each rule to the exports that have its field, as ig applies a filter
 * to the data sources that have it.
 */
export function hasField(rule: FilterRule, target: FilterTarget): boolean {
  const name = fieldName(rule, target);
  return name !== undefined && (fieldsOf(target).has(name) || target.columns.members.some((c) => c.name === name));
}

/** `container` and `container.name`...: the fields only events with a process or cgroup id have. */
function asksForContainer(name: string): boolean {
  return name === CONTAINER_KEY || name.startsWith(`${CONTAINER_KEY}.`);
}

function containerlessNote(columns: Columns): string {
  return `; container fields need a process id (pid, tgid) or cgroup id member in ${columns.describe}`;
}

/** One predicate that holds when all do, without a loop for the common one-rule case. */
function all<A extends unknown[]>(predicates: Array<(...args: A) => boolean>): ((...args: A) => boolean) | undefined {
  if (predicates.length === 0) return undefined;
  if (predicates.length === 1) return predicates[0];
  return (...args) => {
    for (const p of predicates) if (!p(...args)) return false;
    return true;
  };
}

/** Every field a rule may name: the members, the `_text` forms of hinted members, the container's fields. */
function fieldsOf(target: FilterTarget): Map<string, Field> {
  const { btf, columns } = target;
  const fields = new Map<string, Field>();
  for (const column of columns.members) {
    const kind = memberKind(btf, column);
    if (kind !== undefined) fields.set(column.name, { name: column.name, describe: btf.typeName(column.typeId), kind });
  }
  for (const column of columns.members) {
    const hint = column.display;
    const twin = twinKey(column.name);
    if (hint === undefined || !isValueHint(hint) || fields.has(twin) || columns.members.some((c) => c.name === twin)) continue;
    const { plain } = hintDecoders(btf, columns.describe, column, hint, target.hints);
    const at = column.offset;
    fields.set(twin, { name: twin, describe: `the ${hint} text of ${column.name}`, kind: { kind: 'string', read: (d, o) => plain(d, o + at) } });
  }
  if (target.containers && !fields.has(CONTAINER_KEY)) {
    fields.set(CONTAINER_KEY, { name: CONTAINER_KEY, describe: 'the container name', kind: { kind: 'container', field: 'name' } });
    for (const field of CONTAINER_FIELDS) {
      const name = `${CONTAINER_KEY}.${field}`;
      fields.set(name, { name, describe: `the container ${field}`, kind: { kind: 'container', field } });
    }
  }
  return fields;
}

/** How a member is compared; undefined for members that are neither numbers nor strings (structs, arrays of numbers). */
function memberKind(btf: Btf, column: Column): FieldKind | undefined {
  const t = btf.resolve(column.typeId);
  const at = column.offset;
  switch (t.kind) {
    case BtfKind.Int:
      if (t.bool) return { kind: 'bool', read: (d, o) => d[o + at] !== 0 };
      if (t.bits !== t.size * 8) return undefined;
      return integerKind(t.size, t.signed, at);
    case BtfKind.Ptr:
      return integerKind(8, false, at);
    case BtfKind.Enum:
    case BtfKind.Enum64: {
      if (t.size !== 1 && t.size !== 2 && t.size !== 4 && t.size !== 8) return undefined;
      const bits = t.size * 8;
      const signed = t.signed && t.values.every((v) => v.value < 1n << BigInt(bits - 1));
      const kind = integerKind(t.size, signed, at);
      if (kind === undefined) return undefined;
      return { ...kind, enumValues: new Map(t.values.map((v) => [v.name, v.value])) } as FieldKind;
    }
    case BtfKind.Float:
      if (t.size === 4) return { kind: 'float', read: (d, o) => d.readFloatLE(o + at) };
      if (t.size === 8) return { kind: 'float', read: (d, o) => d.readDoubleLE(o + at) };
      return undefined;
    case BtfKind.Array: {
      if (!isCharArray(btf, t)) return undefined;
      const text = cString(t.nelems);
      return { kind: 'string', read: (d, o) => text(d, o + at), bytes: { length: t.nelems, at } };
    }
    default:
      return undefined;
  }
}

function integerKind(size: number, signed: boolean, at: number): FieldKind | undefined {
  switch (size) {
    case 1:
      return signed
        ? { kind: 'integer', read: (d, o) => d.readInt8(o + at), min: -128, max: 127 }
        : { kind: 'integer', read: (d, o) => d[o + at]!, min: 0, max: 255 };
    case 2:
      return signed
        ? { kind: 'integer', read: (d, o) => d.readInt16LE(o + at), min: -32768, max: 32767 }
        : { kind: 'integer', read: (d, o) => d.readUInt16LE(o + at), min: 0, max: 65535 };
    case 4:
      return signed
        ? { kind: 'integer', read: (d, o) => d.readInt32LE(o + at), min: -(2 ** 31), max: 2 ** 31 - 1 }
        : { kind: 'integer', read: (d, o) => d.readUInt32LE(o + at), min: 0, max: 2 ** 32 - 1 };
    case 8:
      return signed
        ? { kind: 'bigint', read: (d, o) => d.readBigInt64LE(o + at), min: -(2n ** 63n), max: 2n ** 63n - 1n }
        : { kind: 'bigint', read: (d, o) => d.readBigUInt64LE(o + at), min: 0n, max: 2n ** 64n - 1n };
    default:
      return undefined;
  }
}

type Compiled = { members: MemberPredicate } | { container: ContainerPredicate };

function compileRule(rule: FilterRule, field: Field, regex: RegexCompiler | undefined): Compiled {
  const fail = (why: string, hint: string): never => {
    throw new EcliError('USAGE', `${ruleName(rule)}: ${why}`, { hint });
  };
  const { kind } = field;
  const { operator } = rule;
  const isRegex = operator === '~' || operator === '!~';
  if (isRegex && kind.kind !== 'string' && kind.kind !== 'container') {
    fail(`${field.name} is ${field.describe}, not a string: ~ and !~ match strings`, `compare numbers with == != < <= > >=`);
  }
  switch (kind.kind) {
    case 'integer':
    case 'bigint': {
      const value = integerValue(rule, field, kind);
      if (kind.kind === 'integer') return { members: ordered(operator, kind.read, Number(value)) };
      return { members: ordered(operator, kind.read, value) };
    }
    case 'float': {
      const value = Number(rule.value.trim());
      if (rule.value.trim() === '' || !Number.isFinite(value))
        fail(`${JSON.stringify(rule.value)} is not a number (${field.name} is ${field.describe})`, 'give a decimal number');
      return { members: ordered(operator, kind.read, value) };
    }
    case 'bool': {
      if (operator !== '==' && operator !== '!=') fail(`${field.name} is a bool: compare it with == or !=`, `e.g. --filter ${field.name}==true`);
      const text = rule.value.trim();
      if (!['true', 'false', '1', '0'].includes(text)) fail(`${JSON.stringify(rule.value)} is not a bool`, 'give true, false, 1 or 0');
      const wanted = text === 'true' || text === '1';
      const read = kind.read;
      return { members: operator === '==' ? (d, o) => read(d, o) === wanted : (d, o) => read(d, o) !== wanted };
    }
    case 'string': {
      if (isRegex) return { members: matching(operator, kind.read, compileRegex(rule, regex)) };
      if (operator === '==' || operator === '!=') {
        const equal = kind.bytes ? bytesEqual(rule, kind.bytes, field) : textEqual(kind.read, rule.value);
        return { members: operator === '==' ? equal : (d, o) => !equal(d, o) };
      }
      return { members: ordered(operator, kind.read, rule.value) };
    }
    case 'container': {
      const which = kind.field;
      const read = (c: ContainerInfo | undefined): string => containerField(c, which);
      if (isRegex) {
        const match = compileRegex(rule, regex);
        return { container: operator === '~' ? (c) => match(read(c)) : (c) => !match(read(c)) };
      }
      // Ids are also given in their short form, as docker and podman print them.
      const equal: ContainerPredicate =
        which === 'id' && rule.value.length === SHORT_ID_LENGTH ? (c) => read(c).slice(0, SHORT_ID_LENGTH) === rule.value : (c) => read(c) === rule.value;
      if (operator === '==') return { container: equal };
      if (operator === '!=') return { container: (c) => !equal(c) };
      const compare = ordered(operator, (c: ContainerInfo | undefined) => read(c), rule.value);
      return { container: compare };
    }
  }
}

function compileRegex(rule: FilterRule, regex: RegexCompiler | undefined): TextMatcher {
  if (regex === undefined) throw new EcliError('INTERNAL', `${ruleName(rule)}: no regular expression engine was loaded`);
  return regex(rule.value, rule.text);
}

/** A predicate comparing what `read` returns with `value`. */
function ordered<A extends unknown[], T extends number | bigint | string>(
  operator: FilterOperator,
  read: (...args: A) => T,
  value: T,
): (...args: A) => boolean {
  switch (operator) {
    case '==':
      return (...args) => read(...args) === value;
    case '!=':
      return (...args) => read(...args) !== value;
    case '<':
      return (...args) => read(...args) < value;
    case '<=':
      return (...args) => read(...args) <= value;
    case '>':
      return (...args) => read(...args) > value;
    case '>=':
      return (...args) => read(...args) >= value;
    default:
      throw new EcliError('INTERNAL', `operator ${operator} does not order values`);
  }
}

/**
 * Regular expression results are kept per text: the same process names and paths come back
 * event after event. The cache is emptied when it fills, which bounds its memory.
 */
const MATCH_CACHE_SIZE = 4096;

function matching(operator: FilterOperator, read: Reader<string>, match: TextMatcher): MemberPredicate {
  const seen = new Map<string, boolean>();
  const cached = (text: string): boolean => {
    let result = seen.get(text);
    if (result === undefined) {
      result = match(text);
      if (seen.size >= MATCH_CACHE_SIZE) seen.clear();
      seen.set(text, result);
    }
    return result;
  };
  return operator === '~' ? (d, o) => cached(read(d, o)) : (d, o) => !cached(read(d, o));
}

function textEqual(read: Reader<string>, value: string): MemberPredicate {
  return (d, o) => read(d, o) === value;
}

/**
 * `==` on a char array, on its bytes: the value's UTF-8 bytes, then a NUL or the array's end. No
 * string is made per event. A value longer than the array matches nothing: it is refused.
 */
function bytesEqual(rule: FilterRule, array: { length: number; at: number }, field: Field): MemberPredicate {
  const { length, at } = array;
  const wanted = Buffer.from(rule.value, 'utf8');
  if (wanted.length > length || wanted.includes(0)) {
    throw new EcliError(
      'USAGE',
      `${ruleName(rule)}: ${field.name} (${field.describe}) holds at most ${length} bytes, so it never equals ${JSON.stringify(rule.value)}`,
      {
        hint: `the kernel cuts longer strings: match their start with ~, e.g. --filter '${field.name}~^${rule.value.slice(0, Math.min(8, length))}'`,
      },
    );
  }
  const size = wanted.length;
  return (d, o) => {
    const start = o + at;
    for (let i = 0; i < size; i++) if (d[start + i] !== wanted[i]) return false;
    return size === length || d[start + size] === 0;
  };
}

/** The integer a rule compares with: decimal or 0x hex, or an enumerator's name; within the member's range. */
function integerValue(rule: FilterRule, field: Field, kind: Extract<FieldKind, { kind: 'integer' | 'bigint' }>): bigint {
  const text = rule.value.trim();
  const named = kind.enumValues?.get(text);
  if (named !== undefined) return named;
  const match = /^([+-]?)(0x[0-9a-f]+|[0-9]+)$/i.exec(text);
  const enums = kind.enumValues ? ` or one of ${[...kind.enumValues.keys()].join(', ')}` : '';
  if (match === null) {
    throw new EcliError('USAGE', `${ruleName(rule)}: ${JSON.stringify(rule.value)} is not a number (${field.name} is ${field.describe})`, {
      hint: `give a whole number in decimal or 0x hex${enums}`,
    });
  }
  const value = BigInt(match[2]!) * (match[1] === '-' ? -1n : 1n);
  const [min, max] = [BigInt(kind.min), BigInt(kind.max)];
  if (value < min || value > max) {
    throw new EcliError('USAGE', `${ruleName(rule)}: ${text} is out of range for ${field.name} (${field.describe}: ${min} to ${max})`, {
      hint: `give a value from ${min} to ${max}${enums}`,
    });
  }
  return value;
}
