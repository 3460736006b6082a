/** "Did you mean ...?" for a mistyped name: the closest known name within a small edit distance. */
import { distance } from 'fastest-levenshtein';

/** The known name closest to `given`, when it is close enough to be a likely typo. */
export function closestName(given: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of known) {
    const d = editDistance(given.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  // A third of the name may be wrong (at least one edit, so short names still get suggestions).
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(given.length / 3)) ? best : undefined;
}

/**
 * Levenshtein's distance, except that two neighbouring letters typed the other way round
 * (`pdi` for `pid`) count as one edit, as in Damerau's: the most common typo of all, which
 * Levenshtein counts as two and would leave a short name without a suggestion.
 */
function editDistance(a: string, b: string): number {
  return isOneSwap(a, b) ? 1 : distance(a, b);
}

function isOneSwap(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i + 1 < a.length && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
}

/** ` (did you mean X?)`, or an empty string when nothing is close. */
export function didYouMean(given: string, known: Iterable<string>, show: (name: string) => string = (n) => n): string {
  const match = closestName(given, known);
  return match === undefined ? '' : ` (did you mean ${show(match)}?)`;
}
