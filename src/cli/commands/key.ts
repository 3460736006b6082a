/**
 * `ecli key generate [--output-prefix cosign]`: a new ECDSA P-256 key pair in cosign's format,
 * `<prefix>.key` (encrypted, mode 0600) and `<prefix>.pub`. Both are created new (src/files/safe-write):
 * an existing file, or a symlink in its place, is never written through or replaced.
 */
import { unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { EcliError } from '../../errors.js';
import { generateKeyPair } from '../../signing/keys.js';
import { readPassword } from '../../signing/password.js';
import { writeFileSafelySync } from '../../files/safe-write.js';
import { lstatOrUndefined } from '../../files/stat.js';
import type { CommandIo } from './io.js';

export interface KeyGenerateOptions {
  outputPrefix?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

const ALREADY_THERE_HINT = 'move it away, or choose other names with --output-prefix';

export async function runKeyGenerate(opts: KeyGenerateOptions, io: CommandIo): Promise<void> {
  const prefix = resolve(opts.cwd ?? process.cwd(), opts.outputPrefix ?? 'cosign');
  const privatePath = `${prefix}.key`;
  const publicPath = `${prefix}.pub`;
  // Said before the password is asked for; the O_EXCL open below is what guarantees it.
  for (const path of [privatePath, publicPath]) if (lstatOrUndefined(path) !== undefined) throw alreadyThere(path);
  const password = await readPassword({ env: opts.env ?? process.env }, true);
  const pair = await generateKeyPair(password);
  writeNew(privatePath, pair.privatePem, 0o600);
  try {
    writeNew(publicPath, pair.publicPem, 0o644);
  } catch (error) {
    unlinkSync(privatePath);
    throw error;
  }
  io.stderr.write(`ecli: private key written to ${privatePath} (mode 0600, encrypted with the password)\n`);
  io.stdout.write(`${publicPath}\n`);
}

/** Creates `path` with `text` (src/files/safe-write); refuses when anything is there, also when it appears meanwhile. */
function writeNew(path: string, text: string, mode: number): void {
  writeFileSafelySync(path, text, { existing: 'refuse', mode, refuseHint: ALREADY_THERE_HINT });
}

function alreadyThere(path: string): EcliError {
  return new EcliError('USAGE', `${path} already exists; ecli key generate never replaces a key`, {
    hint: ALREADY_THERE_HINT,
  });
}
