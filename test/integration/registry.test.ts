/**
 * ecli push / pull / login / run <reference> against the real CNCF distribution registry
 * (Debian's docker-registry) on 127.0.0.1, once without auth and once with htpasswd basic auth.
 * Runs really load examples/execsnoop from the registry and show an exec made here.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildArtifact } from '../../src/inputs/registry/artifact.js';
import { parseReference } from '../../src/inputs/registry/reference.js';
import { pushArtifact } from '../../src/inputs/registry/transfer.js';
import { ecliPath, runTool, type Completed } from '../helpers/ecli-process.js';
import { haveRoot } from '../helpers/env.js';
import { haveToolchain, tempDir } from '../helpers/examples.js';
import { prepareExecsnoop, runAndSeeExec } from '../helpers/execsnoop-run.js';
import { haveRegistry, startRegistry, type RunningRegistry } from '../helpers/registry.js';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

function ecli(args: string[], env: NodeJS.ProcessEnv, input?: string): Completed {
  return runTool(ecliPath, args, { env, ...(input === undefined ? {} : { input }) });
}

/** `ecli push`, which must succeed; returns the digest it printed. */
function push(args: string[], env: NodeJS.ProcessEnv): { digest: string; stderr: string } {
  const pushed = ecli(['push', ...args], env);
  assert.equal(pushed.status, 0, `ecli push ${args.join(' ')}:\n${pushed.stderr}`);
  const digest = pushed.stdout.trim();
  assert.match(digest, DIGEST);
  return { digest, stderr: pushed.stderr };
}

/** `ecli pull -o <dir>/`; returns the bytes of the file it wrote. */
function pull(t: TestContext, reference: string, env: NodeJS.ProcessEnv): Buffer {
  const dir = tempDir(t, 'ecli-pulled-');
  const pulled = ecli(['pull', '-o', `${dir}/`, reference], env);
  assert.equal(pulled.status, 0, `ecli pull ${reference}:\n${pulled.stderr}`);
  const written = /^wrote (.+)$/m.exec(pulled.stdout)?.[1];
  assert.ok(written !== undefined && written.startsWith(dir), pulled.stdout);
  return readFileSync(written);
}

/** The path of a blob's data in the registry's filesystem storage. */
function blobData(registry: RunningRegistry, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return path.join(registry.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

function usable(t: TestContext): boolean {
  return haveRoot(t) && haveToolchain(t) && haveRegistry(t);
}

test('without auth: push, run by tag and by digest, pull byte for byte, re-push, chunked push, refusals', async (t) => {
  if (!usable(t)) return;
  const registry = await startRegistry(t);
  const packed = prepareExecsnoop(t);
  const env = { DOCKER_CONFIG: tempDir(t, 'ecli-docker-') };
  const tagged = `${registry.host}/tools/execsnoop:v1`;
  const { digest, stderr: pushNotes } = push([packed.packagePath, tagged], env);
  assert.match(pushNotes, new RegExp(`pushed package\\.json \\(\\d+ bytes\\) to ${tagged}; pin it as ${registry.host}/tools/execsnoop@${digest}`));
  const pinned = `${registry.host}/tools/execsnoop@${digest}`;

  await t.test('run by tag loads it, and says which digest the tag names', async (t) => {
    const stderr = await runAndSeeExec(t, packed.exe, [tagged], { env });
    assert.match(stderr, new RegExp(`^ecli: ${tagged} is ${pinned}$`, 'm'));
  });

  await t.test('run by digest loads it', async (t) => {
    const stderr = await runAndSeeExec(t, packed.exe, [pinned], { env });
    assert.doesNotMatch(stderr, / is .*@sha256:/, 'a digest needs no pinning notice');
  });

  await t.test('pull by tag and by digest writes execsnoop.json byte for byte', (t) => {
    const original = readFileSync(packed.packagePath);
    assert.deepEqual(pull(t, tagged, env), original);
    assert.deepEqual(pull(t, pinned, env), original);
  });

  await t.test('a re-push uploads no blob again: only HEAD requests for them', async () => {
    const before = registry.requests().length;
    const again = push([packed.packagePath, tagged], env);
    assert.equal(again.digest, digest, 'the same package gives the same digest');
    assert.equal((again.stderr.match(/is already in the registry; not uploaded again/g) ?? []).length, 2, again.stderr);
    const requests = await registry.requestsUntil(before, (r) => r.startsWith('PUT /v2/tools/execsnoop/manifests/v1 '));
    assert.deepEqual(
      requests.filter((r) => /^(POST|PATCH) /.test(r) || /^PUT \S*\/blobs\//.test(r)),
      [],
      'no upload requests',
    );
    assert.equal(requests.filter((r) => /^HEAD \/v2\/tools\/execsnoop\/blobs\/sha256:\S+ HTTP\/1\.1" 200$/.test(r)).length, 2, requests.join('\n'));
  });

  await t.test('a tarball pushed in 4 KiB chunks (PATCH) comes back byte for byte and runs', async (t) => {
    const before = registry.requests().length;
    const reference = `${registry.host}/tools/packed:v1`;
    push(['--chunk-size', '4096', packed.tarball, reference], env);
    const logged = await registry.requestsUntil(before, (r) => r.startsWith('PUT /v2/tools/packed/manifests/v1 '));
    const patches = logged.filter((r) => r.startsWith('PATCH /v2/tools/packed/blobs/uploads/'));
    const size = statSync(packed.tarball).size;
    assert.equal(patches.length, Math.ceil(size / 4096), `PATCH requests for ${size} bytes`);
    assert.deepEqual(pull(t, reference, env), readFileSync(packed.tarball));
    await runAndSeeExec(t, packed.exe, [reference], { env });
  });

  await t.test('an unknown tag and an unknown digest exit 3', () => {
    const unknownTag = ecli(['run', `${registry.host}/tools/execsnoop:nope`], env);
    assert.equal(unknownTag.status, 3, unknownTag.stderr);
    assert.match(
      unknownTag.stderr,
      new RegExp(
        `^ecli: error: cannot pull ${registry.host}/tools/execsnoop:nope: ${registry.host}/tools/execsnoop has no tag nope \\(MANIFEST_UNKNOWN: manifest unknown\\)$`,
        'm',
      ),
    );
    const wrongDigest = `sha256:${'0'.repeat(64)}`;
    const unknownDigest = ecli(['pull', `${registry.host}/tools/execsnoop@${wrongDigest}`], env);
    assert.equal(unknownDigest.status, 3, unknownDigest.stderr);
    assert.match(unknownDigest.stderr, new RegExp(`has no manifest ${wrongDigest}`));
  });

  await t.test('a layer that is not a package exits 4', async () => {
    const reference = parseReference(`${registry.host}/tools/notapackage:v1`);
    await pushArtifact(reference, buildArtifact(Buffer.from('hello, not a package\n'), 'json', 'package.json', { name: 'x', version: '1' }), { env });
    const run = ecli(['run', `${registry.host}/tools/notapackage:v1`], env);
    assert.equal(run.status, 4, run.stderr);
    assert.match(run.stderr, new RegExp(`^ecli: error: .*${registry.host}/tools/notapackage:v1`, 'm'));
  });

  await t.test("a blob damaged in the registry's storage is refused (exit 13) and nothing is written", (t) => {
    // The registry stores the manifest as a blob too.
    const layer = JSON.parse(readFileSync(blobData(registry, digest), 'utf8')) as { layers: { digest: string }[] };
    const data = blobData(registry, layer.layers[0]!.digest);
    const bytes = readFileSync(data);
    bytes[10]! ^= 0x20;
    writeFileSync(data, bytes);
    const dir = tempDir(t, 'ecli-pulled-');
    const damaged = ecli(['pull', '-o', `${dir}/`, tagged], env);
    assert.equal(damaged.status, 13, damaged.stderr);
    assert.match(damaged.stderr, new RegExp(`blob ${layer.layers[0]!.digest} arrived with digest sha256:[0-9a-f]{64}`));
    assert.equal(ecli(['run', tagged], env).status, 13);
  });
});

test('with htpasswd auth: anonymous and wrong credentials are refused with where they came from; login, push, run, pull', async (t) => {
  if (!usable(t)) return;
  const registry = await startRegistry(t, [{ user: 'alice', password: 'correct-horse' }]);
  const packed = prepareExecsnoop(t);
  const dockerConfig = tempDir(t, 'ecli-docker-');
  const env = { DOCKER_CONFIG: dockerConfig };
  const configFile = path.join(dockerConfig, 'config.json');
  const reference = `${registry.host}/tools/execsnoop:v1`;

  const anonymous = ecli(['push', packed.packagePath, reference], env);
  assert.equal(anonymous.status, 14, anonymous.stderr);
  assert.match(
    anonymous.stderr,
    new RegExp(
      `refused pushing to ${registry.host}/tools/execsnoop: HTTP 401; tried anonymous access \\(${configFile.replace(/\./g, '\\.')} does not exist\\)`,
    ),
  );
  assert.match(anonymous.stderr, new RegExp(`^hint: log in with: ecli login -u <user> ${registry.host}`, 'm'));

  const badLogin = ecli(['login', '-u', 'alice', registry.host], env, 'wrong-password\n');
  assert.equal(badLogin.status, 14, badLogin.stderr);
  assert.match(badLogin.stderr, /tried the credentials of user "alice" from the command line/);
  assert.doesNotMatch(badLogin.stderr + badLogin.stdout, /wrong-password/);

  mkdirSync(dockerConfig, { recursive: true });
  writeFileSync(configFile, JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('alice:stale-password').toString('base64') } } }));
  const stale = ecli(['pull', reference], env);
  assert.equal(stale.status, 14, stale.stderr);
  assert.match(
    stale.stderr,
    new RegExp(
      `refused pulling ${reference}: HTTP 401 \\(UNAUTHORIZED: authentication required\\); tried the credentials of user "alice" from ${configFile.replace(/\./g, '\\.')} \\(auths\\["${registry.host}"\\]\\)`,
    ),
  );
  assert.doesNotMatch(stale.stderr, /stale-password/);

  const login = ecli(['login', '-u', 'alice', registry.host], env, 'correct-horse\n');
  assert.equal(login.status, 0, login.stderr);
  assert.equal(login.stdout, `logged in to ${registry.host} as alice\n`);
  assert.doesNotMatch(login.stderr + login.stdout, /correct-horse/);
  assert.equal(statSync(configFile).mode & 0o777, 0o600);
  const saved = JSON.parse(readFileSync(configFile, 'utf8')) as { auths: Record<string, { auth: string }> };
  assert.equal(Buffer.from(saved.auths[registry.host]!.auth, 'base64').toString(), 'alice:correct-horse');

  const { digest } = push([packed.packagePath, reference], env);
  assert.deepEqual(pull(t, `${registry.host}/tools/execsnoop@${digest}`, env), readFileSync(packed.packagePath));
  await runAndSeeExec(t, packed.exe, [reference], { env });
});
