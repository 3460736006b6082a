/** Column widths for tables that must fit a terminal: the widest columns give way first. */

/** Narrowest a column is made (padding included), so that every column stays readable. */
const MIN_COLUMN_WIDTH = 8;

/**
 * Widths (padding included) for columns whose content needs `natural`, so that the table with its
 * borders (one more than the columns) is at most `width` characters wide; unchanged when it fits.
 * A table with too many columns to fit even at the minimum stays at the minimum.
 */
export function fitColumnWidths(natural: readonly number[], width: number): number[] {
  const widths = [...natural];
  let excess = widths.reduce((sum, w) => sum + w, 0) + widths.length + 1 - width;
  while (excess > 0) {
    const widest = widths.indexOf(Math.max(...widths));
    if (widths[widest]! <= MIN_COLUMN_WIDTH) break;
    widths[widest]!--;
    excess--;
  }
  return widths;
}
