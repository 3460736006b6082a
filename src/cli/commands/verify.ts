/**
 * `ecli verify --key cosign.pub <reference | file | url>`: exit 0 and the verified digest on
 * stdout when a signature by the key checks; one SIGNATURE line (exit 15) otherwise. Checks only
 * the keys given (no policy), and decodes nothing.
 */
import { EcliError } from '../../errors.js';
import { sha256Hex } from '../../inputs/digest.js';
import { fetchBounded } from '../../inputs/fetch.js';
import type { InputGate } from '../../inputs/gate.js';
import { classifyInput } from '../../inputs/input-kind.js';
import { readInputFile, readStdinPackage } from '../../inputs/read-file.js';
import { getManifest } from '../../inputs/registry/api.js';
import { RegistryClient } from '../../inputs/registry/client.js';
import { parseReference } from '../../inputs/registry/reference.js';
import { DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_MS, pullWithDeadline } from '../../inputs/source.js';
import { createSigningGate } from '../../signing/gate.js';
import type { CommandIo } from './io.js';

export interface VerifyCommandOptions {
  keys: readonly string[];
  signature?: string;
  plainHttp?: boolean;
}

const MAX_REDIRECTS = 5;

export async function runVerify(target: string, opts: VerifyCommandOptions, io: CommandIo): Promise<void> {
  if (opts.keys.length === 0) throw new EcliError('USAGE', 'ecli verify needs --key <public key>', { hint: 'ecli verify --key cosign.pub <reference | file>' });
  const gate = createSigningGate({
    verifyKeys: opts.keys,
    keysOrigin: '--key',
    policy: false,
    ...(opts.signature === undefined ? {} : { signature: opts.signature }),
    onVerified: (message) => io.stderr.write(`ecli: ${message}\n`),
  });
  io.stdout.write(`${await verifyTarget(target, gate, opts, process.stdin)}\n`);
}

/** Runs the gate on the target; the digest it verified. */
async function verifyTarget(target: string, gate: InputGate, opts: VerifyCommandOptions, stdin: NodeJS.ReadableStream): Promise<string> {
  const input = classifyInput(target);
  switch (input.kind) {
    case 'url': {
      const { bytes } = await fetchBounded(input.url, { maxBytes: DEFAULT_MAX_BYTES, timeoutMs: DEFAULT_TIMEOUT_MS, maxRedirects: MAX_REDIRECTS });
      await gate({ kind: 'url', url: input.url, bytes });
      return `sha256:${sha256Hex(bytes)}`;
    }
    case 'registry': {
      if (opts.signature !== undefined) throw new EcliError('USAGE', '--signature is for files and URLs; a registry signature is read from its .sig tag');
      const reference = parseReference(target);
      // One deadline for every request, the signatures' included: a registry answering each slowly cannot hold verify for hours.
      return pullWithDeadline(target, {}, async (signal, timeoutMs) => {
        const client = await RegistryClient.connect(reference.registry, reference.repository, 'pull', {
          signal,
          timeoutMs,
          ...(opts.plainHttp ? { plainHttp: true } : {}),
        });
        const { digest } = await getManifest(client, reference);
        await gate({ kind: 'registry', reference, digest, client });
        return digest;
      });
    }
    case 'stdin': {
      const bytes = await readStdinPackage(stdin, DEFAULT_MAX_BYTES, '<stdin>', 'ecli verify --key cosign.pub');
      await gate({ kind: 'bytes', source: '<stdin>', bytes });
      return `sha256:${sha256Hex(bytes)}`;
    }
    case 'file': {
      const bytes = await readInputFile(input.path, DEFAULT_MAX_BYTES, 'verify a package file, a URL, a registry reference, or - for stdin');
      await gate({ kind: 'file', path: input.path, bytes });
      return `sha256:${sha256Hex(bytes)}`;
    }
  }
}
