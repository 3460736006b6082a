/**
 * Signing against the real CNCF distribution registry (Debian's docker-registry) on 127.0.0.1:
 * ecli key generate, sign and verify by reference and by file, every refusal (exit 15, one line),
 * run and pull gated before any layer is fetched, the policy file; and interoperability with an
 * independent implementation (test/helpers/cosign_interop.py: Python's cryptography and PyNaCl),
 * which checks ecli's keys and signatures and writes ones ecli must accept.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ecliPath, runTool, runToolAsync, type Completed } from '../helpers/ecli-process.js';
import { haveRoot, repoRoot, skipUnlessCi } from '../helpers/env.js';
import { haveToolchain, tempDir } from '../helpers/examples.js';
import { prepareExecsnoop, runAndSeeExec } from '../helpers/execsnoop-run.js';
import { haveRegistry, startRegistry, type RunningRegistry } from '../helpers/registry.js';

const PYTHON = '/usr/bin/python3';
const INTEROP = path.join(repoRoot, 'test/helpers/cosign_interop.py');
const FIXTURE = path.join(repoRoot, 'test/fixtures/ecc/minimal_printk.json');
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const PASSWORD = 'correct horse';

/** A folder with two key pairs (cosign.key/.pub, other.key/.pub) that ecli runs in. */
interface Workspace {
  dir: string;
  env: NodeJS.ProcessEnv;
  key: string;
  pub: string;
  otherKey: string;
  otherPub: string;
}

interface Setup extends Workspace {
  registry: RunningRegistry;
}

function ecli(setup: Workspace, args: string[], env: NodeJS.ProcessEnv = {}): Completed {
  return runTool(ecliPath, args, { env: { ...setup.env, ...env }, cwd: setup.dir });
}

function succeeded(result: Completed, what: string): string {
  assert.equal(result.status, 0, `${what}:\n${result.stderr}`);
  return result.stdout;
}

/** Exit 15 with one error line and its hint, nothing on stdout. */
function refused(result: Completed, message: RegExp): void {
  assert.equal(result.status, 15, `expected exit 15:\n${result.stderr}`);
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 2, result.stderr);
  assert.match(lines[0]!, /^ecli: error: /);
  assert.match(lines[0]!, message);
  assert.match(lines[1]!, /^hint: /);
  assert.equal(result.stdout, '');
}

function push(setup: Workspace, file: string, reference: string): string {
  const digest = succeeded(ecli(setup, ['push', file, reference]), `ecli push ${reference}`).trim();
  assert.match(digest, DIGEST);
  return digest;
}

/** A copy of the fixture package with one byte of its description changed: other bytes, same kind of package. */
function variant(setup: Workspace, name: string): string {
  const text = readFileSync(FIXTURE, 'utf8');
  const file = path.join(setup.dir, name);
  writeFileSync(file, text.replace('"bpf_skel"', `"x_${name.replace(/\W/g, '')}": 1, "bpf_skel"`));
  return file;
}

/** The layer digest of a pushed package: a refused run must never ask for it. */
function layerDigest(setup: Setup, reference: string): string {
  const { registry } = setup;
  const [repository, tag] = reference.slice(registry.host.length + 1).split(':') as [string, string];
  const link = readFileSync(path.join(registry.storage, 'docker/registry/v2/repositories', repository, '_manifests/tags', tag, 'current/link'), 'utf8');
  const hex = link.slice('sha256:'.length);
  const manifest = JSON.parse(readFileSync(path.join(registry.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data'), 'utf8')) as {
    layers: { digest: string }[];
  };
  return manifest.layers[0]!.digest;
}

function workspace(t: TestContext): Workspace {
  const dir = tempDir(t, 'ecli-signing-');
  const env = { DOCKER_CONFIG: tempDir(t, 'ecli-docker-'), COSIGN_PASSWORD: PASSWORD };
  const keys: Workspace = { dir, env, key: 'cosign.key', pub: 'cosign.pub', otherKey: 'other.key', otherPub: 'other.pub' };
  assert.equal(succeeded(ecli(keys, ['key', 'generate']), 'ecli key generate'), `${path.join(dir, 'cosign.pub')}\n`);
  succeeded(ecli(keys, ['key', 'generate', '--output-prefix', 'other']), 'ecli key generate --output-prefix other');
  return keys;
}

async function setUp(t: TestContext): Promise<Setup | undefined> {
  if (!haveRegistry(t)) return undefined;
  return { ...workspace(t), registry: await startRegistry(t) };
}

test('ecli key generate: a 0600 encrypted private key and a public key, never over an existing file or symlink', async (t) => {
  const dir = tempDir(t, 'ecli-keys-');
  const env = { COSIGN_PASSWORD: '' };
  const made = runTool(ecliPath, ['key', 'generate'], { env, cwd: dir });
  assert.equal(made.status, 0, made.stderr);
  assert.equal(statSync(path.join(dir, 'cosign.key')).mode & 0o777, 0o600);
  assert.match(readFileSync(path.join(dir, 'cosign.key'), 'utf8'), /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
  assert.match(readFileSync(path.join(dir, 'cosign.pub'), 'utf8'), /^-----BEGIN PUBLIC KEY-----\n/);
  const again = runTool(ecliPath, ['key', 'generate'], { env, cwd: dir });
  assert.equal(again.status, 2, again.stderr);
  assert.match(again.stderr, /cosign\.key already exists; ecli key generate never replaces a key/);
  // A symlink planted where the key goes is not followed.
  const target = path.join(dir, 'target');
  spawnSync('ln', ['-s', target, path.join(dir, 'planted.key')]);
  const planted = runTool(ecliPath, ['key', 'generate', '--output-prefix', 'planted'], { env, cwd: dir });
  assert.equal(planted.status, 2, planted.stderr);
  assert.equal(existsSync(target), false, 'nothing written through the symlink');
  assert.equal(existsSync(path.join(dir, 'planted.pub')), false);
  const noPassword = runTool(ecliPath, ['key', 'generate', '--output-prefix', 'n'], { env: { COSIGN_PASSWORD: undefined }, cwd: dir, input: '' });
  assert.equal(noPassword.status, 2, noPassword.stderr);
  assert.match(noPassword.stderr, /^ecli: error: no password for the private key: COSIGN_PASSWORD is not set and stdin is not a terminal to ask on$/m);
  assert.deepEqual(readdirSync(dir).sort(), ['cosign.key', 'cosign.pub', 'planted.key']);
});

test('registry: sign and verify, several signatures, and every refusal with exit 15', async (t) => {
  const setup = await setUp(t);
  if (setup === undefined) return;
  const host = setup.registry.host;
  const tagged = `${host}/tools/printk:v1`;
  const digest = push(setup, FIXTURE, tagged);
  const pinned = `${host}/tools/printk@${digest}`;

  await t.test('an unsigned package: no signature', () => {
    refused(ecli(setup, ['verify', '--key', setup.pub, tagged]), new RegExp(`^ecli: error: ${pinned} has no signature \\(required by --key\\)$`));
  });

  await t.test('sign by tag signs the digest the tag names; verify prints it', () => {
    const signed = ecli(setup, ['sign', '--key', setup.key, tagged]);
    assert.equal(succeeded(signed, 'ecli sign'), `${digest}\n`);
    assert.match(
      signed.stderr,
      new RegExp(`^ecli: signed ${pinned} with cosign\\.key; stored in ${host}/tools/printk:sha256-[0-9a-f]{64}\\.sig \\(1 signature\\)$`, 'm'),
    );
    const verified = ecli(setup, ['verify', '--key', setup.pub, tagged]);
    assert.equal(succeeded(verified, 'ecli verify'), `${digest}\n`);
    assert.match(verified.stderr, new RegExp(`^ecli: verified ${pinned}: signed by cosign\\.pub$`, 'm'));
    assert.equal(succeeded(ecli(setup, ['verify', '--key', setup.pub, pinned]), 'verify by digest'), `${digest}\n`);
  });

  await t.test('another key is refused', () => {
    refused(
      ecli(setup, ['verify', '--key', setup.otherPub, tagged]),
      new RegExp(`^ecli: error: ${pinned} is not signed by other\\.pub: its one signature is not by that key`),
    );
  });

  await t.test('a second signature is kept beside the first; signing twice with one key adds nothing', () => {
    assert.match(ecli(setup, ['sign', '--key', setup.otherKey, tagged]).stderr, /\(2 signatures\)$/m);
    assert.equal(succeeded(ecli(setup, ['verify', '--key', setup.pub, tagged]), 'first key'), `${digest}\n`);
    assert.equal(succeeded(ecli(setup, ['verify', '--key', setup.otherPub, tagged]), 'second key'), `${digest}\n`);
    const twice = ecli(setup, ['sign', '--key', setup.key, tagged]);
    assert.match(twice.stderr, new RegExp(`^ecli: ${pinned} is already signed by cosign\\.key in .*\\(2 signatures\\); nothing written$`, 'm'));
  });

  await t.test('a tag re-pushed with other bytes after signing is refused: its new digest has no signature', () => {
    const newDigest = push(setup, variant(setup, 'repushed.json'), tagged);
    assert.notEqual(newDigest, digest);
    refused(ecli(setup, ['verify', '--key', setup.pub, tagged]), new RegExp(`^ecli: error: ${host}/tools/printk@${newDigest} has no signature`));
    push(setup, FIXTURE, tagged);
  });

  await t.test('a signature copied onto another manifest is refused: its payload names another digest', async () => {
    const other = `${host}/tools/printk:copy`;
    const otherDigest = push(setup, variant(setup, 'copy.json'), other);
    const signatures = await fetch(`http://${host}/v2/tools/printk/manifests/${digest.replace(':', '-')}.sig`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const put = await fetch(`http://${host}/v2/tools/printk/manifests/${otherDigest.replace(':', '-')}.sig`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: Buffer.from(await signatures.arrayBuffer()),
    });
    assert.equal(put.status, 201);
    refused(
      ecli(setup, ['verify', '--key', setup.pub, other]),
      new RegExp(`: cosign\\.pub signed a payload naming ${digest}, not ${otherDigest}; that signature was made for another manifest`),
    );
  });

  await t.test('a malformed signature is refused', async () => {
    const other = `${host}/tools/printk:malformed`;
    const otherDigest = push(setup, variant(setup, 'malformed.json'), other);
    const signatures = await fetch(`http://${host}/v2/tools/printk/manifests/${digest.replace(':', '-')}.sig`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const manifest = (await signatures.json()) as { layers: { annotations: Record<string, string> }[] };
    for (const layer of manifest.layers) layer.annotations['dev.cosignproject.cosign/signature'] = 'bm90IGEgc2lnbmF0dXJl';
    const put = await fetch(`http://${host}/v2/tools/printk/manifests/${otherDigest.replace(':', '-')}.sig`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: JSON.stringify(manifest),
    });
    assert.equal(put.status, 201);
    refused(
      ecli(setup, ['verify', '--key', setup.pub, other]),
      /: malformed signature \(signature 1 of 2: its signature is not a base64 DER ECDSA signature\)/,
    );
  });
});

test('run and pull --verify-key: checked before any layer is fetched; a refusal leaves nothing', async (t) => {
  const setup = await setUp(t);
  if (setup === undefined) return;
  const host = setup.registry.host;
  const signedRef = `${host}/tools/signed:v1`;
  const unsignedRef = `${host}/tools/unsigned:v1`;
  push(setup, FIXTURE, signedRef);
  succeeded(ecli(setup, ['sign', '--key', setup.key, signedRef]), 'sign');
  push(setup, variant(setup, 'unsigned.json'), unsignedRef);

  await t.test('an unsigned tag: run refuses with exit 15, and the layer was never requested', async () => {
    const layer = layerDigest(setup, unsignedRef);
    const before = setup.registry.requests().length;
    const run = ecli(setup, ['run', '--verify-key', setup.pub, unsignedRef]);
    refused(run, /tools\/unsigned@sha256:[0-9a-f]{64} has no signature \(required by --verify-key\)$/);
    const requests = await setup.registry.requestsUntil(before, (r) => r.includes('.sig '));
    assert.ok(
      requests.some((r) => r.startsWith('GET /v2/tools/unsigned/manifests/v1 ')),
      requests.join('\n'),
    );
    assert.deepEqual(
      requests.filter((r) => r.startsWith('GET ') && r.includes(layer)),
      [],
      'the package layer was never fetched, so nothing of it was decoded or loaded',
    );
  });

  await t.test('a signed tag passes the gate and is decoded (its --help), saying what was verified', () => {
    const run = ecli(setup, ['run', '--verify-key', setup.otherPub, '--verify-key', setup.pub, signedRef, '--help']);
    assert.match(succeeded(run, 'run --help'), /Usage: simple_bpf/);
    assert.match(run.stderr, new RegExp(`^ecli: verified ${host}/tools/signed@sha256:[0-9a-f]{64}: signed by cosign\\.pub$`, 'm'));
    refused(ecli(setup, ['run', '--verify-key', setup.otherPub, signedRef, '--help']), /is not signed by other\.pub/);
  });

  await t.test('pull --verify-key writes a signed package, and nothing for an unsigned one', () => {
    const out = tempDir(t, 'ecli-pulled-');
    assert.match(succeeded(ecli(setup, ['pull', '--verify-key', setup.pub, '-o', `${out}/`, signedRef]), 'pull'), /^wrote /);
    // pull names the file after the repository (tools/signed), not after the pushed file.
    assert.deepEqual(readFileSync(path.join(out, 'signed.json')), readFileSync(FIXTURE));
    const empty = tempDir(t, 'ecli-pulled-');
    refused(ecli(setup, ['pull', '--verify-key', setup.pub, '-o', `${empty}/`, unsignedRef]), /has no signature/);
    assert.deepEqual(readdirSync(empty), []);
  });

  await t.test('a signed package really runs under --verify-key (root)', async (t) => {
    if (!haveRoot(t) || !haveToolchain(t)) return;
    const packed = prepareExecsnoop(t);
    const reference = `${host}/tools/execsnoop:v1`;
    push(setup, packed.packagePath, reference);
    succeeded(ecli(setup, ['sign', '--key', setup.key, reference]), 'sign execsnoop');
    const stderr = await runAndSeeExec(t, packed.exe, ['--verify-key', path.join(setup.dir, setup.pub), reference], { env: setup.env });
    assert.match(stderr, /^ecli: verified .*tools\/execsnoop@sha256:[0-9a-f]{64}: signed by /m);
  });
});

test('files: a detached <file>.sig; one byte changed, another key or no signature refused, nothing decoded', async (t) => {
  const setup = workspace(t);
  const dir = setup.dir;
  const file = path.join(dir, 'pkg.json');
  writeFileSync(file, readFileSync(FIXTURE));
  assert.equal(succeeded(ecli(setup, ['sign', '--key', setup.key, 'pkg.json']), 'sign file'), `wrote ${file}.sig\n`);
  assert.match(readFileSync(`${file}.sig`, 'utf8'), /^[A-Za-z0-9+/]+=*$/);
  const digest = `sha256:${spawnSync('sha256sum', [file], { encoding: 'utf8' }).stdout.split(' ')[0]}`;
  assert.equal(succeeded(ecli(setup, ['verify', '--key', setup.pub, 'pkg.json']), 'verify file'), `${digest}\n`);
  assert.match(succeeded(ecli(setup, ['run', '--verify-key', setup.pub, 'pkg.json', '--help']), 'run file'), /Usage: simple_bpf/);
  refused(
    ecli(setup, ['verify', '--key', setup.otherPub, 'pkg.json']),
    /pkg\.json\.sig is not a signature by other\.pub of these bytes: the file changed after it was signed, or another key signed it/,
  );

  const bytes = readFileSync(file);
  bytes[bytes.indexOf('simple_bpf')]! ^= 0x01;
  writeFileSync(file, bytes);
  refused(ecli(setup, ['verify', '--key', setup.pub, 'pkg.json']), /is not a signature by cosign\.pub of these bytes: the file changed after it was signed/);
  refused(ecli(setup, ['run', '--verify-key', setup.pub, 'pkg.json']), /is not a signature by cosign\.pub of these bytes/);

  writeFileSync(path.join(dir, 'unsigned.json'), readFileSync(FIXTURE));
  refused(
    ecli(setup, ['run', '--verify-key', setup.pub, 'unsigned.json']),
    /unsigned\.json \(sha256:[0-9a-f]{64}\) has no signature: .*unsigned\.json\.sig does not exist \(required by --verify-key\)$/,
  );
  // stdin: the signature is named with --signature.
  const fromStdin = runTool(ecliPath, ['run', '--verify-key', 'cosign.pub', '--signature', 'other.sig', '-', '--help'], {
    cwd: dir,
    input: readFileSync(FIXTURE),
    env: setup.env,
  });
  assert.equal(fromStdin.status, 3, fromStdin.stderr);
  assert.match(fromStdin.stderr, /^ecli: error: cannot read the signature other\.sig: no such file$/m);
  writeFileSync(path.join(dir, 'stdin.json'), readFileSync(FIXTURE));
  succeeded(ecli(setup, ['sign', '--key', setup.key, '--output-signature', 'stdin.sig', 'stdin.json']), 'sign for stdin');
  const signedStdin = runTool(ecliPath, ['run', '--verify-key', 'cosign.pub', '--signature', 'stdin.sig', '-', '--help'], {
    cwd: dir,
    input: readFileSync(FIXTURE),
    env: setup.env,
  });
  assert.match(succeeded(signedStdin, 'stdin with --signature'), /Usage: simple_bpf/);
});

test('URLs: the signature is <url>.sig on the same server; a missing or wrong one is refused before parsing', async (t) => {
  const setup = workspace(t);
  writeFileSync(path.join(setup.dir, 'pkg.json'), readFileSync(FIXTURE));
  writeFileSync(path.join(setup.dir, 'unsigned.json'), readFileSync(FIXTURE));
  succeeded(ecli(setup, ['sign', '--key', setup.key, 'pkg.json']), 'sign');
  const served: string[] = [];
  const server = createServer((request, response) => {
    served.push(request.url ?? '');
    const file = path.join(setup.dir, path.basename(request.url ?? ''));
    if (!existsSync(file)) return void response.writeHead(404).end();
    response.writeHead(200).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const run = (url: string, ...flags: string[]) => runToolAsync(ecliPath, ['run', '--insecure', ...flags, url, '--help'], { cwd: setup.dir, env: setup.env });
  assert.match(succeeded(await run(`${base}/pkg.json`, '--verify-key', setup.pub), 'a signed URL'), /Usage: simple_bpf/);
  assert.ok(served.includes('/pkg.json.sig'), served.join(' '));
  refused(await run(`${base}/unsigned.json`, '--verify-key', setup.pub), new RegExp(`has no signature: ${base}/unsigned\\.json\\.sig answered 404`));
  refused(await run(`${base}/pkg.json`, '--verify-key', setup.otherPub), /pkg\.json\.sig is not a signature by other\.pub of these bytes/);
  assert.match(
    succeeded(await run(`${base}/unsigned.json`, '--verify-key', setup.pub, '--signature', `${base}/pkg.json.sig`), 'a named signature URL'),
    /Usage: simple_bpf/,
  );
});

test('policy: keys per repository, allowed digests and prefixes, local files; a refusal names the rule', async (t) => {
  const setup = await setUp(t);
  if (setup === undefined) return;
  const host = setup.registry.host;
  const signed = `${host}/acme/tool:v1`;
  const unsigned = `${host}/acme/unsigned:v1`;
  const vendorDigest = push(setup, variant(setup, 'vendor.json'), `${host}/vendor/tool:v1`);
  push(setup, FIXTURE, signed);
  succeeded(ecli(setup, ['sign', '--key', setup.key, signed]), 'sign');
  push(setup, variant(setup, 'unsigned.json'), unsigned);
  push(setup, variant(setup, 'scratch.json'), `${host}/scratch/x:v1`);
  writeFileSync(
    path.join(setup.dir, 'policy.json'),
    JSON.stringify({
      version: 1,
      registries: [
        { match: `${host}/acme/*`, action: 'verify', keys: ['cosign.pub'] },
        { match: `${host}/vendor/tool@${vendorDigest}`, action: 'allow' },
        { match: `${host}/scratch/*`, action: 'allow' },
        { match: '*', action: 'refuse' },
      ],
      files: { action: 'verify', keys: ['other.pub'] },
    }),
  );
  const policy = { ECLI_POLICY: path.join(setup.dir, 'policy.json') };
  const runHelp = (reference: string) => ecli(setup, ['run', reference, '--help'], policy);

  assert.match(succeeded(runHelp(signed), 'signed, required'), /Usage: simple_bpf/);
  refused(runHelp(unsigned), new RegExp(`has no signature \\(required by .*policy\\.json registries\\[0\\] \\(match "${host}/acme/\\*"\\)\\)$`));
  assert.match(succeeded(runHelp(`${host}/vendor/tool:v1`), 'an allowed digest'), /Usage: simple_bpf/);
  assert.match(succeeded(runHelp(`${host}/scratch/x:v1`), 'an allowed prefix'), /Usage: simple_bpf/);
  push(setup, variant(setup, 'vendor2.json'), `${host}/vendor/tool:v1`);
  refused(runHelp(`${host}/vendor/tool:v1`), new RegExp(`is refused by the signing policy: .*policy\\.json registries\\[3\\] \\(match "\\*"\\)$`));
  // --verify-key adds to the policy: both must hold.
  refused(ecli(setup, ['run', '--verify-key', setup.otherPub, signed, '--help'], policy), /is not signed by other\.pub.*\(required by --verify-key\)$/);
  // Local files: the policy's "files" keys.
  writeFileSync(path.join(setup.dir, 'local.json'), readFileSync(FIXTURE));
  refused(ecli(setup, ['run', 'local.json', '--help'], policy), /local\.json\.sig does not exist \(required by .*policy\.json "files"\)$/);
  succeeded(ecli(setup, ['sign', '--key', setup.otherKey, 'local.json']), 'sign local');
  assert.match(succeeded(ecli(setup, ['run', 'local.json', '--help'], policy), 'signed local file'), /Usage: simple_bpf/);
  // A broken policy refuses everything rather than nothing.
  writeFileSync(path.join(setup.dir, 'broken.json'), '{"version": 1, "registries": [{"match": "*", "action": "alow"}]}');
  refused(
    ecli(setup, ['run', 'local.json', '--help'], { ECLI_POLICY: path.join(setup.dir, 'broken.json') }),
    /invalid signing policy .*broken\.json: registries\[0\]\.action must be one of/,
  );
});

test('interoperability with an independent implementation (Python cryptography + PyNaCl)', async (t) => {
  if (!havePythonCrypto(t)) return;
  const setup = await setUp(t);
  if (setup === undefined) return;
  const host = setup.registry.host;
  const base = `http://${host}`;
  const python = (args: string[]): string => {
    const result = spawnSync(PYTHON, [INTEROP, ...args], { cwd: setup.dir, encoding: 'utf8' });
    assert.equal(result.status, 0, `cosign_interop.py ${args.join(' ')}:\n${result.stderr}`);
    return result.stdout.trim();
  };

  await t.test("Python opens ecli's encrypted key, and checks ecli's registry and file signatures", () => {
    const reference = `${host}/interop/by-ecli:v1`;
    const digest = push(setup, FIXTURE, reference);
    succeeded(ecli(setup, ['sign', '--key', setup.key, reference]), 'ecli sign');
    assert.equal(python(['verify-registry', setup.pub, base, 'interop/by-ecli', 'v1']), digest);
    writeFileSync(path.join(setup.dir, 'blob.json'), readFileSync(FIXTURE));
    succeeded(ecli(setup, ['sign', '--key', setup.key, 'blob.json']), 'ecli sign file');
    python(['verify-blob', setup.pub, 'blob.json', 'blob.json.sig']);
    // Python signs with ecli's key: it decrypted the key (scrypt + secretbox) and the public key matches.
    writeFileSync(path.join(setup.dir, 'blob.json.sig'), python(['sign-blob', setup.key, PASSWORD, 'blob.json']));
    succeeded(ecli(setup, ['verify', '--key', setup.pub, 'blob.json']), 'ecli verifies a signature Python made');
  });

  await t.test('ecli reads a key Python wrote (ENCRYPTED COSIGN PRIVATE KEY, scrypt N 2^15) and verifies a registry signature Python wrote', () => {
    python(['make-key', 'py', PASSWORD, '32768']);
    assert.match(readFileSync(path.join(setup.dir, 'py.key'), 'utf8'), /^-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n/);
    const reference = `${host}/interop/by-python:v1`;
    const digest = push(setup, FIXTURE, reference);
    assert.equal(python(['sign-registry', 'py.key', PASSWORD, base, 'interop/by-python', 'v1']), digest);
    assert.equal(succeeded(ecli(setup, ['verify', '--key', 'py.pub', reference]), "ecli verifies Python's registry signature"), `${digest}\n`);
    refused(ecli(setup, ['verify', '--key', setup.pub, reference]), /is not signed by cosign\.pub/);
    // ecli signs with the key Python wrote; Python checks both signatures are there.
    assert.match(ecli(setup, ['sign', '--key', 'py.key', reference]).stderr, /already signed by py\.key/);
    succeeded(ecli(setup, ['sign', '--key', setup.key, reference]), "ecli adds a signature beside Python's");
    assert.equal(python(['verify-registry', setup.pub, base, 'interop/by-python', 'v1']), digest);
    assert.equal(python(['verify-registry', 'py.pub', base, 'interop/by-python', 'v1']), digest);
    writeFileSync(path.join(setup.dir, 'py-blob.json'), readFileSync(FIXTURE));
    succeeded(ecli(setup, ['sign', '--key', 'py.key', 'py-blob.json']), 'ecli signs with the Python key');
    python(['verify-blob', 'py.pub', 'py-blob.json', 'py-blob.json.sig']);
  });
});

function havePythonCrypto(t: TestContext): boolean {
  const probe = spawnSync(PYTHON, ['-c', 'import cryptography, nacl'], { encoding: 'utf8' });
  if (probe.status === 0) return true;
  skipUnlessCi(t, `needs ${PYTHON} with cryptography and nacl (make setup installs python3-cryptography and python3-nacl)`);
  return false;
}
