/** Wall-clock `HH:MM:SS` in the local time zone, as chrono's `%H:%M:%S` prints it. */

/** Returns the current local time of day; the text is rebuilt only when the second changes. */
export function createTimeOfDay(clock?: () => Date): () => string {
  const now = clock ? () => clock().getTime() : Date.now;
  let second = Number.NaN;
  let text = '';
  return () => {
    const ms = now();
    const s = Math.floor(ms / 1000);
    if (s !== second) {
      second = s;
      const d = new Date(ms);
      text = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
    }
    return text;
  };
}

function two(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}
