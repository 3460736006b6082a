/** "Did you mean ...?" for a mistyped name: the closest known name within a small edit distance. */
import { distance } from 'fastest-levenshtein';

/** The known name closest to `given`, when it is close enough to be a likely typo. */
export function closestName(given: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of known) {
    const d = distance(given.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  // A third of the name may be wrong (at least one edit, so short names still get suggestions).
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(given.length / 3)) ? best : undefined;
}

/** ` (did you mean X?)`, or an empty string when nothing is close. */
export function didYouMean(given: string, known: Iterable<string>, show: (name: string) => string = (n) => n): string {
  const match = closestName(given, known);
  return match === undefined ? '' : ` (did you mean ${show(match)}?)`;
}
