/**
 * Registry references: `[oci://]host[:port]/repository[:tag][@sha256:<hex>]`. Pure.
 *
 * A reference always names its registry: the part before the first `/` must contain a `.` or a
 * `:`, or be `localhost` (as docker tells a registry host from a Docker Hub user name).
 * `tools/x:v1` is therefore a relative path, never Docker Hub.
 */
import { EcliError } from '../../errors.js';

export interface RegistryReference {
  /** `host[:port]` as written (lower case), the key for credentials. */
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
  if (slash <= 0) fail('it does not name a registry host');
  const registry = body.slice(0, slash).toLowerCase();
  if (!HOST.test(registry)) fail(`${JSON.stringify(registry)} is not a host[:port]`);
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

/** Loopback registries (`localhost`, 127.0.0.0/8, `[::1]`) may be spoken to over plain HTTP. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(0, registry.indexOf(']') + 1) : registry.replace(/:[0-9]+$/, '');
  return host === 'localhost' || host === '[::1]' || /^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$/.test(host);
}

/** The registry of `ecli login`: `host[:port]`, also accepted as `https://host[:port]/...` (docker's key form). */
export function parseRegistryHost(spec: string): string {
  const host = spec
    .replace(/^https?:\/\//i, '')
    .split('/')[0]!
    .toLowerCase();
  if (!HOST.test(host)) {
    throw new EcliError('USAGE', `invalid registry ${JSON.stringify(spec)}: expected host[:port], e.g. ghcr.io or 127.0.0.1:5000`);
  }
  return host;
}
