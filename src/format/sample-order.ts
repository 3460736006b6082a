/**
 * `--sort` and `--top` for sampled maps: the order in which one interval's entries are printed,
 * and how many. `--sort -count,comm` orders by `count` descending, then `comm` ascending
 * (Inspektor Gadget's style); a field is a member of the map's key or value (key first).
 * Numbers compare as numbers, strings by their text, anything else by its JSON text.
 */
import type { Btf } from '../btf/btf.js';
import type { Column, Columns } from '../btf/columns.js';
import { EcliError } from '../errors.js';
import { didYouMean } from '../suggest.js';
import { namedKeyColumns } from './fields.js';
import { asBuffer, ValueCompiler, type Decoder } from './value.js';

export interface SortKey {
  field: string;
  descending: boolean;
}

export interface SampleOrderSettings {
  /** `--sort`: the fields to order each interval's entries by. */
  sort?: SortKey[];
  /** `--top`: print at most this many entries per interval (after sorting). */
  top?: number;
}

/** One map entry: key and value bytes. */
export type MapEntry = readonly [Uint8Array, Uint8Array];

type Comparable = bigint | number | string | undefined;

/**
 * Orders and cuts one interval's entries as `settings` asks; undefined when it asks nothing.
 * Throws USAGE for a field neither the key nor the value has.
 */
export function createSampleOrder(
  btf: Btf,
  key: Columns,
  value: Columns,
  settings: SampleOrderSettings,
  mapName: string,
): ((entries: MapEntry[]) => MapEntry[]) | undefined {
  const { sort = [], top } = settings;
  if (sort.length === 0 && top === undefined) return undefined;
  const compiler = new ValueCompiler(btf);
  const readers = sort.map(({ field, descending }) => {
    const found = findField(key, value, field, mapName);
    return { read: comparableReader(compiler.compile(found.column.typeId).json, found.column, found.inKey), descending };
  });
  return (entries) => {
    let shown = entries;
    if (readers.length > 0) {
      const decorated = entries.map((entry) => ({ entry, values: readers.map((r) => r.read(entry)) }));
      decorated.sort((a, b) => {
        for (let i = 0; i < readers.length; i++) {
          const [x, y] = [a.values[i], b.values[i]];
          // Entries too short to read the field go last, whatever the direction.
          if (x === undefined || y === undefined) {
            if (x === y) continue;
            return x === undefined ? 1 : -1;
          }
          const order = compare(x, y);
          if (order !== 0) return readers[i]!.descending ? -order : order;
        }
        return 0;
      });
      shown = decorated.map((d) => d.entry);
    }
    return top === undefined ? shown : shown.slice(0, top);
  };
}

function findField(key: Columns, value: Columns, field: string, mapName: string): { column: Column; inKey: boolean } {
  // A key that is one number is `key`, as plain text shows it, or its type's name, as JSON does.
  const named = namedKeyColumns(key);
  const at = named.members.findIndex((c) => c.name === field);
  const inKey = at >= 0 ? key.members[at] : key.members.find((c) => c.name === field);
  if (inKey) return { column: inKey, inKey: true };
  const inValue = value.members.find((c) => c.name === field);
  if (inValue) return { column: inValue, inKey: false };
  const names = [...named.members, ...value.members].map((c) => c.name).filter((n) => n !== '');
  throw new EcliError('USAGE', `--sort: map ${mapName} has no field ${field}${didYouMean(field, names)}`, {
    hint: names.length > 0 ? `its key and value fields are ${names.join(', ')}` : 'its key and value members have no names',
  });
}

/** The value of `column` in an entry, as something to compare; undefined when the entry is too short (sorted last). */
function comparableReader(json: Decoder, column: Column, inKey: boolean): (entry: MapEntry) => Comparable {
  return (entry) => {
    const bytes = asBuffer(inKey ? entry[0] : entry[1]);
    if (bytes.length < column.offset + column.size) return undefined;
    const text = json(bytes, column.offset);
    if (/^-?\d+$/.test(text)) return BigInt(text);
    if (/^-?\d/.test(text)) return Number(text);
    if (text.startsWith('"')) return JSON.parse(text) as string;
    return text;
  };
}

function compare(a: bigint | number | string, b: bigint | number | string): number {
  if (typeof a === typeof b || (typeof a !== 'string' && typeof b !== 'string')) {
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const [x, y] = [String(a), String(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}
