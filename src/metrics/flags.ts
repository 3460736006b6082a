/** The values of `--metrics HOST:PORT` and `--metrics-labels k=v,...`. */
import { isIPv6 } from 'node:net';
import { EcliError } from '../errors.js';

export interface ListenAddress {
  /** A host name or IP address, without brackets. */
  host: string;
  port: number;
}

const ADDRESS_HINT = 'give HOST:PORT, e.g. --metrics 127.0.0.1:9464, or [::]:9464 for every IPv6 and IPv4 address';

/** `127.0.0.1:9464`, `localhost:9464`, `[::]:9464`, `[::1]:0` (0: any free port). */
export function parseListenAddress(text: string): ListenAddress {
  const bad = (why: string): never => {
    throw new EcliError('USAGE', `--metrics ${text}: ${why}`, { hint: ADDRESS_HINT });
  };
  const colon = text.lastIndexOf(':');
  if (colon < 0) bad('no port');
  let host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) {
    host = host.slice(1, -1);
    if (!isIPv6(host)) bad(`${host} is not an IPv6 address`);
  } else if (host.includes(':')) {
    bad('an IPv6 address must be in brackets');
  }
  if (host === '') bad('no host');
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) bad(`port ${portText || '(empty)'} is not a number from 0 to 65535`);
  return { host, port: Number(portText) };
}

/** Text of an address for messages and URLs: IPv6 in brackets. */
export function formatListenAddress({ host, port }: ListenAddress): string {
  return `${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The word of `--metrics-labels` that asks for the event counters by container. */
const BY_CONTAINER = 'container';

/**
 * `host=web1,role=db` → {host: 'web1', role: 'db'}; the word `container` among them asks for
 * events counted by container. Label values cannot hold commas.
 */
export function parseMetricsLabels(text: string): { constant: Record<string, string>; byContainer: boolean } {
  const items = text.split(',');
  const pairs = items.filter((item) => item !== BY_CONTAINER);
  return { constant: constantLabels(pairs, text), byContainer: pairs.length < items.length };
}

/** `host=web1,role=db` → {host: 'web1', role: 'db'}. Label values cannot hold commas. */
export function parseConstantLabels(text: string): Record<string, string> {
  return constantLabels(text.split(','), text);
}

/** The labels of `NAME=VALUE` pairs; `given` is the flag's text, for messages. */
function constantLabels(pairs: readonly string[], given: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    const name = equals < 0 ? pair : pair.slice(0, equals);
    const bad = (why: string): never => {
      throw new EcliError('USAGE', `--metrics-labels ${given}: ${why}`, {
        hint: 'give NAME=VALUE pairs separated by commas, e.g. --metrics-labels host=web1,role=db, and the word container to count events by container',
      });
    };
    if (equals < 0) bad(`"${pair}" has no =`);
    if (!LABEL_NAME.test(name) || name.startsWith('__')) bad(`"${name}" is not a label name (letters, digits and _, not starting with a digit or __)`);
    if (name in labels) bad(`label ${name} is given twice`);
    labels[name] = pair.slice(equals + 1);
  }
  return labels;
}
