/**
 * The width a plain-text column starts at, from what its values look like, so that the common
 * values of a type fit from the first row and the header is printed once (as libbpf-tools' fixed
 * printf widths do): `char[16]` → 16, a 32-bit integer → 7 (process ids up to Linux's largest
 * pid_max, 4194304), a 64-bit one → 12, an errno name → 8. A value that is wider still widens
 * its column, and the header is printed again.
 */
import type { Btf } from '../btf/btf.js';
import type { Column } from '../btf/columns.js';
import { BtfKind } from '../btf/types.js';
import type { DisplayHint } from '../package/types.js';
import { isCharArray } from './value.js';

/** Strings wider than this start narrower: a 256-byte path would push every later column off screen. */
const MAX_START_WIDTH = 32;

/** Typical text widths of each display hint's values. */
const HINT_WIDTHS: Readonly<Record<DisplayHint, number | undefined>> = {
  args: MAX_START_WIDTH,
  hidden: undefined,
  errno: 8, // -ENOENT, -EACCES
  signal: 8, // SIGTERM, SIGRTMIN
  duration: 9, // 123.456ms
  boot_ns: 15, // 13:03:16.572652
  ipv4: 15, // 255.255.255.255
  ipv6: 25, // most addresses in RFC 5952 form
  port: 5,
  flags: 16,
  hex: undefined, // from the size
};

/** Integer texts by byte size: -128, -32768, pids (7 digits), counters and ids below 10^12. */
const INTEGER_WIDTHS: Readonly<Record<number, number>> = { 1: 4, 2: 6, 4: 7, 8: 12 };

/** The start width of `column`'s text (without the separating space); 0 when nothing typical is known. */
export function startWidth(btf: Btf, column: Column): number {
  const hint = column.display;
  if (hint === 'hex') return Math.min(2 + 2 * column.size, MAX_START_WIDTH);
  if (hint !== undefined) return HINT_WIDTHS[hint] ?? 0;
  const t = btf.resolve(column.typeId);
  switch (t.kind) {
    case BtfKind.Int:
      return t.bool ? 5 : (INTEGER_WIDTHS[t.size] ?? 0);
    case BtfKind.Ptr:
      return 20;
    case BtfKind.Float:
      return 10;
    case BtfKind.Enum:
    case BtfKind.Enum64:
      // Enumerators print as NAME(value).
      return Math.min(Math.max(0, ...t.values.map((v) => v.name.length + String(v.value).length + 2)), MAX_START_WIDTH);
    case BtfKind.Array:
      return isCharArray(btf, t) ? Math.min(t.nelems, MAX_START_WIDTH) : 0;
    default:
      return 0;
  }
}
