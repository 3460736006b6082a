/**
 * Registry credentials in docker's config file: `$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`, `auths["host[:port]"].auth` = base64 of `user:password`, or a credential
 * helper as docker runs it: `credHelpers["host"]` first, then the entry in `auths`, then `credsStore`;
 * `docker-credential-<name> get` reads the server on stdin and prints `{"Username","Secret"}`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { EcliError } from '../../errors.js';
import { isObject } from './json.js';

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
export function findCredentials(registry: string, env: NodeJS.ProcessEnv = process.env): CredentialLookup {
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

/** How long a credential helper may take (it may talk to a keychain daemon). */
const HELPER_TIMEOUT_MS = 10_000;

/**
 * Asks `docker-credential-<name> get` for the registry's credentials. A helper that knows none says
 * so and exits 1: that is anonymous access, not an error. A helper that cannot be run, times out
 * or prints something else is an error, since the user configured it.
 */
function fromHelper(name: string, registry: string, configuredIn: string, env: NodeJS.ProcessEnv): CredentialLookup {
  const program = `docker-credential-${name}`;
  const source = `${program}, named in ${configuredIn}`;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new EcliError('REGISTRY_AUTH', `${configuredIn} names the credential helper ${JSON.stringify(name)}, which is not a helper name`, {
      hint: 'a helper name is letters, digits, . _ or -: docker runs docker-credential-<name>',
    });
  }
  const result = spawnSync(program, ['get'], { input: registry, env, encoding: 'utf8', timeout: HELPER_TIMEOUT_MS, maxBuffer: 1 << 20 });
  // A helper may exit without reading stdin (EPIPE for us): what it printed and its status still count.
  const ranAnyway = (result.error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE' && result.status !== null;
  if (result.error !== undefined && !ranAnyway) {
    const why =
      (result.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'is not installed (not found in PATH)' : `could not be run: ${result.error.message}`;
    throw new EcliError('REGISTRY_AUTH', `the credential helper ${source} ${why}`, {
      hint: `install ${program}, or remove it from the config file to use the credentials in its "auths"`,
    });
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

/** Stores credentials for `registry` (creating the file with mode 0600), keeping everything else in it. */
export function saveCredentials(registry: string, username: string, password: string, env: NodeJS.ProcessEnv = process.env): string {
  const path = dockerConfigPath(env);
  const config = readConfig(path) ?? {};
  const auths = isObject(config.auths) ? config.auths : {};
  auths[registry] = { auth: Buffer.from(`${username}:${password}`, 'utf8').toString('base64') };
  config.auths = auths;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
    renameSync(temporary, path);
  } catch (error) {
    throw new EcliError('REGISTRY_AUTH', `cannot write ${path}: ${(error as Error).message}`, {
      hint: 'set DOCKER_CONFIG to a writable folder',
      cause: error,
    });
  }
  return path;
}

function readConfig(path: string): DockerConfig | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EcliError('REGISTRY_AUTH', `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new EcliError('REGISTRY_AUTH', `${path} is not valid JSON: ${(error as Error).message}`, {
      hint: 'fix or remove the file, then log in again with ecli login',
    });
  }
  if (!isObject(config)) throw new EcliError('REGISTRY_AUTH', `${path} is not a JSON object`, { hint: 'fix or remove the file' });
  return config;
}

/** `https://host:5000/v2/` → `host:5000`, as docker normalises its keys. */
function registryOfKey(key: string): string {
  return key
    .replace(/^[a-z]+:\/\//i, '')
    .split('/')[0]!
    .toLowerCase();
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
