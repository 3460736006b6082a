/**
 * The password of a private key, as cosign gets it: COSIGN_PASSWORD when it is set (an empty
 * value is an empty password), else asked for on the terminal without echo. Without either,
 * ecli stops rather than wait on a stdin that may never answer.
 */
import { EcliError } from '../errors.js';

export const PASSWORD_VARIABLE = 'COSIGN_PASSWORD';

export interface PasswordSource {
  env: NodeJS.ProcessEnv;
  /** The terminal to ask on; defaults to stdin when it is one. */
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
  output?: NodeJS.WritableStream;
}

/** `confirm`: ask twice (a new key) and refuse two different answers. */
export async function readPassword(source: PasswordSource, confirm: boolean): Promise<string> {
  const fromEnv = source.env[PASSWORD_VARIABLE];
  if (fromEnv !== undefined) return fromEnv;
  const input = source.input ?? process.stdin;
  if (input.isTTY !== true) {
    throw new EcliError('USAGE', `no password for the private key: ${PASSWORD_VARIABLE} is not set and stdin is not a terminal to ask on`, {
      hint: `set ${PASSWORD_VARIABLE} (it may be empty: COSIGN_PASSWORD= ecli ...)`,
    });
  }
  const first = await ask(input, source.output ?? process.stderr, 'Enter password for private key: ');
  if (!confirm) return first;
  const second = await ask(input, source.output ?? process.stderr, 'Enter password for private key again: ');
  if (first !== second) throw new EcliError('USAGE', 'the two passwords differ', { hint: 'run the command again' });
  return first;
}

async function ask(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, prompt: string): Promise<string> {
  const { read } = await import('read');
  try {
    return await read({ prompt, silent: true, replace: '', input, output });
  } catch {
    // read() rejects on Ctrl-C and Ctrl-D.
    throw new EcliError('USAGE', 'no password given: the prompt was cancelled');
  }
}
