/**
 * Where registry credentials come from: docker's config.json `auths`, `credHelpers` and
 * `credsStore`. Helpers are real executables (`docker-credential-<name>` shell scripts in a
 * temporary PATH folder), run the way docker runs them.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { findCredentials } from '../../src/inputs/registry/credentials.js';
import { errorWith } from '../helpers/assertions.js';
import { ecliPath } from '../helpers/ecli-process.js';

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

test('auths: the base64 user:password entry for the registry, with where it came from', async () => {
  const { env, dir } = folderWith({ auths: { [REGISTRY]: basic('robot', 'pw:with:colons') } });
  assert.deepEqual((await findCredentials(REGISTRY, env)).credentials, {
    username: 'robot',
    password: 'pw:with:colons',
    source: `${path.join(dir, 'config.json')} (auths["${REGISTRY}"])`,
  });
});

test('credHelpers for the registry win over auths; the helper reads the registry on stdin', async () => {
  const { env, dir } = folderWith(
    { auths: { [REGISTRY]: basic('file-user', 'x') }, credHelpers: { [REGISTRY]: 'vault' } },
    { vault: answering('helper-user', 's3cret') },
  );
  const found = (await findCredentials(REGISTRY, env)).credentials!;
  assert.equal(found.username, 'helper-user');
  assert.equal(found.password, 's3cret');
  assert.equal(found.source, `docker-credential-vault, named in ${path.join(dir, 'config.json')} (credHelpers)`);
  assert.equal(readFileSync(path.join(dir, 'asked'), 'utf8'), REGISTRY);
});

test('credsStore is asked when auths has no credentials for the registry, and not when it has', async () => {
  const store = { keychain: answering('store-user', 'from-store') };
  const placeholder = folderWith({ auths: { [REGISTRY]: {} }, credsStore: 'keychain' }, store);
  assert.equal((await findCredentials(REGISTRY, placeholder.env)).credentials?.username, 'store-user');
  const inFile = folderWith({ auths: { [REGISTRY]: basic('file-user', 'x') }, credsStore: 'keychain' }, store);
  assert.equal((await findCredentials(REGISTRY, inFile.env)).credentials?.username, 'file-user');
});

test('a helper that knows no credentials for the registry means anonymous access, saying who was asked', async () => {
  const { env } = folderWith({ credsStore: 'empty' }, { empty: 'echo "credentials not found in native keychain"; exit 1' });
  const lookup = await findCredentials(REGISTRY, env);
  assert.equal(lookup.credentials, undefined);
  assert.match(lookup.missing!, /^docker-credential-empty, named in .*config\.json \(credsStore\) has no credentials for registry\.example:5000$/);
});

test('a configured helper that is missing, fails or prints no credentials is a REGISTRY_AUTH error', async () => {
  const missing = folderWith({ credHelpers: { [REGISTRY]: 'absent' } });
  await assert.rejects(
    findCredentials(REGISTRY, missing.env),
    errorWith('REGISTRY_AUTH', /^the credential helper docker-credential-absent, named in .* is not installed \(not found in PATH\)$/),
  );
  const failing = folderWith({ credsStore: 'broken' }, { broken: 'echo "keychain is locked" >&2; exit 3' });
  await assert.rejects(findCredentials(REGISTRY, failing.env), errorWith('REGISTRY_AUTH', /failed for registry\.example:5000 \(exit 3\): keychain is locked$/));
  const garbage = folderWith({ credsStore: 'odd' }, { odd: 'echo hello' });
  await assert.rejects(
    findCredentials(REGISTRY, garbage.env),
    errorWith('REGISTRY_AUTH', /printed no \{"Username", "Secret"\} JSON for registry\.example:5000$/),
  );
  const hostile = folderWith({ credsStore: '../../bin/sh' });
  await assert.rejects(
    findCredentials(REGISTRY, hostile.env),
    errorWith('REGISTRY_AUTH', /names the credential helper "\.\.\/\.\.\/bin\/sh", which is not a helper name$/),
  );
});

test('no config file, or no entry: anonymous, saying where ecli looked', async () => {
  const none = { DOCKER_CONFIG: path.join(root, 'nowhere') };
  assert.equal((await findCredentials(REGISTRY, none)).missing, `${path.join(root, 'nowhere', 'config.json')} does not exist`);
  const { env, dir } = folderWith({ auths: { 'other.example': basic('a', 'b') } });
  assert.equal((await findCredentials(REGISTRY, env)).missing, `no entry for ${REGISTRY} in ${path.join(dir, 'config.json')}`);
});

/** `ecli pull` with this DOCKER_CONFIG, killed after 10 s: a config file that hangs or floods it must not. */
function pullWith(env: NodeJS.ProcessEnv): { status: number | null; stderr: string; ms: number } {
  const started = Date.now();
  const result = spawnSync(ecliPath, ['pull', '127.0.0.1:9/tools/x:v1'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 10_000 });
  return { status: result.status, stderr: result.stderr, ms: Date.now() - started };
}

test('a FIFO config.json, and one linked to /dev/zero, are refused at once (exit 14), never read', () => {
  const fifo = mkdtempSync(path.join(root, 'fifo-'));
  assert.equal(spawnSync('mkfifo', [path.join(fifo, 'config.json')]).status, 0);
  const zero = mkdtempSync(path.join(root, 'zero-'));
  symlinkSync('/dev/zero', path.join(zero, 'config.json'));
  for (const [dir, kind] of [
    [fifo, 'a FIFO'],
    [zero, 'a character device'],
  ] as const) {
    const pulled = pullWith({ DOCKER_CONFIG: dir });
    assert.equal(pulled.status, 14, `${kind}: ${pulled.stderr} (after ${pulled.ms} ms)`);
    assert.equal(
      pulled.stderr,
      `ecli: error: cannot read ${path.join(dir, 'config.json')}: it is ${kind}, not a regular file\n` +
        "hint: docker's config.json must be a regular file: fix or remove it, or point DOCKER_CONFIG at another folder\n",
    );
  }
});

test('a config.json larger than 4 MiB is refused, not read whole', async () => {
  const { env } = folderWith({ auths: { [REGISTRY]: basic('a', 'b') }, padding: 'x'.repeat(4 * 1024 * 1024) });
  await assert.rejects(findCredentials(REGISTRY, env), errorWith('REGISTRY_AUTH', /: it is larger than 4194304 bytes$/));
});

/** Whether `pid` is gone, waiting up to 2 s (an orphan is reaped by init). */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await sleep(20);
  }
  return false;
}

test('a helper that answered but left a child holding stdout: its answer is used at once, and the child is stopped', async () => {
  const { env, dir } = folderWith({ credsStore: 'lingering' }, { lingering: `${answering('robot', 's3cret')}; sleep 300 & echo $! > "$(dirname "$0")/child"` });
  const started = Date.now();
  const found = await findCredentials(REGISTRY, env);
  assert.equal(found.credentials?.password, 's3cret');
  assert.ok(Date.now() - started < 5000, `answered after ${Date.now() - started} ms`);
  assert.ok(await gone(Number(readFileSync(path.join(dir, 'child'), 'utf8'))), 'the child was stopped');
});

test('a helper that hangs is stopped with its children after 10 s, saying so (no install hint)', async () => {
  const { env, dir } = folderWith({ credsStore: 'hanging' }, { hanging: `sleep 300 & echo $! > "$(dirname "$0")/child"; sleep 300` });
  await assert.rejects(findCredentials(REGISTRY, env), (error: Error & { code?: string; hint?: string }) => {
    assert.equal(error.code, 'REGISTRY_AUTH');
    assert.match(
      error.message,
      /^the credential helper docker-credential-hanging, named in .* gave no answer for registry\.example:5000 within 10 s; it was stopped, with any process it started$/,
    );
    assert.match(
      error.hint ?? '',
      /^check the helper \(a locked keychain may be waiting for a password\), or remove it from .*config\.json to use the credentials in its "auths"$/,
    );
    return true;
  });
  assert.ok(await gone(Number(readFileSync(path.join(dir, 'child'), 'utf8'))), "the helper's child was stopped");
});

test('a config.json that is not JSON is named without quoting its text, which may hold a password', async () => {
  const dir = mkdtempSync(path.join(root, 'broken-'));
  // A missing value: V8's message would quote the text before it, the base64 password.
  writeFileSync(path.join(dir, 'config.json'), '{"auths":{"x":{"auth":"cm9ib3Q6czNjcmV0","y":}}}');
  await assert.rejects(findCredentials(REGISTRY, { DOCKER_CONFIG: dir }), (error: Error) => {
    assert.match(error.message, /config\.json is not valid JSON: Unexpected token '\}'$/);
    assert.doesNotMatch(error.message, /cm9ib3Q6czNjcmV0/);
    return true;
  });
});
