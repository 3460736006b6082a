/**
 * Where registry credentials come from: docker's config.json `auths`, `credHelpers` and
 * `credsStore`. Helpers are real executables (`docker-credential-<name>` shell scripts in a
 * temporary PATH folder), run the way docker runs them.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findCredentials } from '../../src/inputs/registry/credentials.js';
import { errorWith } from '../helpers/assertions.js';

const REGISTRY = 'registry.example:5000';
const root = mkdtempSync(path.join(tmpdir(), 'ecli-credentials-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A DOCKER_CONFIG folder holding `config`, with helper scripts (name → shell body) on its PATH. */
function folderWith(config: unknown, helpers: Record<string, string> = {}): { env: NodeJS.ProcessEnv; dir: string } {
  const dir = mkdtempSync(path.join(root, 'case-'));
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  for (const [name, body] of Object.entries(helpers)) {
    const file = path.join(dir, `docker-credential-${name}`);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
  }
  return { env: { DOCKER_CONFIG: dir, PATH: `${dir}:/usr/bin:/bin` }, dir };
}

const basic = (user: string, password: string) => ({ auth: Buffer.from(`${user}:${password}`).toString('base64') });
const answering = (user: string, secret: string) => `cat > "$(dirname "$0")/asked"; echo '{"ServerURL":"x","Username":"${user}","Secret":"${secret}"}'`;

test('auths: the base64 user:password entry for the registry, with where it came from', () => {
  const { env, dir } = folderWith({ auths: { [REGISTRY]: basic('robot', 'pw:with:colons') } });
  assert.deepEqual(findCredentials(REGISTRY, env).credentials, {
    username: 'robot',
    password: 'pw:with:colons',
    source: `${path.join(dir, 'config.json')} (auths["${REGISTRY}"])`,
  });
});

test('credHelpers for the registry win over auths; the helper reads the registry on stdin', () => {
  const { env, dir } = folderWith(
    { auths: { [REGISTRY]: basic('file-user', 'x') }, credHelpers: { [REGISTRY]: 'vault' } },
    { vault: answering('helper-user', 's3cret') },
  );
  const found = findCredentials(REGISTRY, env).credentials!;
  assert.equal(found.username, 'helper-user');
  assert.equal(found.password, 's3cret');
  assert.equal(found.source, `docker-credential-vault, named in ${path.join(dir, 'config.json')} (credHelpers)`);
  assert.equal(readFileSync(path.join(dir, 'asked'), 'utf8'), REGISTRY);
});

test('credsStore is asked when auths has no credentials for the registry, and not when it has', () => {
  const store = { keychain: answering('store-user', 'from-store') };
  const placeholder = folderWith({ auths: { [REGISTRY]: {} }, credsStore: 'keychain' }, store);
  assert.equal(findCredentials(REGISTRY, placeholder.env).credentials?.username, 'store-user');
  const inFile = folderWith({ auths: { [REGISTRY]: basic('file-user', 'x') }, credsStore: 'keychain' }, store);
  assert.equal(findCredentials(REGISTRY, inFile.env).credentials?.username, 'file-user');
});

test('a helper that knows no credentials for the registry means anonymous access, saying who was asked', () => {
  const { env } = folderWith({ credsStore: 'empty' }, { empty: 'echo "credentials not found in native keychain"; exit 1' });
  const lookup = findCredentials(REGISTRY, env);
  assert.equal(lookup.credentials, undefined);
  assert.match(lookup.missing!, /^docker-credential-empty, named in .*config\.json \(credsStore\) has no credentials for registry\.example:5000$/);
});

test('a configured helper that is missing, fails or prints no credentials is a REGISTRY_AUTH error', () => {
  const missing = folderWith({ credHelpers: { [REGISTRY]: 'absent' } });
  assert.throws(
    () => findCredentials(REGISTRY, missing.env),
    errorWith('REGISTRY_AUTH', /^the credential helper docker-credential-absent, named in .* is not installed \(not found in PATH\)$/),
  );
  const failing = folderWith({ credsStore: 'broken' }, { broken: 'echo "keychain is locked" >&2; exit 3' });
  assert.throws(() => findCredentials(REGISTRY, failing.env), errorWith('REGISTRY_AUTH', /failed for registry\.example:5000 \(exit 3\): keychain is locked$/));
  const garbage = folderWith({ credsStore: 'odd' }, { odd: 'echo hello' });
  assert.throws(
    () => findCredentials(REGISTRY, garbage.env),
    errorWith('REGISTRY_AUTH', /printed no \{"Username", "Secret"\} JSON for registry\.example:5000$/),
  );
  const hostile = folderWith({ credsStore: '../../bin/sh' });
  assert.throws(
    () => findCredentials(REGISTRY, hostile.env),
    errorWith('REGISTRY_AUTH', /names the credential helper "\.\.\/\.\.\/bin\/sh", which is not a helper name$/),
  );
});

test('no config file, or no entry: anonymous, saying where ecli looked', () => {
  const none = { DOCKER_CONFIG: path.join(root, 'nowhere') };
  assert.equal(findCredentials(REGISTRY, none).missing, `${path.join(root, 'nowhere', 'config.json')} does not exist`);
  const { env, dir } = folderWith({ auths: { 'other.example': basic('a', 'b') } });
  assert.equal(findCredentials(REGISTRY, env).missing, `no entry for ${REGISTRY} in ${path.join(dir, 'config.json')}`);
});
