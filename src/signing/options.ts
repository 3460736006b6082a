/**
 * What a caller asks of signatures (`ecli run --verify-key`, the library's `verifyKeys`), and
 * the gate for it. Light on purpose: a run without keys or a policy loads no signing code.
 */
import { lstatSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type { InputGate } from '../inputs/gate.js';

export const SYSTEM_POLICY_PATH = '/etc/ecli/policy.json';

export interface SigningOptions {
  /** Public keys: a signature by any one of them is required. Paths to PEM files, or key objects. */
  verifyKeys?: readonly (string | KeyObject)[];
  /** How messages name who asked for those keys (default `--verify-key`). */
  keysOrigin?: string;
  /**
   * The detached signature of a file, URL or stdin input: a path or URL, or the signature file's
   * bytes. Default: `<file>.sig`, `<url>.sig`.
   */
  signature?: string | Uint8Array;
  /** The policy file; default ECLI_POLICY, else /etc/ecli/policy.json when there is one (a dangling link counts). false: none (ecli verify, pull, inspect). */
  policy?: string | false;
  env?: NodeJS.ProcessEnv;
  /** Told what was verified, e.g. `verified host/repo@sha256:...: signed by cosign.pub`. */
  onVerified?: (message: string) => void;
}

/** The policy file `options` ask for: none (policy false), the one named, else the one in force (policyPathFrom). */
export function policyPathOf(options: SigningOptions): string | undefined {
  return options.policy === false ? undefined : (options.policy ?? policyPathFrom(options.env ?? process.env));
}

/** The policy file in force: ECLI_POLICY when set, else the system one when there is one. */
function policyPathFrom(env: NodeJS.ProcessEnv): string | undefined {
  const named = env.ECLI_POLICY;
  if (named !== undefined && named !== '') return named;
  return somethingAt(SYSTEM_POLICY_PATH) ? SYSTEM_POLICY_PATH : undefined;
}

/**
 * Only "no such file" means there is no policy. A dangling symlink (its file system not mounted
 * yet), a folder ecli may not search or anything else in the way is a policy that cannot be read,
 * which refuses everything: a policy must never be skipped because it failed to open.
 */
function somethingAt(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** The gate for `options`, or undefined when no key, signature or policy asks for one. */
export async function loadSigningGate(options: SigningOptions): Promise<InputGate | undefined> {
  const policy = policyPathOf(options);
  if ((options.verifyKeys ?? []).length === 0 && options.signature === undefined && policy === undefined) return undefined;
  const { createSigningGate } = await import('./gate.js');
  // The policy as found here: not looked for a second time.
  return createSigningGate({ ...options, policy: policy ?? false });
}
