/**
 * Time stamps of output lines. `hms` is the reference's: wall-clock `HH:MM:SS` in the local time
 * zone, as chrono's `%H:%M:%S` prints it. The others: `ms` adds milliseconds, `iso` is the local
 * date and time with milliseconds and the zone's offset, `ns` nanoseconds since the Unix epoch.
 */

export type TimeMode = 'none' | 'hms' | 'ms' | 'iso' | 'ns';

export const TIME_MODES: readonly TimeMode[] = ['none', 'hms', 'ms', 'iso', 'ns'];

/** Number of characters every text of `mode` has (ns: 19 digits until the year 2286). */
export function timeTextWidth(mode: TimeMode): number {
  return { none: 0, hms: 8, ms: 12, iso: 29, ns: 19 }[mode];
}

/**
 * Returns the current time as `mode` prints it. Texts are kept while they cannot change (per
 * second or millisecond). Without a `clock`, `ns` reads the monotonic clock, anchored once to
 * the wall clock, for nanosecond resolution.
 */
export function createTimeText(mode: Exclude<TimeMode, 'none'>, clock?: () => Date): () => string {
  if (mode === 'ns') {
    if (clock) return () => `${BigInt(clock().getTime()) * 1_000_000n}`;
    const anchor = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
    return () => `${anchor + process.hrtime.bigint()}`;
  }
  const now = clock ? () => clock().getTime() : Date.now;
  const unit = mode === 'hms' ? 1000 : 1;
  const render = mode === 'hms' ? hms : mode === 'ms' ? hmsMillis : isoLocal;
  let current = Number.NaN;
  let text = '';
  return () => {
    const ms = now();
    const tick = Math.floor(ms / unit);
    if (tick !== current) {
      current = tick;
      text = render(new Date(ms));
    }
    return text;
  };
}

/**
 * The current time as the JSON value of a line's `timestamp`: `ns` is a number (its digits, too
 * many for a double), the other modes are strings (of digits and punctuation: nothing to escape).
 * The same string comes back while the time text is unchanged.
 */
export function createJsonTime(mode: Exclude<TimeMode, 'none'>, clock?: () => Date): () => string {
  const text = createTimeText(mode, clock);
  if (mode === 'ns') return text;
  let last: string | undefined;
  let json = '';
  return () => {
    const now = text();
    if (now !== last) {
      last = now;
      json = `"${now}"`;
    }
    return json;
  };
}

function hms(d: Date): string {
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function hmsMillis(d: Date): string {
  return `${hms(d)}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** `HH:MM:SS.uuuuuu` local time of `ns` nanoseconds since the Unix epoch. */
export function hmsMicros(ns: bigint): string {
  const micros = (ns / 1000n) % 1_000_000n;
  return `${hms(new Date(Number(ns / 1_000_000n)))}.${micros.toString().padStart(6, '0')}`;
}

/** `2026-12-03T09:15:27.123+01:00`: local time with the zone's offset. */
export function isoLocal(d: Date): string {
  const offset = -d.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const date = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
  return `${date}T${hmsMillis(d)}${sign}${two(Math.floor(abs / 60))}:${two(abs % 60)}`;
}

function two(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}
