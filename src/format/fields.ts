/**
 * `--fields` (in the style of Inspektor Gadget's `--fields`): which columns an output shows.
 * `pid,comm` shows exactly these, in this order; `-ppid,+argv` starts from the default columns
 * and removes or adds (adding also brings back a column whose display hint hides it).
 */
import type { Column, Columns } from '../btf/columns.js';
import { EcliError } from '../errors.js';
import { didYouMean } from '../suggest.js';
import { CONTAINER_KEY } from './container.js';

export type FieldSelection = { kind: 'only'; names: string[] } | { kind: 'change'; add: string[]; remove: string[] };

/** Parses the text of `--fields`; throws USAGE for an empty name, a name given twice or a mix of both styles. */
export function parseFields(text: string): FieldSelection {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '' || s === '+' || s === '-')) {
    throw new EcliError('USAGE', `--fields ${text}: empty field name`, { hint: 'give names separated by commas, e.g. --fields pid,comm or --fields -ppid' });
  }
  const names = items.map((s) => s.replace(/^[+-]/, ''));
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated !== undefined) {
    throw new EcliError('USAGE', `--fields ${text}: ${repeated} is named twice`, { hint: 'name each field once' });
  }
  const signed = items.filter((s) => s.startsWith('+') || s.startsWith('-'));
  if (signed.length === 0) return { kind: 'only', names: items };
  if (signed.length !== items.length) {
    throw new EcliError('USAGE', `--fields ${text}: mixes plain names with +/- changes`, {
      hint: 'either list the fields to show (pid,comm) or change the default ones (-ppid,+argv)',
    });
  }
  return {
    kind: 'change',
    add: items.filter((s) => s.startsWith('+')).map((s) => s.slice(1)),
    remove: items.filter((s) => s.startsWith('-')).map((s) => s.slice(1)),
  };
}

/**
 * The field of an event's container (format/container.ts), which is not a member of its struct:
 * formatters tell it from the members by identity. It comes first, before the members.
 */
export const CONTAINER_COLUMN: Column = Object.freeze({ name: CONTAINER_KEY, typeId: 0, offset: 0, size: 0 });

/**
 * The columns `selection` keeps, in output order. `shown` tells whether a column is shown by
 * default (display hints hide some in plain text). With `container`, the events carry their
 * container and CONTAINER_COLUMN may be selected (`shown` decides whether it is by default).
 * Throws USAGE for a name no column has.
 */
export function selectColumns(columns: Columns, selection: FieldSelection, shown: (c: Column) => boolean = () => true, container = false): Column[] {
  const all = container && !columns.members.some((c) => c.name === CONTAINER_KEY) ? [CONTAINER_COLUMN, ...columns.members] : columns.members;
  const byName = new Map(all.map((c) => [c.name, c]));
  const find = (name: string): Column => {
    const column = byName.get(name);
    if (column) return column;
    const hint = `its fields are ${[...byName.keys()].join(', ')}${name === CONTAINER_KEY ? `; ${CONTAINER_KEY} needs a process id (pid, tgid) or cgroup id member` : ''}`;
    throw new EcliError('USAGE', `--fields: ${columns.describe} has no field ${name}${didYouMean(name, byName.keys())}`, { hint });
  };
  if (selection.kind === 'only') return selection.names.map(find);
  const removed = new Set(selection.remove.map((name) => find(name).name));
  const added = new Set(selection.add.map((name) => find(name).name));
  return all.filter((c) => !removed.has(c.name) && (added.has(c.name) || shown(c)));
}

/** What a sampled map's key column that is not a struct member is called in plain text, --fields and --sort. */
export const SCALAR_KEY_NAME = 'key';

/**
 * A sampled map's key columns as plain text names them: a key that is one integer (or array) has
 * a single column named after its type (`u32`, as the reference's JSON names it), which a header
 * would show as `U32`; it is called `key` instead. Struct keys keep their member names.
 */
export function namedKeyColumns(key: Columns): Columns {
  const [only] = key.members;
  if (key.members.length !== 1 || only === undefined || /^(struct|union) /.test(key.describe)) return key;
  return { ...key, members: [{ ...only, name: SCALAR_KEY_NAME }] };
}

/** How messages name a sampled map's entry, whose columns are its key's and its value's: `a __u32 → struct counter entry`. */
export function sampleEntryName(key: Columns, value: Columns): string {
  return `a ${key.describe} → ${value.describe} entry`;
}

/**
 * `--fields` over a sampled map's key and value columns (the key's plain names, see
 * namedKeyColumns): the indexes of the key and value columns kept, in output order for each.
 */
export function selectSampleColumns(key: Columns, value: Columns, selection: FieldSelection): { key: number[]; value: number[] } {
  const named = namedKeyColumns(key);
  const joined: Columns = { describe: sampleEntryName(key, value), members: [...named.members, ...value.members], size: key.size + value.size };
  const kept = selectColumns(joined, selection);
  return {
    key: kept.map((c) => named.members.indexOf(c)).filter((i) => i >= 0),
    value: kept.map((c) => value.members.indexOf(c)).filter((i) => i >= 0),
  };
}
