/**
 * The signing policy of a machine (`/etc/ecli/policy.json`, or the file ECLI_POLICY names): for
 * each input, whether it must be signed and by which keys, may run unsigned, or is refused.
 *
 *   { "version": 1,
 *     "registries": [ { "match": "ghcr.io/org/*", "action": "verify", "keys": ["org.pub"] },
 *                     { "match": "ghcr.io/vendor/tool@sha256:<hex>", "action": "allow" },
 *                     { "match": "*", "action": "refuse" } ],
 *     "files": { "action": "allow" },
 *     "urls": { "action": "verify", "keys": ["org.pub"] } }
 *
 * A registry input takes the most specific rule that matches it: a digest, then a repository,
 * then the longest `prefix/*`, then `*`. An input no rule covers is refused. Parsing is pure:
 * key files are read through the loader given.
 */
import { EcliError } from '../errors.js';
import { duplicateKey } from '../package/codec.js';
import { isObject } from '../inputs/registry/json.js';
import { parseReference, type RegistryReference } from '../inputs/registry/reference.js';
import type { VerificationKey } from './keys.js';

export type PolicyAction = 'verify' | 'allow' | 'refuse';

export interface PolicyDecision {
  action: PolicyAction;
  /** Keys of a `verify` decision: any one of them must have signed. */
  keys: readonly VerificationKey[];
  /** The rule that decided, for messages: `/etc/ecli/policy.json registries[1] (match "ghcr.io/org/*")`. */
  rule: string;
}

export interface Policy {
  source: string;
  /** The decision for the manifest `digest` of a repository. */
  forRegistry(repository: RegistryReference, digest: string): PolicyDecision;
  /** Local files, stdin, and bytes given to the library. */
  readonly files: PolicyDecision;
  /** http(s) URLs. */
  readonly urls: PolicyDecision;
}

type Pattern = { kind: 'any' } | { kind: 'prefix'; prefix: string } | { kind: 'repository'; name: string } | { kind: 'digest'; name: string; digest: string };

interface RegistryRule {
  pattern: Pattern;
  decision: PolicyDecision;
}

const ACTIONS: readonly PolicyAction[] = ['verify', 'allow', 'refuse'];
const POLICY_HINT = 'see "Signing policy" in docs/signing.md for the format';

/** Parses policy JSON; `loadKey(path)` reads a key named in it (relative to the policy's folder). */
export function parsePolicy(text: string, source: string, loadKey: (path: string) => VerificationKey): Policy {
  const fail = (what: string): never => {
    throw new EcliError('SIGNATURE', `invalid signing policy ${source}: ${what}`, { hint: POLICY_HINT });
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return fail(`not JSON (${(error as Error).message})`);
  }
  // JSON.parse keeps the last of two: a reader of the file could see the other one and trust it.
  const duplicate = duplicateKey(text);
  if (duplicate !== undefined) fail(`${duplicate.where} has the key ${JSON.stringify(duplicate.key)} twice`);
  if (!isObject(value)) return fail('it is not a JSON object');
  onlyKeys(value, ['version', 'registries', 'files', 'urls'], 'the top level', fail);
  if (value.version !== 1) fail(`"version" must be 1 (got ${JSON.stringify(value.version)})`);
  const registries = value.registries ?? [];
  if (!Array.isArray(registries)) return fail('"registries" must be an array of rules');
  const rules: RegistryRule[] = registries.map((rule, i) => {
    const where = `registries[${i}]`;
    if (!isObject(rule)) return fail(`${where} is not an object`);
    onlyKeys(rule, ['match', 'action', 'keys'], where, fail);
    if (typeof rule.match !== 'string') return fail(`${where} has no "match" string`);
    const pattern = parsePattern(rule.match, `${where}.match`, fail);
    return { pattern, decision: parseDecision(rule, where, `${source} ${where} (match ${JSON.stringify(rule.match)})`, loadKey, fail) };
  });
  const seen = new Map<string, number>();
  rules.forEach((rule, i) => {
    const key = JSON.stringify(rule.pattern);
    const earlier = seen.get(key);
    if (earlier !== undefined) fail(`registries[${i}] matches the same inputs as registries[${earlier}]`);
    seen.set(key, i);
  });
  const section = (name: 'files' | 'urls'): PolicyDecision => {
    const given = value[name];
    if (given === undefined)
      return { action: 'refuse', keys: [], rule: `${source} (it has no "${name}" entry, so ${name === 'files' ? 'local files' : 'URLs'} are refused)` };
    if (!isObject(given)) return fail(`"${name}" must be an object`);
    onlyKeys(given, ['action', 'keys'], `"${name}"`, fail);
    return parseDecision(given, `"${name}"`, `${source} "${name}"`, loadKey, fail);
  };
  const files = section('files');
  const urls = section('urls');
  return {
    source,
    files,
    urls,
    forRegistry(repository, digest) {
      const name = policyName(repository);
      const matching = rules.filter((rule) => matches(rule.pattern, name, digest));
      const best = matching.sort((a, b) => specificity(b.pattern) - specificity(a.pattern))[0];
      return best?.decision ?? { action: 'refuse', keys: [], rule: `${source} (no rule in "registries" matches ${name})` };
    },
  };
}

function parseDecision(
  value: Record<string, unknown>,
  where: string,
  rule: string,
  loadKey: (path: string) => VerificationKey,
  fail: (what: string) => never,
): PolicyDecision {
  const action = value.action;
  if (typeof action !== 'string' || !ACTIONS.includes(action as PolicyAction)) {
    return fail(`${where}.action must be one of ${ACTIONS.map((a) => `"${a}"`).join(', ')} (got ${JSON.stringify(action)})`);
  }
  if (action !== 'verify') {
    if (value.keys !== undefined) fail(`${where} has "keys", which only "verify" uses`);
    return { action: action as PolicyAction, keys: [], rule };
  }
  const keys = value.keys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k): k is string => typeof k === 'string' && k !== '')) {
    return fail(`${where}.keys must list the public key files (at least one) for "verify"`);
  }
  return { action: 'verify', keys: keys.map(loadKey), rule };
}

/** `*`, `host[:port]/*`, `host/path/*`, `host/repo`, `host/repo@sha256:<hex>`; never a tag. */
function parsePattern(text: string, where: string, fail: (what: string) => never): Pattern {
  if (text === '*') return { kind: 'any' };
  const isPrefix = text.endsWith('/*');
  const body = isPrefix ? text.slice(0, -2) : text;
  if (body.includes('*')) return fail(`${where} ${JSON.stringify(text)}: * may only stand alone, or end a pattern as /*`);
  let ref: RegistryReference;
  try {
    // A prefix is checked as the name of a repository inside it, and kept as parsed (oci:// dropped, the host in one spelling).
    ref = parseReference(isPrefix ? `${body}/x` : body);
  } catch (error) {
    return fail(`${where} ${JSON.stringify(text)} is not a registry pattern: ${(error as EcliError).message}`);
  }
  if (isPrefix) return { kind: 'prefix', prefix: policyName(ref).slice(0, -'/x'.length) };
  if (ref.tag !== undefined) {
    return fail(`${where} ${JSON.stringify(text)} names a tag, which can be moved to other content: name the repository, a prefix/*, or a digest`);
  }
  const name = policyName(ref);
  return ref.digest === undefined ? { kind: 'repository', name } : { kind: 'digest', name, digest: ref.digest };
}

/**
 * `host[:port]/repository` as rules and inputs are compared: the host as parseReference spells it,
 * without a default port (443, or 80 for plain http), so `ghcr.io:443/x` is `ghcr.io/x`.
 */
function policyName(ref: RegistryReference): string {
  return `${ref.registry.replace(/:(?:443|80)$/, '')}/${ref.repository}`;
}

function matches(pattern: Pattern, name: string, digest: string): boolean {
  switch (pattern.kind) {
    case 'any':
      return true;
    case 'prefix':
      return name.startsWith(`${pattern.prefix}/`);
    case 'repository':
      return name === pattern.name;
    case 'digest':
      return name === pattern.name && digest === pattern.digest;
  }
}

/** Higher is more specific: a digest over a repository over longer prefixes over `*`. */
function specificity(pattern: Pattern): number {
  switch (pattern.kind) {
    case 'any':
      return 0;
    case 'prefix':
      return 1 + pattern.prefix.length;
    case 'repository':
      return 1e6;
    case 'digest':
      return 2e6;
  }
}

function onlyKeys(value: Record<string, unknown>, allowed: readonly string[], where: string, fail: (what: string) => never): void {
  const unknown = Object.keys(value).filter((k) => !allowed.includes(k));
  if (unknown.length > 0)
    fail(`${where} has ${unknown.map((k) => JSON.stringify(k)).join(', ')}, which is not one of ${allowed.map((k) => `"${k}"`).join(', ')}`);
}
