/**
 * The registry client against a small local server on 127.0.0.1 that speaks the distribution
 * API with the bearer-token challenge flow (as ghcr.io and Docker Hub do), and that can
 * misbehave in ways a real registry does not: altered manifests and blobs, redirects elsewhere.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sha256Hex } from '../../src/inputs/digest.js';
import { buildArtifact } from '../../src/inputs/registry/artifact.js';
import { parseChallenge } from '../../src/inputs/registry/challenge.js';
import { parseReference } from '../../src/inputs/registry/reference.js';
import { pullPackage, pushArtifact } from '../../src/inputs/registry/transfer.js';
import { errorWith } from '../helpers/assertions.js';
import { syntheticPackageText } from '../helpers/synthetic-package.js';
import { PRESIGNED_SECRET, SERVED_PACKAGE, startTokenRegistry } from '../helpers/token-registry.js';

const USER = 'robot';
const PASSWORD = 'pa55-w0rd';
const TOKEN = 'tok-7f3e9a';
const PACKAGE = new TextEncoder().encode(syntheticPackageText('served_bpf'));
const ARTIFACT = buildArtifact(PACKAGE, 'json', 'package.json', { name: 'served', version: '1.0.0' });
const MAX = 1 << 20;

interface Seen {
  method: string;
  url: string;
  authorization?: string;
}

let registry: Server;
let other: Server;
let host = '';
let otherBase = '';
let seen: Seen[] = [];
const blobs = new Map<string, Uint8Array>([
  [ARTIFACT.config.descriptor.digest, ARTIFACT.config.bytes],
  [ARTIFACT.layer.descriptor.digest, ARTIFACT.layer.bytes],
]);
const manifests = new Map<string, Uint8Array>([['v1', ARTIFACT.manifest]]);
let configDir = '';

function challenge(res: ServerResponse, scope?: string): void {
  const params = [`realm="http://${host}/token"`, 'service="unit-registry"', ...(scope === undefined ? [] : [`scope="${scope}"`])];
  res.writeHead(401, { 'www-authenticate': `Bearer ${params.join(',')}`, 'content-type': 'application/json' });
  res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
}

function handleToken(url: URL, req: IncomingMessage, res: ServerResponse): void {
  const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  if (req.headers.authorization !== basic || url.searchParams.get('service') !== 'unit-registry') {
    res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
    return;
  }
  // The token names the scope it was issued for, so that the API can check it.
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${TOKEN} ${url.searchParams.get('scope') ?? ''}` }));
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', `http://${host}`);
  seen.push({ method: req.method ?? '', url: url.pathname + url.search, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
  if (url.pathname === '/token') return handleToken(url, req, res);
  const repository = /^\/v2\/([a-z0-9/._-]+?)\/(manifests|blobs)\/(.+)$/.exec(url.pathname);
  const needed = repository
    ? `repository:${repository[1]}:${req.method === 'PUT' || req.method === 'POST' || req.method === 'PATCH' ? 'pull,push' : 'pull'}`
    : undefined;
  const token = req.headers.authorization ?? '';
  if (url.pathname === '/v2/') {
    if (!token.startsWith(`Bearer ${TOKEN}`)) return challenge(res);
    res.writeHead(200).end('{}');
    return;
  }
  const prefix = `Bearer ${TOKEN} `;
  const tokenScope = token.startsWith(prefix) ? token.slice(prefix.length) : undefined;
  if (needed === undefined || (tokenScope !== needed && tokenScope !== `${needed},push`)) return challenge(res, needed);
  const [, name, kind, reference] = repository!;
  if (name === 'tools/altered' && kind === 'manifests') {
    const bytes = new TextEncoder().encode(new TextDecoder().decode(ARTIFACT.manifest).replace('"served"', '"evil__"'));
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': ARTIFACT.digest }).end(bytes);
    return;
  }
  if (kind === 'manifests' && req.method === 'PUT') {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const bytes = Buffer.concat(chunks);
      manifests.set(reference!, bytes);
      res.writeHead(201, { 'docker-content-digest': `sha256:${sha256Hex(bytes)}` }).end();
    });
    return;
  }
  if (kind === 'manifests') {
    const bytes = manifests.get(reference!) ?? [...manifests.values()].find((m) => `sha256:${sha256Hex(m)}` === reference);
    if (bytes === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': `sha256:${sha256Hex(bytes)}` }).end(bytes);
    return;
  }
  if (name === 'tools/elsewhere' && req.method === 'GET') {
    res.writeHead(307, { location: `${otherBase}/storage/${reference}` }).end();
    return;
  }
  if (name === 'tools/guarded' && req.method === 'GET' && kind === 'blobs') {
    res.writeHead(307, { location: `${otherBase}/guarded/${reference}` }).end();
    return;
  }
  if (name === 'tools/ftp' && req.method === 'GET') {
    res.writeHead(302, { location: `ftp://${host}/blob` }).end();
    return;
  }
  const blob = blobs.get(reference!);
  if (blob === undefined) {
    res.writeHead(404).end();
    return;
  }
  const body = name === 'tools/damaged' ? Buffer.from(blob).fill(0x20, 0, 1) : blob;
  res.writeHead(200, { 'content-length': String(body.length) }).end(req.method === 'HEAD' ? undefined : body);
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

before(async () => {
  registry = createServer(handle);
  host = await listen(registry);
  other = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: `other:${req.url}`, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    // Storage that wants its own credentials: a challenge naming its own token service.
    if ((req.url ?? '').startsWith('/guarded/')) {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${otherBase}/token",service="storage"` }).end();
      return;
    }
    if ((req.url ?? '').startsWith('/token')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'storage-token' }));
      return;
    }
    const digest = (req.url ?? '').replace('/storage/', '');
    res.writeHead(200).end(blobs.get(digest));
  });
  otherBase = `http://${await listen(other)}`;
  configDir = mkdtempSync(path.join(tmpdir(), 'ecli-registry-unit-'));
});

after(() => {
  registry.close();
  other.close();
  rmSync(configDir, { recursive: true, force: true });
});

/** An env whose DOCKER_CONFIG holds `password` for the server (none when undefined). */
function envWith(password: string | undefined): NodeJS.ProcessEnv {
  const dir = mkdtempSync(path.join(configDir, 'c-'));
  if (password !== undefined) {
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${USER}:${password}`).toString('base64') } } }));
  }
  return { DOCKER_CONFIG: dir };
}

test('WWW-Authenticate challenges are parsed with quoted and bare parameters', () => {
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'), {
    scheme: 'bearer',
    params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' },
  });
  assert.deepEqual(parseChallenge('Basic realm="a \\"quoted\\" realm", charset=UTF-8'), {
    scheme: 'basic',
    params: { realm: 'a "quoted" realm', charset: 'UTF-8' },
  });
  assert.equal(parseChallenge(null), undefined);
});

test('pull: the bearer token is asked for with basic credentials, the service and the pull scope, then sent to the API', async () => {
  seen = [];
  const pulled = await pullPackage(parseReference(`${host}/tools/x:v1`), MAX, { env: envWith(PASSWORD) });
  assert.deepEqual(Buffer.from(pulled.bytes), Buffer.from(PACKAGE));
  assert.equal(pulled.digest, ARTIFACT.digest);
  assert.equal(pulled.fileName, 'x.json', 'named after the repository, not the layer title');
  const tokenRequest = seen.find((s) => s.url.startsWith('/token'));
  assert.ok(tokenRequest, 'the token endpoint was asked');
  assert.equal(new URL(tokenRequest.url, 'http://x').searchParams.get('scope'), 'repository:tools/x:pull');
  assert.equal(tokenRequest.authorization, `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`);
  const api = seen.filter((s) => s.url.startsWith('/v2/tools/'));
  assert.deepEqual(
    api.map((s) => `${s.method} ${s.url.split('/')[4]}`),
    ['GET manifests', 'GET blobs'],
  );
  for (const request of api) assert.equal(request.authorization, `Bearer ${TOKEN} repository:tools/x:pull`);
});

test('push: a token for pull,push; blobs the server has are not uploaded again', async () => {
  seen = [];
  const told: [string, boolean][] = [];
  await pushArtifact(parseReference(`${host}/tools/x:v2`), ARTIFACT, {
    env: envWith(PASSWORD),
    onBlob: (blob, uploaded) => told.push([blob.digest, uploaded]),
  });
  assert.deepEqual(told, [
    [ARTIFACT.config.descriptor.digest, false],
    [ARTIFACT.layer.descriptor.digest, false],
  ]);
  assert.equal(new URL(seen.find((s) => s.url.startsWith('/token'))!.url, 'http://x').searchParams.get('scope'), 'repository:tools/x:pull,push');
  assert.deepEqual(
    seen.filter((s) => s.url.startsWith('/v2/tools/')).map((s) => s.method),
    ['HEAD', 'HEAD', 'PUT'],
  );
  const pulled = await pullPackage(parseReference(`${host}/tools/x:v2`), MAX, { env: envWith(PASSWORD) });
  assert.equal(pulled.digest, ARTIFACT.digest);
});

test('wrong credentials: the error names the user and the file they came from, never the password or a token', async () => {
  const env = envWith('not-the-password');
  await assert.rejects(pullPackage(parseReference(`${host}/tools/x:v1`), MAX, { env }), (error: Error & { code?: string; hint?: string }) => {
    assert.equal(error.code, 'REGISTRY_AUTH');
    assert.match(
      error.message,
      new RegExp(
        `^${host} refused pulling ${host}/tools/x \\(token service http://${host}/token\\): HTTP 401 \\(UNAUTHORIZED: bad credentials\\); tried the credentials of user "robot" from .*config\\.json \\(auths\\["${host}"\\]\\)$`,
      ),
    );
    assert.ok(error.message.includes(path.join(env.DOCKER_CONFIG!, 'config.json')));
    assert.ok(!`${error.message}${error.hint}`.includes('not-the-password'));
    assert.ok(!`${error.message}${error.hint}`.includes(TOKEN));
    return true;
  });
});

test('anonymous: the error says no credentials were found, and where they were looked for', async () => {
  const env = envWith(undefined);
  await assert.rejects(
    pullPackage(parseReference(`${host}/tools/x:v1`), MAX, { env }),
    errorWith(
      'REGISTRY_AUTH',
      new RegExp(
        `refused pulling ${host}/tools/x \\(token service http://${host}/token\\): HTTP 401 .*; tried anonymous access \\(${path.join(env.DOCKER_CONFIG!, 'config.json').replace(/[.]/g, '\\.')} does not exist\\)$`,
      ),
    ),
  );
});

test('a manifest whose bytes do not match its digest is refused (INTEGRITY), by tag and by digest', async () => {
  const env = envWith(PASSWORD);
  await assert.rejects(
    pullPackage(parseReference(`${host}/tools/altered:v1`), MAX, { env }),
    errorWith('INTEGRITY', /the registry says the manifest is sha256:[0-9a-f]{64}, but its bytes are sha256:/),
  );
  await assert.rejects(
    pullPackage(parseReference(`${host}/tools/altered@${ARTIFACT.digest}`), MAX, { env }),
    errorWith('INTEGRITY', /the registry sent a manifest whose digest is sha256:/),
  );
});

test('a blob whose bytes do not match its descriptor is refused (INTEGRITY)', async () => {
  await assert.rejects(
    pullPackage(parseReference(`${host}/tools/damaged:v1`), MAX, { env: envWith(PASSWORD) }),
    errorWith('INTEGRITY', new RegExp(`blob ${ARTIFACT.layer.descriptor.digest} arrived with digest sha256:`)),
  );
});

test('a blob redirected to another origin is fetched without the Authorization header', async () => {
  seen = [];
  const pulled = await pullPackage(parseReference(`${host}/tools/elsewhere:v1`), MAX, { env: envWith(PASSWORD) });
  assert.deepEqual(Buffer.from(pulled.bytes), Buffer.from(PACKAGE));
  const redirected = seen.find((s) => s.url.startsWith('other:'));
  assert.ok(redirected, 'the other origin was asked');
  assert.equal(redirected.authorization, undefined);
});

test("another origin's challenge is never answered: a redirected blob refused there fails naming that origin, no credentials sent", async () => {
  seen = [];
  await assert.rejects(
    pullPackage(parseReference(`${host}/tools/guarded:v1`), MAX, { env: envWith(PASSWORD) }),
    (error: Error & { code?: string; hint?: string }) => {
      assert.equal(error.code, 'REGISTRY_AUTH');
      assert.equal(
        error.message,
        `pulling ${host}/tools/guarded:v1: GET to ${otherBase}, where ${host} sent it, answered HTTP 401; ecli sends credentials only to the registry's own origin (http://${host}), so none were sent there`,
      );
      assert.match(error.hint ?? '', /your credentials were not the problem/);
      return true;
    },
  );
  const atOther = seen.filter((s) => s.url.startsWith('other:'));
  assert.deepEqual(
    atOther.map((s) => s.url.replace(/sha256:[0-9a-f]+/, 'DIGEST')),
    ['other:/guarded/DIGEST'],
    'only the redirected GET reached the other origin: no token request',
  );
  assert.ok(
    atOther.every((s) => s.authorization === undefined),
    'no credentials reached the other origin',
  );
});

test('a redirect to another scheme is refused', async () => {
  await assert.rejects(
    pullPackage(parseReference(`${host}/tools/ftp:v1`), MAX, { env: envWith(PASSWORD) }),
    errorWith('NETWORK', /redirect to ftp:\/\/.*, which is not http\(s\)$/),
  );
});

test('a blob larger than the limit is refused before it is downloaded', async () => {
  await assert.rejects(
    pullPackage(parseReference(`${host}/tools/x:v1`), 100, { env: envWith(PASSWORD) }),
    errorWith('PACKAGE_INVALID', /its layer is \d+ bytes, more than the 100 byte limit/),
  );
});

test('an unknown tag is INPUT_NOT_FOUND with the registry error', async () => {
  await assert.rejects(
    pullPackage(parseReference(`${host}/tools/x:nope`), MAX, { env: envWith(PASSWORD) }),
    errorWith('INPUT_NOT_FOUND', new RegExp(`^cannot pull ${host}/tools/x:nope: ${host}/tools/x has no tag nope \\(MANIFEST_UNKNOWN: manifest unknown\\)$`)),
  );
});

test('a blob redirected to pre-signed storage that hangs up: the error names the storage URL without its signature', async () => {
  const storage = await startTokenRegistry({ listen: ['127.0.0.1:0'], presignedStorage: 'hangs-up' });
  try {
    await assert.rejects(pullPackage(parseReference(`${storage.addresses[0]}/tools/x:v1`), MAX, {}), (error: Error & { code?: string; hint?: string }) => {
      assert.equal(error.code, 'NETWORK');
      assert.match(
        error.message,
        /^GET http:\/\/127\.0\.0\.1:\d+\/storage\/sha256:[0-9a-f]{64}\?… \(redirected from http:\/\/127\.0\.0\.1:\d+\/v2\/tools\/x\/blobs\/sha256:[0-9a-f]{64}\): /,
      );
      assert.ok(!`${error.message} ${error.hint}`.includes(PRESIGNED_SECRET), error.message);
      return true;
    });
    assert.ok(
      storage.requests.some((r) => r.url.includes(PRESIGNED_SECRET)),
      'the storage URL was requested with its signature: only messages leave it out',
    );
  } finally {
    storage.close();
  }
});

test('a blob redirected to pre-signed storage that serves it is pulled', async () => {
  const storage = await startTokenRegistry({ listen: ['127.0.0.1:0'], presignedStorage: 'serves' });
  try {
    const pulled = await pullPackage(parseReference(`${storage.addresses[0]}/tools/x:v1`), MAX, {});
    assert.deepEqual(Buffer.from(pulled.bytes), Buffer.from(SERVED_PACKAGE));
  } finally {
    storage.close();
  }
});
