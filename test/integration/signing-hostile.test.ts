/**
 * The signing gate and policy under attack: a system policy that is present but cannot be read,
 * other names for a registry a rule names, a local path planted where a reference was meant, and
 * trust anchors (the policy, its keys) that another user could change. Real docker-registry on
 * 127.0.0.1, real users (useradd), and a private mount namespace for /etc/ecli.
 */
import { test, type TestContext } from 'node:test';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, chownSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ecliPath, runTool, runToolAsync, type Completed } from '../helpers/ecli-process.js';
import { haveRoot, repoRoot } from '../helpers/env.js';
import { tempDir } from '../helpers/examples.js';
import { haveRegistry, startRegistry } from '../helpers/registry.js';
import { temporaryUser } from '../helpers/users.js';

const FIXTURE = path.join(repoRoot, 'test/fixtures/ecc/minimal_printk.json');
const PASSWORD = 'hostile';

/** Exit 15 with one error line matching `message`, nothing on stdout. */
function refused(result: Completed, message: RegExp): void {
  assert.equal(result.status, 15, `expected exit 15:\n${result.stdout}\n${result.stderr}`);
  const lines = result.stderr.trimEnd().split('\n');
  assert.match(lines[0]!, /^ecli: error: /, result.stderr);
  assert.match(lines[0]!, message);
  assert.equal(result.stdout, '');
}

function ecliIn(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Completed {
  return runTool(ecliPath, args, { cwd: dir, env: { COSIGN_PASSWORD: PASSWORD, ECLI_POLICY: '', ...env } });
}

function pushed(dir: string, reference: string): void {
  const push = ecliIn(dir, ['push', FIXTURE, reference]);
  assert.equal(push.status, 0, push.stderr);
}

/**
 * Runs `script` (sh) in a mount namespace of its own whose /etc is an overlay of the real one: it
 * may create /etc/ecli/policy.json without touching the machine's (other tests run beside it).
 */
function withPrivateEtc(t: TestContext, script: string, env: NodeJS.ProcessEnv): Completed {
  const dir = tempDir(t, 'ecli-etc-');
  const mount = `mount -t overlay overlay -o lowerdir=/etc,upperdir=${dir}/upper,workdir=${dir}/work /etc`;
  return runTool('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `mkdir ${dir}/upper ${dir}/work && ${mount} && ${script}`], { env });
}

test('/etc/ecli/policy.json that is there but cannot be read refuses everything; only a missing one is no policy', (t) => {
  if (!haveRoot(t)) return;
  const dir = tempDir(t, 'ecli-policy-');
  const pkg = path.join(dir, 'pkg.json');
  writeFileSync(pkg, runTool('cat', [FIXTURE]).stdout);
  const env = { ECLI_POLICY: '', COSIGN_PASSWORD: PASSWORD };
  const help = `${ecliPath} run ${pkg} --help`;

  const none = withPrivateEtc(t, `rm -rf /etc/ecli && ${help}`, env);
  assert.equal(none.status, 0, `no policy at all: the package runs\n${none.stderr}`);
  assert.match(none.stdout, /Usage: simple_bpf/);

  // A dangling link (the file system it points into is not mounted yet): used to mean "no policy".
  const dangling = withPrivateEtc(t, `mkdir -p /etc/ecli && ln -s ${dir}/not-mounted/policy.json /etc/ecli/policy.json && ${help}`, env);
  refused(dangling, /cannot use the signing policy: cannot read the signing policy \/etc\/ecli\/policy\.json: its folder .*\/not-mounted does not exist/);

  // Present and readable: it applies (it has no "files" entry, so local files are refused).
  const present = withPrivateEtc(t, `mkdir -p /etc/ecli && echo '{"version": 1}' > /etc/ecli/policy.json && ${help}`, env);
  refused(present, /is refused by the signing policy: \/etc\/ecli\/policy\.json \(it has no "files" entry/);
});

test('a refuse rule cannot be passed by another spelling of the registry it names (127.1, 0x7f.0.0.1, [::ffff:127.0.0.1], oci://)', async (t) => {
  if (!haveRegistry(t)) return;
  const registry = await startRegistry(t);
  const [, port] = registry.host.split(':') as [string, string];
  const dir = tempDir(t, 'ecli-policy-names-');
  pushed(dir, `${registry.host}/evil/tool:v1`);
  writeFileSync(
    path.join(dir, 'policy.json'),
    JSON.stringify({
      version: 1,
      registries: [
        { match: `oci://127.0.0.1:${port}/evil/*`, action: 'refuse' },
        { match: '*', action: 'allow' },
      ],
    }),
  );
  const policy = { ECLI_POLICY: path.join(dir, 'policy.json') };
  for (const host of ['127.0.0.1', '127.1', '0x7f.0.0.1', '2130706433', '[::ffff:127.0.0.1]']) {
    refused(
      ecliIn(dir, ['run', `${host}:${port}/evil/tool:v1`, '--help'], policy),
      new RegExp(`127\\.0\\.0\\.1:${port}/evil/tool@sha256:[0-9a-f]{64} is refused by the signing policy: .*registries\\[0\\]`),
    );
  }
});

test("another user's path planted in a shared folder under a reference's name does not replace the registry's signed package", async (t) => {
  if (!haveRoot(t) || !haveRegistry(t)) return;
  const registry = await startRegistry(t);
  const keys = tempDir(t, 'ecli-planted-keys-');
  const generated = ecliIn(keys, ['key', 'generate']);
  assert.equal(generated.status, 0, generated.stderr);
  const reference = `${registry.host}/acme/tool:v1`;
  pushed(keys, reference);
  assert.equal(ecliIn(keys, ['sign', '--key', 'cosign.key', reference]).status, 0);
  writeFileSync(
    path.join(keys, 'policy.json'),
    JSON.stringify({ version: 1, registries: [{ match: `${registry.host}/acme/*`, action: 'verify', keys: ['cosign.pub'] }], files: { action: 'allow' } }),
  );
  const policy = { ECLI_POLICY: path.join(keys, 'policy.json') };

  // A world-writable sticky folder, as /tmp; another user plants the reference's name there.
  const shared = tempDir(t, 'ecli-shared-');
  chmodSync(shared, 0o1777);
  const user = temporaryUser(t);
  const folder = path.join(shared, registry.host, 'acme');
  mkdirSync(folder, { recursive: true });
  copyFileSync(FIXTURE, path.join(folder, 'tool:v1'));
  for (const owned of [path.join(shared, registry.host), folder, path.join(folder, 'tool:v1')]) chownSync(owned, user.uid, user.gid);

  const planted = ecliIn(shared, ['run', reference, '--help'], policy);
  assert.equal(planted.status, 2, `the planted file must not run unsigned:\n${planted.stdout}\n${planted.stderr}`);
  assert.match(
    planted.stderr,
    new RegExp(`is both a registry reference and a local path, and ${registry.host.replace(/\./g, '\\.')} here belongs to uid ${user.uid}, another user`),
  );
  assert.match(planted.stderr, /hint: to pull it from the registry, write oci:\/\//);
  assert.equal(planted.stdout, '');
  const pulled = ecliIn(shared, ['run', `oci://${reference}`, '--help'], policy);
  assert.equal(pulled.status, 0, pulled.stderr);
  assert.match(pulled.stderr, /verified .*acme\/tool@sha256:[0-9a-f]{64}: signed by/);
  assert.equal(ecliIn(shared, ['run', `./${reference}`, '--help'], policy).status, 0, 'the file when asked for by ./ (files are allowed by this policy)');
});

test('a signing policy or public key that another user could change is refused; root-owned in a sticky folder is fine; a FIFO does not hang', (t) => {
  if (!haveRoot(t)) return;
  const user = temporaryUser(t);
  const dir = tempDir(t, 'ecli-trust-');
  chmodSync(dir, 0o755);
  assert.equal(ecliIn(dir, ['key', 'generate']).status, 0);
  const pkg = path.join(dir, 'pkg.json');
  copyFileSync(FIXTURE, pkg);
  assert.equal(ecliIn(dir, ['sign', '--key', 'cosign.key', 'pkg.json']).status, 0);
  const writePolicy = (folder: string, keys = [path.join(dir, 'cosign.pub')]): string => {
    const file = path.join(folder, 'policy.json');
    writeFileSync(file, JSON.stringify({ version: 1, files: { action: 'verify', keys } }), { mode: 0o644 });
    return file;
  };
  const runWith = (policy: string, extra: string[] = []) => ecliIn(dir, ['run', ...extra, pkg, '--help'], { ECLI_POLICY: policy });
  const policy = writePolicy(dir);
  assert.equal(runWith(policy).status, 0, 'a root-owned policy and key: the signed file runs');

  chownSync(policy, user.uid, user.gid);
  refused(
    runWith(policy),
    new RegExp(`cannot use the signing policy: the signing policy ${policy} is owned by uid ${user.uid}, so another user could change it$`),
  );
  chownSync(policy, 0, 0);
  chmodSync(policy, 0o666);
  refused(runWith(policy), /the signing policy .*policy\.json is writable by anyone, so another user could change it$/);
  chmodSync(policy, 0o664);
  refused(runWith(policy), /the signing policy .*policy\.json is writable by its group \(gid 0\), so another user could change it$/);
  chmodSync(policy, 0o644);

  // The folder it is in: whoever owns it can put another policy in its place.
  const theirs = path.join(dir, 'theirs');
  mkdirSync(theirs);
  const inTheirs = writePolicy(theirs);
  chownSync(theirs, user.uid, user.gid);
  refused(
    runWith(inTheirs),
    new RegExp(`cannot read the signing policy ${inTheirs}: its folder ${theirs} is owned by uid ${user.uid}, so another user could change what is read$`),
  );

  // A key the policy names, and a key given with --verify-key.
  const otherKey = path.join(dir, 'other.pub');
  copyFileSync(path.join(dir, 'cosign.pub'), otherKey);
  chownSync(otherKey, user.uid, user.gid);
  refused(
    runWith(writePolicy(dir, [otherKey])),
    new RegExp(`invalid signing policy .*: the public key ${otherKey} is owned by uid ${user.uid}, so another user could change it$`),
  );
  writePolicy(dir);
  const verifyKey = runWith(policy, ['--verify-key', otherKey]);
  assert.equal(verifyKey.status, 2, verifyKey.stderr);
  assert.match(verifyKey.stderr, new RegExp(`^ecli: error: the public key ${otherKey} is owned by uid ${user.uid}, so another user could change it$`, 'm'));

  // Root's own files in a sticky world-writable folder (as /tmp): others cannot replace them.
  const sticky = path.join(dir, 'sticky');
  mkdirSync(sticky);
  chmodSync(sticky, 0o1777);
  assert.equal(runWith(writePolicy(sticky)).status, 0, 'a root-owned policy in a sticky folder is used');

  // A FIFO: refused at once, not read until a writer comes.
  const fifo = path.join(dir, 'fifo.json');
  assert.equal(runTool('mkfifo', [fifo]).status, 0);
  refused(runWith(fifo), /the signing policy .*fifo\.json is not a regular file$/);
});

test('a C source under --verify-key or a policy requiring signed files is refused before anything compiles it', (t) => {
  const dir = tempDir(t, 'ecli-source-gate-');
  assert.equal(ecliIn(dir, ['key', 'generate']).status, 0);
  // Were clang run on it, it would print root's file in its errors: nothing may read it first.
  const source = path.join(dir, 'prog.bpf.c');
  writeFileSync(source, '#include "/etc/shadow"\nint x;\n');
  const cache = tempDir(t, 'ecli-source-cache-');
  const env = { XDG_CACHE_HOME: cache, HOME: cache };
  const asked = ecliIn(dir, ['run', '--verify-key', 'cosign.pub', source], env);
  refused(
    asked,
    new RegExp(`^ecli: error: ${source} is a C source, and a signature is required \\(by --verify-key\\): nothing signs what ecli would compile from it$`),
  );
  assert.doesNotMatch(asked.stderr, /compiling|shadow/);
  writeFileSync(path.join(dir, 'policy.json'), JSON.stringify({ version: 1, files: { action: 'verify', keys: ['cosign.pub'] } }));
  const byPolicy = ecliIn(dir, ['run', source], { ...env, ECLI_POLICY: path.join(dir, 'policy.json') });
  refused(byPolicy, /is a C source, and a signature is required \(by .*policy\.json "files"\)/);
  writeFileSync(path.join(dir, 'refuse.json'), JSON.stringify({ version: 1 }));
  refused(
    ecliIn(dir, ['run', source], { ...env, ECLI_POLICY: path.join(dir, 'refuse.json') }),
    new RegExp(`^ecli: error: ${source} is refused by the signing policy: .*refuse\\.json \\(it has no "files" entry`),
  );
  assert.deepEqual(runTool('find', [cache, '-type', 'f']).stdout, '', 'nothing was compiled or cached');
});

/** Uploads `bytes` as a blob of `repository` (POST, then one PUT); its digest. */
async function uploadBlob(host: string, repository: string, bytes: Uint8Array): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const started = await fetch(`http://${host}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  const location = new URL(started.headers.get('location')!, `http://${host}`);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(bytes) });
  assert.equal(put.status, 201, `upload of ${digest}`);
  return digest;
}

test('a .sig manifest of a thousand large layers: each payload is fetched once, and no more than 4 MiB of them', async (t) => {
  if (!haveRegistry(t)) return;
  const registry = await startRegistry(t);
  const dir = tempDir(t, 'ecli-sig-flood-');
  assert.equal(ecliIn(dir, ['key', 'generate']).status, 0);
  const reference = `${registry.host}/flood/tool:v1`;
  pushed(dir, reference);
  const digest = ecliIn(dir, ['pull', '-o', path.join(dir, 'pulled.json'), reference]).stderr.match(/@(sha256:[0-9a-f]{64})/)![1]!;
  // Signatures of the right shape by a stranger's key: each one's payload must be read to tell.
  const stranger = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const annotations = { 'dev.cosignproject.cosign/signature': sign('sha256', Buffer.from('x'), { key: stranger, dsaEncoding: 'der' }).toString('base64') };
  const big = 256 * 1024;
  const shared = await uploadBlob(registry.host, 'flood/tool', new Uint8Array(big).fill(1));
  const distinct: string[] = [];
  for (let i = 2; i < 26; i++) distinct.push(await uploadBlob(registry.host, 'flood/tool', new Uint8Array(big).fill(i)));
  const config = await uploadBlob(registry.host, 'flood/tool', new TextEncoder().encode('{}'));
  const layer = (blob: string) => ({ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', digest: blob, size: big, annotations });
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 2 },
    layers: [...Array.from({ length: 975 }, () => layer(shared)), ...distinct.map(layer)],
  };
  const put = await fetch(`http://${registry.host}/v2/flood/tool/manifests/${digest.replace(':', '-')}.sig`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: JSON.stringify(manifest),
  });
  assert.equal(put.status, 201);

  const before = registry.requests().length;
  // Not spawnSync: the registry's access log must be drained while ecli talks to it.
  const verified = await runToolAsync(ecliPath, ['verify', '--key', 'cosign.pub', reference], {
    cwd: dir,
    env: { COSIGN_PASSWORD: PASSWORD, ECLI_POLICY: '' },
  });
  refused(verified, /is not signed by cosign\.pub: none of its 999 signatures is by that key/);
  await registry.requestsUntil(before, (r) => r.includes(shared));
  await sleep(500);
  const blobGets = registry
    .requests()
    .slice(before)
    .filter((r) => r.startsWith('GET /v2/flood/tool/blobs/'));
  assert.equal(blobGets.filter((r) => r.includes(shared)).length, 1, 'one payload shared by 975 layers is fetched once');
  assert.ok(blobGets.length <= 16, `at most 4 MiB of 256 KiB payloads: ${blobGets.length} fetched`);
});

test('a registry answering each of many signature requests slowly: verify and pull --verify-key stop at one deadline for all', async (t) => {
  const dir = tempDir(t, 'ecli-slow-sigs-');
  assert.equal(ecliIn(dir, ['key', 'generate']).status, 0);
  const pkg = new TextEncoder().encode(runTool('cat', [FIXTURE]).stdout);
  const digestOf = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const config = new TextEncoder().encode('{}');
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.ecli.package.config.v1+json', digest: digestOf(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.ecli.package.v1+json', digest: digestOf(pkg), size: pkg.length }],
    }),
  );
  // 25 distinct payloads, each answered after 1.5 s: 37 s in all, each request well within its own 30 s.
  const payloads = Array.from({ length: 25 }, (_, i) => new TextEncoder().encode(`{"n":${i}}`));
  const annotations = {
    'dev.cosignproject.cosign/signature': sign('sha256', Buffer.from('x'), {
      key: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey,
      dsaEncoding: 'der',
    }).toString('base64'),
  };
  const signatures = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
      layers: payloads.map((p) => ({ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', digest: digestOf(p), size: p.length, annotations })),
    }),
  );
  const blobs = new Map([pkg, config, ...payloads].map((b) => [digestOf(b), b]));
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/v2/') return void res.writeHead(200).end('{}');
    if (url.endsWith('/manifests/v1')) return void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(manifest);
    if (url.includes('/manifests/sha256-')) return void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(signatures);
    const blob = blobs.get(url.slice(url.lastIndexOf('/') + 1));
    if (blob === undefined) return void res.writeHead(404).end();
    setTimeout(() => res.writeHead(200, { 'content-length': String(blob.length) }).end(blob), 1500);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const reference = `127.0.0.1:${(server.address() as AddressInfo).port}/slow/tool:v1`;
  const started = Date.now();
  const [verified, pulled] = await Promise.all(
    [
      ['verify', '--key', 'cosign.pub', reference],
      ['pull', '--verify-key', 'cosign.pub', '-o', path.join(dir, 'pulled.json'), reference],
    ].map((args) => runToolAsync(ecliPath, args, { cwd: dir, env: { COSIGN_PASSWORD: PASSWORD, ECLI_POLICY: '' } })),
  );
  const took = Date.now() - started;
  for (const [command, result, doing] of [
    ['verify', verified!, 'pulling'],
    ['pull', pulled!, 'checking the signatures of'],
  ] as const) {
    assert.equal(result.status, 12, `${command}: ${result.stderr}`);
    assert.match(result.stderr, new RegExp(`^ecli: error: ${doing} 127\\.0\\.0\\.1:\\d+/slow/tool:v1: no complete answer within 30000 ms$`, 'm'));
  }
  assert.ok(took < 36_000, `verify and pull took ${took} ms`);
});
