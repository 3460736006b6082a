/**
 * `WWW-Authenticate` challenges (RFC 7235): `Basic realm="x"` or
 * `Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"`. Pure.
 */

export interface Challenge {
  /** Lower case: `basic` or `bearer` (others are kept as they are named). */
  scheme: string;
  params: Record<string, string>;
}

const PARAM = /\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)/y;

/** The first challenge of the header (registries send one); undefined when there is none. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (header === null) return undefined;
  const match = /^\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?:\s+|$)/.exec(header);
  if (match === null) return undefined;
  const params: Record<string, string> = {};
  PARAM.lastIndex = match[0].length;
  for (let found = PARAM.exec(header); found !== null; found = PARAM.exec(header)) {
    params[found[1]!.toLowerCase()] = found[2] !== undefined ? found[2].replace(/\\(.)/g, '$1') : found[3]!;
    if (PARAM.lastIndex >= header.length) break;
  }
  return { scheme: match[1]!.toLowerCase(), params };
}
