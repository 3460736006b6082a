/**
 * Registry credentials in docker's config file: `$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`, `auths["host[:port]"].auth` = base64 of `user:password`, or a credential
 * helper as docker runs it: `credHelpers["host"]` first, then the entry in `auths`, then `credsStore`;
 * `docker-credential-<name> get` reads the server on stdin and prints `{"Username","Secret"}`.
 */
import { closeSync, fstatSync, lstatSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { EcliError } from '../../errors.js';
import { makeDirs } from '../../files/make-dirs.js';
import { openLocatedForReading, readToEndBounded } from '../../files/safe-read.js';
import { fileKind, writeFileSafelySync } from '../../files/safe-write.js';
import { HELPER_TIMEOUT_MS, runCredentialHelper } from './credential-helper.js';
import { isObject } from './json.js';
import { canonicalRegistry } from './reference.js';

export interface Credentials {
  username: string;
  password: string;
  /** Where they came from, for messages: `/root/.docker/config.json (auths["127.0.0.1:5000"])`. */
  source: string;
}

export interface CredentialLookup {
  credentials?: Credentials;
  /** Why there are none, for messages: `no entry for 127.0.0.1:5000 in /root/.docker/config.json`. */
  missing?: string;
}

type DockerConfig = Record<string, unknown> & { auths?: Record<string, unknown> };

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG !== undefined && env.DOCKER_CONFIG !== '' ? env.DOCKER_CONFIG : join(env.HOME ?? homedir(), '.docker');
  return join(dir, 'config.json');
}

/** The credentials stored for `registry`, or why there are none. */
export async function findCredentials(registry: string, env: NodeJS.ProcessEnv = process.env): Promise<CredentialLookup> {
  const path = dockerConfigPath(env);
  const config = readConfig(path);
  if (config === undefined) return { missing: `${path} does not exist` };
  const named = namedHelper(config, registry);
  if (named !== undefined) return fromHelper(named, registry, `${path} (credHelpers)`, env);
  const auths = isObject(config.auths) ? config.auths : {};
  const key = Object.keys(auths).find((k) => k === registry) ?? Object.keys(auths).find((k) => registryOfKey(k) === registry);
  const where = key === undefined ? undefined : `${path} (auths[${JSON.stringify(key)}])`;
  const entry = key === undefined ? undefined : auths[key];
  const decoded = isObject(entry) ? decodeEntry(entry) : undefined;
  if (where !== undefined && decoded !== undefined) return { credentials: { ...decoded, source: where } };
  if (typeof config.credsStore === 'string' && config.credsStore !== '') return fromHelper(config.credsStore, registry, `${path} (credsStore)`, env);
  if (where === undefined) return { missing: `no entry for ${registry} in ${path}` };
  return { missing: `${where} holds no user name and password (an "auth" field of base64 user:password)` };
}

/**
 * Asks `docker-credential-<name> get` for the registry's credentials. A helper that knows none says
 * so and exits 1: that is anonymous access, not an error. A helper that cannot be run, times out
 * or prints something else is an error, since the user configured it.
 */
async function fromHelper(name: string, registry: string, configuredIn: string, env: NodeJS.ProcessEnv): Promise<CredentialLookup> {
  const program = `docker-credential-${name}`;
  const source = `${program}, named in ${configuredIn}`;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new EcliError('REGISTRY_AUTH', `${configuredIn} names the credential helper ${JSON.stringify(name)}, which is not a helper name`, {
      hint: 'a helper name is letters, digits, . _ or -: docker runs docker-credential-<name>',
    });
  }
  const result = await runCredentialHelper(program, registry, env);
  const fallback = `or remove it from ${configuredIn.replace(/ \(.*\)$/, '')} to use the credentials in its "auths"`;
  if (result.failure?.kind === 'spawn') {
    const { error } = result.failure;
    const why = error.code === 'ENOENT' ? 'is not installed (not found in PATH)' : `could not be run: ${error.message}`;
    throw new EcliError('REGISTRY_AUTH', `the credential helper ${source} ${why}`, {
      hint: error.code === 'ENOENT' ? `install ${program}, ${fallback}` : `check that ${program} is an executable, ${fallback}`,
    });
  }
  if (result.failure?.kind === 'timeout') {
    throw new EcliError(
      'REGISTRY_AUTH',
      `the credential helper ${source} gave no answer for ${registry} within ${HELPER_TIMEOUT_MS / 1000} s; it was stopped, with any process it started`,
      { hint: `check the helper (a locked keychain may be waiting for a password), ${fallback}` },
    );
  }
  if (result.failure?.kind === 'too-much-output') {
    throw new EcliError('REGISTRY_AUTH', `the credential helper ${source} printed more than 1 MiB for ${registry}; it was stopped`);
  }
  if (result.status !== 0) {
    const said = result.stdout.trim() || result.stderr.trim();
    if (/credentials not found/i.test(said)) return { missing: `${source} has no credentials for ${registry}` };
    throw new EcliError(
      'REGISTRY_AUTH',
      `the credential helper ${source} failed for ${registry} (exit ${result.status ?? result.signal}): ${said.split('\n')[0]}`,
    );
  }
  let answer: unknown;
  try {
    answer = JSON.parse(result.stdout);
  } catch {
    answer = undefined;
  }
  if (!isObject(answer) || typeof answer.Username !== 'string' || typeof answer.Secret !== 'string' || answer.Secret === '') {
    throw new EcliError('REGISTRY_AUTH', `the credential helper ${source} printed no {"Username", "Secret"} JSON for ${registry}`);
  }
  return { credentials: { username: answer.Username, password: answer.Secret, source } };
}

/**
 * Stores credentials for `registry` in `auths`, keeping everything else in the file. Written
 * through src/files/safe-write: a new file is 0600, an existing one keeps its owner and mode less
 * any group or other permission (it now holds a password); a config.json symlink of the user's or
 * root's is written through, as docker does, another user's is refused.
 */
export function saveCredentials(registry: string, username: string, password: string, env: NodeJS.ProcessEnv = process.env): string {
  const path = dockerConfigPath(env);
  const config = readConfig(path) ?? {};
  const auths = isObject(config.auths) ? config.auths : {};
  auths[registry] = { auth: Buffer.from(`${username}:${password}`, 'utf8').toString('base64') };
  config.auths = auths;
  try {
    makeDirs(dirname(path), 0o700);
    writeFileSafelySync(path, `${JSON.stringify(config, null, '\t')}\n`, { existing: 'replace', mode: 0o600, secret: true });
  } catch (error) {
    const message = error instanceof EcliError ? error.message : `cannot write ${path}: ${(error as Error).message}`;
    throw new EcliError('REGISTRY_AUTH', message, { hint: 'set DOCKER_CONFIG to a folder of your own', cause: error });
  }
  return path;
}

/** docker's config files are small; a larger one is refused rather than read whole. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/**
 * The config file, or undefined when there is none. Only a regular file is read (opened without
 * blocking, so a FIFO cannot hang ecli, and a device such as /dev/zero is refused), and at most
 * 4 MiB of it.
 */
function readConfig(path: string): DockerConfig | undefined {
  const unusable = (why: string, cause?: unknown): EcliError =>
    new EcliError('REGISTRY_AUTH', `cannot read ${path}: ${why}`, {
      hint: "docker's config.json must be a regular file: fix or remove it, or point DOCKER_CONFIG at another folder",
      ...(cause === undefined ? {} : { cause }),
    });
  let fd: number;
  try {
    if (!somethingAt(path)) return undefined;
    // Only the caller's or root's symlinks lead elsewhere, at the name or in a folder on the way:
    // nobody else picks the file root reads credentials from.
    fd = openLocatedForReading(path, 'read');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (error instanceof EcliError) throw new EcliError('REGISTRY_AUTH', error.message, error.hint === undefined ? {} : { hint: error.hint });
    throw unusable((error as Error).message, error);
  }
  let text: string;
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw unusable(`it is ${fileKind(stats)}, not a regular file`);
    const tooLarge = (): EcliError => unusable(`it is larger than ${MAX_CONFIG_BYTES} bytes`);
    if (stats.size > MAX_CONFIG_BYTES) throw tooLarge();
    text = readToEndBounded(fd, MAX_CONFIG_BYTES, tooLarge).toString('utf8');
  } catch (error) {
    if (error instanceof EcliError) throw error;
    throw unusable((error as Error).message, error);
  } finally {
    closeSync(fd);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    // V8 quotes the text around the error, which may hold a password: only the reason is kept.
    const reason = (error as Error).message.replace(/, (?:\.\.\.)?".*" is not valid JSON$/s, '');
    throw new EcliError('REGISTRY_AUTH', `${path} is not valid JSON: ${reason}`, {
      hint: 'fix or remove the file, then log in again with ecli login',
    });
  }
  if (!isObject(config)) throw new EcliError('REGISTRY_AUTH', `${path} is not a JSON object`, { hint: 'fix or remove the file' });
  return config;
}

/** Anything at `path` (a dangling link included); a missing folder on the way is nothing too. */
function somethingAt(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== 'ENOENT' && code !== 'ENOTDIR';
  }
}

/** `https://host:5000/v2/` → `host:5000`, as docker normalises its keys, spelled as references are (canonicalRegistry). */
function registryOfKey(key: string): string {
  const host = key
    .replace(/^[a-z]+:\/\//i, '')
    .split('/')[0]!
    .toLowerCase();
  return canonicalRegistry(host) ?? host;
}

function decodeEntry(entry: Record<string, unknown>): { username: string; password: string } | undefined {
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const text = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon > 0) return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string') return { username: entry.username, password: entry.password };
  return undefined;
}

function namedHelper(config: DockerConfig, registry: string): string | undefined {
  const helpers = isObject(config.credHelpers) ? config.credHelpers : {};
  const named = Object.entries(helpers).find(([key]) => registryOfKey(key) === registry)?.[1];
  return typeof named === 'string' && named !== '' ? named : undefined;
}
