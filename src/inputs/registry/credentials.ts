/**
 * Registry credentials in docker's config file: `$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`, `auths["host[:port]"].auth` = base64 of `user:password`.
 * Credential helpers (`credsStore`, `credHelpers`) are not run; their presence is reported.
 */
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
  const auths = isObject(config.auths) ? config.auths : {};
  const key = Object.keys(auths).find((k) => k === registry) ?? Object.keys(auths).find((k) => registryOfKey(k) === registry);
  const helper = credentialHelper(config, registry);
  if (key === undefined) {
    return { missing: `no entry for ${registry} in ${path}${helper === undefined ? '' : ` (it names the credential helper docker-credential-${helper}, which ecli does not run)`}` };
  }
  const where = `${path} (auths[${JSON.stringify(key)}])`;
  const entry = auths[key];
  const decoded = isObject(entry) ? decodeEntry(entry) : undefined;
  if (decoded === undefined) return { missing: `${where} holds no user name and password (an "auth" field of base64 user:password)` };
  return { credentials: { ...decoded, source: where } };
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
  return key.replace(/^[a-z]+:\/\//i, '').split('/')[0]!.toLowerCase();
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

function credentialHelper(config: DockerConfig, registry: string): string | undefined {
  const helpers = isObject(config.credHelpers) ? config.credHelpers : {};
  const named = Object.entries(helpers).find(([key]) => registryOfKey(key) === registry)?.[1];
  if (typeof named === 'string') return named;
  return typeof config.credsStore === 'string' ? config.credsStore : undefined;
}
