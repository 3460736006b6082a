/**
 * `ecli login -u <user> <registry>`: reads the password from stdin (without echo on a terminal),
 * checks it with the registry, and stores it in docker's config file as docker does.
 */
import { EcliError } from '../../errors.js';
import { RegistryClient } from '../../inputs/registry/client.js';
import { saveCredentials } from '../../inputs/registry/credentials.js';
import { parseRegistryHost } from '../../inputs/registry/reference.js';
import type { CommandIo } from './io.js';

export interface LoginCommandOptions {
  username?: string;
  plainHttp?: boolean;
  stdin?: NodeJS.ReadStream;
}

const MAX_PASSWORD = 64 * 1024;

export async function runLogin(registrySpec: string, opts: LoginCommandOptions, io: CommandIo): Promise<void> {
  const registry = parseRegistryHost(registrySpec);
  const username = opts.username;
  if (username === undefined || username === '' || username.includes(':')) {
    throw new EcliError('USAGE', 'ecli login needs a user name without ":": -u <user>', { hint: `echo "$PASSWORD" | ecli login -u <user> ${registry}` });
  }
  const stdin = opts.stdin ?? process.stdin;
  const password = stdin.isTTY ? await promptHidden(stdin, io) : await readAll(stdin);
  if (password === '') throw new EcliError('USAGE', 'no password on stdin', { hint: `echo "$PASSWORD" | ecli login -u ${username} ${registry}` });
  const client = await RegistryClient.connect(registry, undefined, 'login', {
    credentials: { username, password, source: 'the command line' },
    ...(opts.plainHttp ? { plainHttp: true } : {}),
  });
  const path = saveCredentials(registry, username, password);
  if (!client.authenticated) io.stderr.write(`ecli: ${registry} asks for no credentials; they are saved anyway\n`);
  io.stderr.write(`ecli: the password is stored unencrypted (base64) in ${path}, as docker does\n`);
  io.stdout.write(`logged in to ${registry} as ${username}\n`);
}

/** All of stdin, without one trailing newline. */
async function readAll(stdin: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (text.length > MAX_PASSWORD) throw new EcliError('USAGE', `the password on stdin is longer than ${MAX_PASSWORD} bytes`);
  }
  return text.replace(/\r?\n$/, '');
}

/** One line typed on the terminal, not echoed. */
function promptHidden(stdin: NodeJS.ReadStream, io: CommandIo): Promise<string> {
  io.stderr.write('Password: ');
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (error?: EcliError): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      io.stderr.write('\n');
      if (error === undefined) resolve(typed);
      else reject(error);
    };
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') return done();
        if (char === '\u0003') return done(new EcliError('USAGE', 'login cancelled'));
        typed = char === '\u007f' || char === '\b' ? typed.slice(0, -1) : typed + char;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}
