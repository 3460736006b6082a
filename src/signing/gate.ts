/**
 * The signature gate of an input: what the policy and the keys asked for (`--verify-key`, the
 * library's `verifyKeys`) require of it, checked before any of it is decoded. A registry
 * manifest needs a cosign signature in its `.sig` tag; a file, URL or stdin a detached signature.
 * Every requirement must hold: the policy's, and the caller's keys.
 */
import { dirname, resolve } from 'node:path';
import { EcliError } from '../errors.js';
import { TRUST_HINT } from '../files/safe-path.js';
import type { InputGate, InputToCheck } from '../inputs/gate.js';
import { sha256Hex } from '../inputs/digest.js';
import { redactUrl } from '../inputs/url-credentials.js';
import { formatReference } from '../inputs/registry/reference.js';
import { fetchSignature, loadPublicKeyFile, readSmallFile, readSmallFileIfExists } from './key-files.js';
import { verificationKey, type VerificationKey } from './keys.js';
import { parsePolicy, type Policy, type PolicyDecision } from './policy.js';
import { readSignatures } from './registry-signatures.js';
import { policyPathOf, type SigningOptions } from './options.js';
import { verifyDetachedSignature, verifyManifest, type DetachedSignature, type Requirement } from './verify.js';

const MAX_POLICY_BYTES = 1024 * 1024;

/** Reads and checks a policy file; the key files it names are read relative to its folder. */
function loadPolicyFile(path: string): Policy {
  let text: string;
  try {
    text = readSmallFile(path, 'the signing policy', { maxBytes: MAX_POLICY_BYTES, trusted: true });
  } catch (error) {
    // A policy that cannot be read refuses everything rather than allowing everything.
    throw new EcliError('SIGNATURE', `cannot use the signing policy: ${(error as EcliError).message}`, {
      hint: (error as EcliError).hint === TRUST_HINT ? TRUST_HINT : 'fix the file, or unset ECLI_POLICY if it names the wrong one',
      cause: error,
    });
  }
  return parsePolicy(text, path, (keyPath) => {
    try {
      return loadPublicKeyFile(resolve(dirname(path), keyPath));
    } catch (error) {
      throw new EcliError('SIGNATURE', `invalid signing policy ${path}: ${(error as EcliError).message}`, {
        hint: (error as EcliError).hint === TRUST_HINT ? TRUST_HINT : 'the policy names its key files relative to its own folder',
        cause: error,
      });
    }
  });
}

/** The gate for `options`; without a policy or a key it accepts every input unchecked. */
export function createSigningGate(options: SigningOptions): InputGate {
  const keys = (options.verifyKeys ?? []).map((key) => (typeof key === 'string' ? loadPublicKeyFile(key) : verificationKey(key)));
  const policyPath = policyPathOf(options);
  const policy = policyPath === undefined ? undefined : loadPolicyFile(policyPath);
  if (keys.length === 0 && policy === undefined) {
    if (options.signature !== undefined) throw new EcliError('USAGE', '--signature needs --verify-key (or a signing policy) to check it with');
    return async () => undefined;
  }
  const requested: Requirement | undefined = keys.length === 0 ? undefined : { keys, origin: options.keysOrigin ?? '--verify-key' };
  return async (input) => {
    const subject = subjectOf(input);
    const decision = policy === undefined ? undefined : decide(policy, input);
    if (decision?.action === 'refuse') {
      throw new EcliError('SIGNATURE', `${subject} is refused by the signing policy: ${decision.rule}`, {
        hint: 'ask whoever manages the policy; ecli does not run it here',
      });
    }
    const requirements = [...(decision?.action === 'verify' ? [{ keys: decision.keys, origin: decision.rule }] : []), ...(requested ? [requested] : [])];
    if (requirements.length === 0) return;
    if (input.kind === 'source') {
      throw new EcliError(
        'SIGNATURE',
        `${subject} is a C source, and a signature is required (by ${requirements.map((r) => r.origin).join(' and ')}): nothing signs what ecli would compile from it`,
        { hint: `compile it with ecc, sign the package.json it writes (ecli sign --key cosign.key package.json), and run that` },
      );
    }
    const signers = await verifyInput(input, subject, requirements, options);
    options.onVerified?.(`verified ${subject}: signed by ${[...new Set(signers.map((k) => k.name))].join(' and ')}`);
  };
}

function decide(policy: Policy, input: InputToCheck): PolicyDecision {
  switch (input.kind) {
    case 'registry':
      return policy.forRegistry(input.reference, input.digest);
    case 'url':
      return policy.urls;
    case 'file':
    case 'bytes':
    case 'source':
      return policy.files;
  }
}

/** The input in messages: a registry manifest by digest, a file or URL with its sha256. */
function subjectOf(input: InputToCheck): string {
  switch (input.kind) {
    case 'registry':
      return formatReference({ registry: input.reference.registry, repository: input.reference.repository, digest: input.digest });
    case 'file':
      return `${input.path} (sha256:${sha256Hex(input.bytes)})`;
    case 'url':
      return `${redactUrl(input.url)} (sha256:${sha256Hex(input.bytes)})`;
    case 'bytes':
      return `${input.source} (sha256:${sha256Hex(input.bytes)})`;
    case 'source':
      return input.path;
  }
}

async function verifyInput(
  input: Exclude<InputToCheck, { kind: 'source' }>,
  subject: string,
  requirements: readonly Requirement[],
  options: SigningOptions,
): Promise<VerificationKey[]> {
  if (input.kind === 'registry') {
    const found = await readSignatures(input.client, { repository: input.reference, digest: input.digest });
    return requirements.map((requirement) => verifyManifest(subject, input.digest, found, requirement).key);
  }
  const signature = await detachedSignature(input, options.signature);
  return requirements.map((requirement) => verifyDetachedSignature(subject, input.bytes, signature, requirement));
}

/**
 * Where the detached signature is, and its text if it is there. One named with --signature must
 * exist (exit 3 otherwise); the default `<file>.sig` missing means the input has no signature.
 */
async function detachedSignature(
  input: Exclude<InputToCheck, { kind: 'registry' | 'source' }>,
  given: string | Uint8Array | undefined,
): Promise<DetachedSignature> {
  if (given instanceof Uint8Array) return { text: Buffer.from(given).toString('utf8'), source: 'the signature given', missing: '' };
  if (given !== undefined) {
    const text = /^https?:\/\//i.test(given) ? await fetchNamedSignature(given) : readSmallFile(given, 'the signature');
    return { text, source: redactUrl(given), missing: '' };
  }
  const location = defaultSignatureLocation(input);
  if (location === undefined) return { text: undefined, source: '', missing: 'give its detached signature with --signature' };
  if (input.kind === 'url') return { text: await fetchSignature(location), source: redactUrl(location), missing: `${redactUrl(location)} answered 404` };
  return { text: readSmallFileIfExists(location, 'the signature'), source: location, missing: `${location} does not exist` };
}

async function fetchNamedSignature(url: string): Promise<string> {
  const text = await fetchSignature(url);
  if (text === undefined) throw new EcliError('INPUT_NOT_FOUND', `cannot read the signature ${redactUrl(url)}: HTTP 404`);
  return text;
}

/** `<file>.sig`, or the URL with `.sig` added to its path (before any query). */
function defaultSignatureLocation(input: Exclude<InputToCheck, { kind: 'registry' | 'source' }>): string | undefined {
  if (input.kind === 'file') return `${input.path}.sig`;
  if (input.kind === 'bytes') return undefined;
  const url = new URL(input.url);
  url.pathname = `${url.pathname}.sig`;
  return url.href;
}
