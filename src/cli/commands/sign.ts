/**
 * `ecli sign --key cosign.key <reference | file>`: a registry manifest gets a cosign signature
 * in its `sha256-<hex>.sig` tag (kept beside the ones there); a file gets a detached signature,
 * `<file>.sig`, the base64 signature over its bytes (what cosign sign-blob writes).
 */
import { resolve } from 'node:path';
import { EcliError } from '../../errors.js';
import { writeFileSafely } from '../../files/safe-write.js';
import { readInputFile } from '../../inputs/read-file.js';
import { getManifest } from '../../inputs/registry/api.js';
import { RegistryClient } from '../../inputs/registry/client.js';
import { classifyInput } from '../../inputs/input-kind.js';
import { redactUrl } from '../../inputs/url-credentials.js';
import { formatReference, parseReference } from '../../inputs/registry/reference.js';
import { DEFAULT_MAX_BYTES } from '../../inputs/source.js';
import { readSmallFile } from '../../signing/key-files.js';
import { decryptPrivateKey, type SigningKey } from '../../signing/keys.js';
import { readPassword } from '../../signing/password.js';
import { addSignature } from '../../signing/registry-signatures.js';
import { signBytes } from '../../signing/signature.js';
import type { CommandIo } from './io.js';

export interface SignCommandOptions {
  /** `--key`: exactly one private key. */
  keys: readonly string[];
  /** Where a file's signature goes (default `<file>.sig`). */
  outputSignature?: string;
  plainHttp?: boolean;
  env?: NodeJS.ProcessEnv;
}

export async function runSign(target: string, opts: SignCommandOptions, io: CommandIo): Promise<void> {
  const input = classifyInput(target);
  if (input.kind === 'url' || input.kind === 'stdin') {
    throw new EcliError('USAGE', `cannot sign ${target === '-' ? 'stdin' : redactUrl(target)}: sign a registry reference or a local file`, {
      hint: 'download the file, sign it, and publish its .sig beside it',
    });
  }
  const registry = input.kind === 'registry';
  if (registry && opts.outputSignature !== undefined)
    throw new EcliError('USAGE', '--output-signature is for files; a registry signature goes into its .sig tag');
  if (opts.keys.length !== 1) {
    throw new EcliError('USAGE', opts.keys.length === 0 ? 'ecli sign needs --key <private key>' : 'ecli sign takes one --key', {
      hint: 'ecli sign --key cosign.key <reference | file>; make a key pair with ecli key generate',
    });
  }
  const keyPath = opts.keys[0]!;
  const key = await openPrivateKey(keyPath, opts.env ?? process.env);
  if (registry) await signManifest(target, key, keyPath, opts, io);
  else await signFile(target, key, opts, io);
}

async function openPrivateKey(path: string, env: NodeJS.ProcessEnv): Promise<SigningKey> {
  const text = readSmallFile(path, 'the private key');
  return decryptPrivateKey(text, await readPassword({ env }, false), path);
}

async function signManifest(spec: string, key: SigningKey, keyPath: string, opts: SignCommandOptions, io: CommandIo): Promise<void> {
  const ref = parseReference(spec);
  const client = await RegistryClient.connect(ref.registry, ref.repository, 'push', opts.plainHttp ? { plainHttp: true } : {});
  const { digest } = await getManifest(client, ref);
  const pinned = formatReference({ registry: ref.registry, repository: ref.repository, digest });
  const result = await addSignature(client, { repository: ref, digest }, key);
  const where = `${formatReference(result.reference)} (${result.count} signature${result.count === 1 ? '' : 's'})`;
  if (result.added) io.stderr.write(`ecli: signed ${pinned} with ${keyPath}; stored in ${where}\n`);
  else io.stderr.write(`ecli: ${pinned} is already signed by ${keyPath} in ${where}; nothing written\n`);
  io.stdout.write(`${digest}\n`);
}

async function signFile(path: string, key: SigningKey, opts: SignCommandOptions, io: CommandIo): Promise<void> {
  const bytes = await readInputFile(path, DEFAULT_MAX_BYTES, 'sign a package file or a registry reference');
  const output = resolve(opts.outputSignature ?? `${path}.sig`);
  // src/files/safe-write: an existing signature is replaced (keeping its mode), another user's symlink refused.
  await writeFileSafely(output, signBytes(key.privateKey, bytes), { existing: 'replace', mode: 0o644 });
  io.stdout.write(`wrote ${output}\n`);
}
