/**
 * Plain-text display hints of exported struct members (`export_types[].members[].display`, which
 * our ecc writes from a `/// @display "..."` comment on the member). They change only how plain
 * text shows a column; JSON output is always the reference's.
 * - `args`: an array of strings (`char[N][M]`) as one command line: the strings joined by spaces,
 *   each quoted like a POSIX shell word when it needs quoting, trailing empty strings left out.
 * - `hidden`: the column is not shown.
 * - value hints (`errno`, `signal`, `hex`, ...): the value's readable form (hints.ts).
 */
import type { Btf } from '../btf/btf.js';
import type { Column } from '../btf/columns.js';
import { BtfKind } from '../btf/types.js';
import { EcliError } from '../errors.js';
import type { DisplayHint } from '../package/types.js';
import { controlEscape, needsEscape } from '../terminal.js';
import { isValueHint, valueHintDecoders, valueHintProblem, type HintContext, type HintDecoders, type ValueHint } from './hints.js';
import type { CompiledRecord, PlainCell } from './record.js';
import { cString, type Decoder } from './value.js';

/** `count` strings of `length` bytes when `typeId` is an array of char arrays, else undefined. */
function stringArrayShape(btf: Btf, typeId: number): { count: number; length: number } | undefined {
  const outer = btf.resolve(typeId);
  if (outer.kind !== BtfKind.Array) return undefined;
  const inner = btf.resolve(outer.type);
  if (inner.kind !== BtfKind.Array || btf.type(inner.type).name !== 'char') return undefined;
  return { count: outer.nelems, length: inner.nelems };
}

/** Why `hint` cannot apply to a value of type `typeId`; undefined when it can. */
export function displayProblem(btf: Btf, typeId: number, hint: DisplayHint): string | undefined {
  if (isValueHint(hint)) return valueHintProblem(btf, typeId, hint);
  if (hint === 'args' && !stringArrayShape(btf, typeId)) {
    return `display "args" needs an array of strings (char[N][M]), not ${btf.typeName(typeId)}`;
  }
  return undefined;
}

/** Characters a shell word may hold unquoted. */
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;
/**
 * `text` as one POSIX shell word: unquoted when safe, else in single quotes; text with characters
 * terminal.ts escapes (or a tab) uses `$'...'` with its escapes, in bash's spelling (`\u202e`), so
 * a row never spans lines and writes nothing a terminal acts on or hides.
 */
export function shellQuote(text: string): string {
  if (SAFE_WORD.test(text)) return text;
  if (!needsEscape(text) && !text.includes('\t')) return `'${text.replace(/'/g, `'\\''`)}'`;
  let quoted = '';
  for (const ch of text) {
    if (ch === '\\' || ch === "'") quoted += `\\${ch}`;
    else if (ch === '\t') quoted += '\\t';
    else if (needsEscape(ch))
      quoted += controlEscape(ch).replace(/^\\u\{([0-9a-f]+)\}$/, (_, hex: string) =>
        hex.length <= 4 ? `\\u${hex.padStart(4, '0')}` : `\\U${hex.padStart(8, '0')}`,
      );
    else quoted += ch;
  }
  return `$'${quoted}'`;
}

/** The `args` text of `count` NUL-terminated strings of `length` bytes each. */
function argsDecoder(count: number, length: number): Decoder {
  const read = cString(length);
  return (data, offset) => {
    const words: string[] = [];
    for (let i = 0; i < count; i++) words.push(read(data, offset + i * length));
    while (words.length > 0 && words[words.length - 1] === '') words.pop();
    return words.map(shellQuote).join(' ');
  };
}

/** The columns plain text shows and how, with the display hints of `record`'s columns applied. */
export function plainCells(btf: Btf, record: CompiledRecord, context: HintContext): PlainCell[] {
  const cells: PlainCell[] = [];
  for (const [i, column] of record.columns.members.entries()) {
    const value = record.values[i]!;
    if (column.display !== undefined && isValueHint(column.display)) {
      const { plain, mayBeNonAscii } = hintDecoders(btf, record.columns.describe, column, column.display, context);
      cells.push({ column, plain, mayBeNonAscii });
      continue;
    }
    switch (column.display) {
      case undefined:
        cells.push({ column, plain: value.plain, mayBeNonAscii: value.mayBeNonAscii });
        break;
      case 'hidden':
        break;
      case 'args': {
        const shape = stringArrayShape(btf, column.typeId);
        if (!shape) throw badHint(record.columns.describe, column, displayProblem(btf, column.typeId, 'args')!);
        cells.push({ column, plain: argsDecoder(shape.count, shape.length), mayBeNonAscii: true });
        break;
      }
    }
  }
  return cells;
}

/** The decoders of a column's value hint; a hint that does not fit the member's type is a PACKAGE_INVALID error. */
export function hintDecoders(btf: Btf, describe: string, column: Column, hint: ValueHint, context: HintContext): HintDecoders {
  const problem = valueHintProblem(btf, column.typeId, hint);
  if (problem) throw badHint(describe, column, problem);
  return valueHintDecoders(btf, column.typeId, hint, context);
}

function badHint(describe: string, column: Column, problem: string): EcliError {
  return new EcliError('PACKAGE_INVALID', `${describe}: member "${column.name}": ${problem}`, {
    hint: 'fix or remove the @display comment of the member and rebuild the package with ecc',
  });
}
