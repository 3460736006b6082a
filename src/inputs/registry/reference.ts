/**
 * Registry references: `[oci://]host[:port]/repository[:tag][@sha256:<hex>]`. Pure.
 *
 * A reference always names its registry: the part before the first `/` must contain a `.` or a
 * `:`, or be `localhost` (as docker tells a registry host from a Docker Hub user name).
 * `tools/x:v1` is therefore a relative path, never Docker Hub.
 */
import { EcliError } from '../../errors.js';

export interface RegistryReference {
  /** `host[:port]`, lower case and in one spelling (canonicalRegistry): the key for credentials and the policy. */
  registry: string;
  repository: string;
  tag?: string;
  /** `sha256:<64 hex>`. */
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$/;
const MAX_NAME = 255;
export const DEFAULT_TAG = 'latest';

const FORM = 'expected [oci://]host[:port]/repository[:tag] or [oci://]host[:port]/repository@sha256:<64 hex digits>';

const OCI_PREFIX = 'oci://';

/** `oci://` before a reference: a registry reference whatever else the string looks like. */
export function hasOciPrefix(spec: string): boolean {
  return spec.slice(0, OCI_PREFIX.length).toLowerCase() === OCI_PREFIX;
}

/** True when `spec` has the shape of a reference (it may still be invalid: parse it to know). */
export function looksLikeReference(spec: string): boolean {
  if (spec.includes('://')) return false;
  const slash = spec.indexOf('/');
  if (slash <= 0) return false;
  const host = spec.slice(0, slash);
  if (host.startsWith('.')) return false;
  return host.includes('.') || host.includes(':') || host.toLowerCase() === 'localhost';
}

/** Parses a reference, written with or without `oci://`; a USAGE error says which part is wrong. */
export function parseReference(spec: string): RegistryReference {
  const fail = (what: string): never => {
    throw new EcliError('USAGE', `invalid registry reference ${JSON.stringify(spec)}: ${what}`, { hint: FORM });
  };
  const body = hasOciPrefix(spec) ? spec.slice(OCI_PREFIX.length) : spec;
  const slash = body.indexOf('/');
  const userinfo = body.indexOf('@');
  if (userinfo >= 0 && (slash < 0 || userinfo < slash)) {
    // Not repeated: what comes before the @ is a user name and perhaps a password.
    throw new EcliError(
      'USAGE',
      'invalid registry reference: it carries a user name or password before the host, which ecli does not take from the command line',
      {
        hint: 'log in once with: ecli login -u <user> <host[:port]> (it reads the password from stdin); then name the reference without them',
      },
    );
  }
  if (slash <= 0) fail('it does not name a registry host');
  const written = body.slice(0, slash).toLowerCase();
  const registry = canonicalRegistry(written) ?? fail(`${JSON.stringify(written)} is not a host[:port]`);
  let rest = body.slice(slash + 1);
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) fail(`${JSON.stringify(digest)} is not a digest (sha256: and 64 lower-case hexadecimal digits)`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) fail(`${JSON.stringify(tag)} is not a tag (letters, digits, _ . -, at most 128, not starting with . or -)`);
  }
  if (rest === '') fail('the repository name is empty');
  for (const component of rest.split('/')) {
    if (!COMPONENT.test(component)) {
      fail(`repository component ${JSON.stringify(component)} must be lower-case letters and digits separated by . _ __ or -`);
    }
  }
  if (rest.length > MAX_NAME) fail(`the repository name is longer than ${MAX_NAME} characters`);
  return { registry, repository: rest, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

/** The manifest reference to ask for: the digest when there is one, else the tag (default latest). */
export function manifestReference(ref: RegistryReference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

export function formatReference(ref: RegistryReference): string {
  const base = `${ref.registry}/${ref.repository}`;
  if (ref.digest !== undefined) return `${base}@${ref.digest}`;
  return `${base}:${ref.tag ?? DEFAULT_TAG}`;
}

/**
 * One spelling per registry address, so that the policy and the credentials, which match on it,
 * cannot be passed by another spelling of the same address: an IPv4 address in any form the URL
 * parser connects to (127.1, 0x7f.0.0.1, 2130706433, 0177.0.0.1) as dotted decimal, an IPv6 one
 * compressed, an IPv4-mapped IPv6 address ([::ffff:127.0.0.1]) as the IPv4 one, a port without
 * leading zeros. Names are lower case already. undefined: not a host[:port].
 */
export function canonicalRegistry(text: string): string | undefined {
  if (!HOST.test(text)) return undefined;
  const hostEnd = text.startsWith('[') ? text.indexOf(']') + 1 : text.includes(':') ? text.indexOf(':') : text.length;
  let host: string;
  try {
    host = new URL(`http://${text.slice(0, hostEnd)}/`).hostname;
  } catch {
    return undefined; // e.g. a name whose last label is a number but not an IPv4 address: nothing connects to it
  }
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(host);
  if (mapped !== null) {
    const [high, low] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
    host = [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  }
  if (hostEnd === text.length) return host;
  const port = Number(text.slice(hostEnd + 1));
  return port >= 1 && port <= 65535 ? `${host}:${port}` : undefined;
}

/** Loopback registries (`localhost`, 127.0.0.0/8, `[::1]`) may be spoken to over plain HTTP. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(0, registry.indexOf(']') + 1) : registry.replace(/:[0-9]+$/, '');
  return host === 'localhost' || host === '[::1]' || /^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$/.test(host);
}

/** The registry of `ecli login`: `host[:port]`, also accepted as `https://host[:port]/...` (docker's key form). */
export function parseRegistryHost(spec: string): string {
  const host = canonicalRegistry(
    spec
      .replace(/^https?:\/\//i, '')
      .split('/')[0]!
      .toLowerCase(),
  );
  if (host === undefined) {
    throw new EcliError('USAGE', `invalid registry ${JSON.stringify(spec)}: expected host[:port], e.g. ghcr.io or 127.0.0.1:5000`);
  }
  return host;
}
