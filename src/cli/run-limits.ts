/**
 * `--duration`, `--count`, `--sort` and `--top` of `ecli run`, and `--chunk-size` of `ecli push`. Durations are a number with a unit (`500ms`, `10s`,
 * `1.5m`, `2h`), or a bare number of seconds, as timeout(1) takes them.
 */
import { EcliError } from '../errors.js';
import type { SortKey } from '../format/sample-order.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** setTimeout's limit: a longer timer would fire at once. */
const MAX_DURATION_MS = 2 ** 31 - 1;

export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const ms = match ? Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 's']!) : Number.NaN;
  if (!(ms >= 1 && ms <= MAX_DURATION_MS)) {
    throw new EcliError('USAGE', `--duration ${JSON.stringify(text)} is not a duration between 1ms and 596h`, {
      hint: 'give a number with a unit: 500ms, 10s, 2m or 1h (a bare number is seconds)',
    });
  }
  return ms;
}

export function parseCount(text: string): number {
  return positiveWholeNumber('--count', text, 'give how many events to print (or intervals, for sampled maps), e.g. --count 10');
}

/** Parses `--sort`: names separated by commas, each with an optional `-` (descending) or `+`. */
export function parseSort(text: string): SortKey[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s.replace(/^[+-]/, '') === '')) {
    throw new EcliError('USAGE', `--sort ${text}: empty field name`, { hint: 'give names separated by commas, e.g. --sort -count,comm' });
  }
  return items.map((item) => ({ field: item.replace(/^[+-]/, ''), descending: item.startsWith('-') }));
}

/** `--top` of sampled maps (it lives here with --count: the same kind of number). */
export function parseTop(text: string): number {
  return positiveWholeNumber('--top', text, 'give how many entries to print per interval, e.g. --top 10');
}

export function parseMaxSeries(text: string): number {
  return positiveWholeNumber('--metrics-max-series', text, 'give how many series one metric of a sampled map may keep, e.g. --metrics-max-series 50000');
}

/** The runtimes whose API ecli speaks (the Docker Engine API, which podman serves too). */
const SOCKET_RUNTIMES = ['docker', 'podman'] as const;

/** `--container-socket podman=/run/podman/podman.sock`, repeatable: runtime → socket path. */
export function parseContainerSocket(
  text: string,
  previous: Partial<Record<'docker' | 'podman', string>> | undefined,
): Partial<Record<'docker' | 'podman', string>> {
  const equals = text.indexOf('=');
  const runtime = text.slice(0, equals);
  const path = text.slice(equals + 1);
  if (equals < 0 || !(SOCKET_RUNTIMES as readonly string[]).includes(runtime) || !path.startsWith('/')) {
    throw new EcliError('USAGE', `--container-socket ${text}: give RUNTIME=PATH, the runtime one of ${SOCKET_RUNTIMES.join(', ')} and PATH absolute`, {
      hint: 'e.g. --container-socket podman=/run/podman/podman.sock (containerd and cri-o are read from their state files)',
    });
  }
  return { ...previous, [runtime]: path };
}

export function parseChunkSize(text: string): number {
  return positiveWholeNumber('--chunk-size', text, 'give the size of each upload request in bytes, e.g. --chunk-size 5242880');
}

function positiveWholeNumber(flag: string, text: string, hint: string): number {
  const count = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(count) || count < 1) {
    throw new EcliError('USAGE', `${flag} ${JSON.stringify(text)} is not a positive whole number`, { hint });
  }
  return count;
}
