import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { brotliCompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { sha256Hex } from '../../src/inputs/digest.js';
import { resolvePackageSource } from '../../src/inputs/source.js';
import { fixturesDir } from '../helpers/env.js';
import { buildTar } from '../helpers/tar-build.js';
import { syntheticPackageText } from '../helpers/synthetic-package.js';
import { errorWith } from '../helpers/assertions.js';

const PACKAGE = Buffer.from(syntheticPackageText('served_bpf'));
const SIGNATURE = 'c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtbGVhaw';
const TARBALL = gzipSync(buildTar([{ path: 'package.json', data: PACKAGE }]));

let server: Server;
let base = '';
const requests: string[] = [];
/** The Accept-Encoding of each request, by URL. */
const acceptEncodings = new Map<string, string | undefined>();

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  requests.push(url);
  acceptEncodings.set(url, req.headers['accept-encoding']);
  const askedForGzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
  const redirect = /^\/hop\/(\d+)$/.exec(url);
  if (redirect) {
    const n = Number(redirect[1]);
    res.writeHead(302, { location: n <= 1 ? '/package.json' : `/hop/${n - 1}` }).end();
    return;
  }
  if (url.startsWith('/package.json?')) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(PACKAGE);
    return;
  }
  switch (url) {
    case '/package.json':
      res.writeHead(200, { 'content-type': 'application/json' }).end(PACKAGE);
      return;
    case '/bootstrap.json':
      res.writeHead(200).end(readFileSync(join(fixturesDir, 'bootstrap.json')));
      return;
    case '/pkg.tar.gz':
      res.writeHead(200).end(TARBALL);
      return;
    case '/download?id=7':
      res.writeHead(200).end(TARBALL);
      return;
    case '/negotiated.json':
      // Compresses when the client asks for it, as most servers do.
      if (askedForGzip) res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(PACKAGE));
      else res.writeHead(200).end(PACKAGE);
      return;
    case '/labelled.tar.gz':
      // A server that labels .gz files with their coding whatever the client asks (Apache's AddEncoding).
      res.writeHead(200, { 'content-encoding': 'x-gzip' }).end(TARBALL);
      return;
    case '/labelled.json':
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(PACKAGE));
      return;
    case '/brotli.json':
      res.writeHead(200, { 'content-encoding': 'br' }).end(brotliCompressSync(PACKAGE));
      return;
    case '/hop-with-credentials':
      res.writeHead(302, { location: `http://someone:hunter2@${req.headers.host}/package.json` }).end();
      return;
    case '/hop-to-signed':
      // As a registry or a CDN sends a download to pre-signed storage: the query is the credential.
      res.writeHead(302, { location: `/expired.json?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=${SIGNATURE}` }).end();
      return;
    case '/hop-to-signed-elsewhere':
      res.writeHead(302, { location: `http://127.0.0.1:1/blob?sig=${SIGNATURE}` }).end();
      return;
    case '/hop-to-signed-ftp':
      res.writeHead(302, { location: `ftp://127.0.0.1/blob?sig=${SIGNATURE}` }).end();
      return;
    case '/hop-to-missing':
      res.writeHead(301, { location: '/missing.json' }).end();
      return;
    case '/big-declared.json':
      res.writeHead(200, { 'content-length': String(10_000) }).end(Buffer.alloc(10_000, 0x20));
      return;
    case '/big-chunked.json':
      // No content-length: the limit must be enforced while reading.
      res.writeHead(200);
      for (let i = 0; i < 10; i++) res.write(Buffer.alloc(1000, 0x20));
      res.end();
      return;
    case '/slow.json':
      res.writeHead(200);
      res.write('{');
      setTimeout(() => res.end('}'), 2000).unref();
      return;
    default:
      res.writeHead(404).end('not here');
  }
}

before(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

test('a pinned URL resolves', async () => {
  const url = `${base}/package.json`;
  const resolved = await resolvePackageSource(url, { sha256: sha256Hex(PACKAGE) });
  assert.equal(resolved.source, url);
  assert.equal(resolved.pkg.meta.bpf_skel.obj_name, 'served_bpf');
});

test('the reference bootstrap.json can be served and pinned', async () => {
  const digest = sha256Hex(readFileSync(join(fixturesDir, 'bootstrap.json')));
  const resolved = await resolvePackageSource(`${base}/bootstrap.json`, { sha256: digest });
  assert.equal(resolved.pkg.meta.bpf_skel.obj_name, 'client_bpf');
});

test('an unpinned URL is refused before any request; --insecure accepts it', async () => {
  const url = `${base}/package.json?unpinned`;
  await assert.rejects(
    resolvePackageSource(url),
    errorWith('USAGE', /^refusing to run an unpinned URL: pass --sha256 <digest> \(sha256 of the file\) or --insecure, before the URL$/),
  );
  assert.equal(requests.includes('/package.json?unpinned'), false);
  const resolved = await resolvePackageSource(`${base}/package.json`, { insecure: true });
  assert.equal(resolved.pkg.meta.bpf_skel.obj_name, 'served_bpf');
});

test('a wrong pin names both digests', async () => {
  const url = `${base}/package.json`;
  const wrong = 'ab'.repeat(32);
  await assert.rejects(
    resolvePackageSource(url, { sha256: wrong }),
    errorWith('INTEGRITY', new RegExp(`^sha256 mismatch for ${url}: expected ${wrong}, got ${sha256Hex(PACKAGE)}$`)),
  );
});

test('a tarball URL resolves, typed by extension or by content', async () => {
  const digest = sha256Hex(TARBALL);
  assert.equal((await resolvePackageSource(`${base}/pkg.tar.gz`, { sha256: digest })).pkg.meta.bpf_skel.obj_name, 'served_bpf');
  assert.equal((await resolvePackageSource(`${base}/download?id=7`, { sha256: digest })).pkg.meta.bpf_skel.obj_name, 'served_bpf');
});

test('HTTP errors are NETWORK errors with the status', async () => {
  await assert.rejects(
    resolvePackageSource(`${base}/missing.json`, { insecure: true }),
    errorWith('NETWORK', new RegExp(`^GET ${base}/missing\\.json: HTTP 404 Not Found$`)),
  );
  await assert.rejects(
    resolvePackageSource(`${base}/hop-to-missing`, { insecure: true }),
    errorWith('NETWORK', new RegExp(`^GET ${base}/missing\\.json \\(redirected from ${base}/hop-to-missing\\): HTTP 404 Not Found$`)),
  );
});

test('redirects are followed up to 5, and the final URL is reported beyond that', async () => {
  const resolved = await resolvePackageSource(`${base}/hop/5`, { insecure: true });
  assert.equal(resolved.pkg.meta.bpf_skel.obj_name, 'served_bpf');
  assert.equal(resolved.source, `${base}/hop/5`);
  await assert.rejects(
    resolvePackageSource(`${base}/hop/6`, { insecure: true }),
    errorWith('NETWORK', new RegExp(`^GET ${base}/hop/1 \\(redirected from ${base}/hop/6\\): more than 5 redirects$`)),
  );
});

test('bodies over maxBytes are refused, with or without content-length', async () => {
  for (const path of ['/big-declared.json', '/big-chunked.json']) {
    await assert.rejects(
      resolvePackageSource(`${base}${path}`, { insecure: true, maxBytes: 5000 }),
      errorWith('NETWORK', /the response is larger than the 5000 byte limit/),
    );
  }
});

test('a slow response times out', async () => {
  const started = Date.now();
  await assert.rejects(
    resolvePackageSource(`${base}/slow.json`, { insecure: true, timeoutMs: 200 }),
    errorWith('NETWORK', new RegExp(`^GET ${base}/slow\\.json: no complete response within 200 ms$`)),
  );
  assert.ok(Date.now() - started < 1500, 'gave up well before the server finished');
});

test('a refused connection is a NETWORK error', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  await assert.rejects(resolvePackageSource(`http://127.0.0.1:${port}/p.json`, { insecure: true }), errorWith('NETWORK', /ECONNREFUSED/));
});

test('URLs are fetched with Accept-Encoding: identity, so a server that compresses on request sends the file itself', async () => {
  const url = `${base}/negotiated.json`;
  const resolved = await resolvePackageSource(url, { sha256: sha256Hex(PACKAGE) });
  assert.equal(acceptEncodings.get('/negotiated.json'), 'identity');
  assert.deepEqual(Buffer.from(resolved.bytes), PACKAGE);
});

test('a body the server still labels Content-Encoding: gzip is hashed and read as sent, as curl -o saves it', async () => {
  const url = `${base}/labelled.tar.gz`;
  const resolved = await resolvePackageSource(url, { sha256: sha256Hex(TARBALL) });
  assert.equal(resolved.type, 'tar');
  assert.deepEqual(Buffer.from(resolved.bytes), TARBALL);
  assert.equal(resolved.pkg.meta.bpf_skel.obj_name, 'served_bpf');
  // The digest of the decoded bytes (what Node's fetch would have hashed) is not the file's.
  const decoded = sha256Hex(gunzipSync(TARBALL));
  await assert.rejects(
    resolvePackageSource(url, { sha256: decoded }),
    errorWith('INTEGRITY', new RegExp(`^sha256 mismatch for ${url}: expected ${decoded}, got ${sha256Hex(TARBALL)}$`)),
  );
});

test('a .json URL sent gzip-coded is refused as gzip-compressed, after its pin matched the bytes sent', async () => {
  const url = `${base}/labelled.json`;
  await assert.rejects(
    resolvePackageSource(url, { sha256: sha256Hex(gzipSync(PACKAGE)) }),
    errorWith('PACKAGE_INVALID', new RegExp(`^${url} is gzip-compressed, not JSON$`)),
  );
});

test('a content coding other than gzip is refused: its bytes are not the file', async () => {
  await assert.rejects(
    resolvePackageSource(`${base}/brotli.json`, { insecure: true }),
    errorWith(
      'NETWORK',
      new RegExp(
        `^GET ${base}/brotli\\.json: the server sent Content-Encoding: br although ecli asked for identity; ecli hashes and reads the bytes exactly as sent, and these are not the file$`,
      ),
    ),
  );
});

test('a URL or a redirect carrying a user name and password is refused without sending or printing them', async () => {
  const withCredentials = base.replace('http://', 'http://someone:hunter2@');
  const before = requests.length;
  await assert.rejects(resolvePackageSource(`${withCredentials}/package.json`, { insecure: true }), (error: Error & { code?: string; hint?: string }) => {
    assert.equal(error.code, 'USAGE');
    assert.equal(error.message, `GET request to ${base}/package.json: the URL carries a user name or password, which ecli does not send`);
    assert.ok(!`${error.message}${error.hint}`.includes('hunter2'));
    return true;
  });
  assert.equal(requests.length, before, 'no request was sent');
  await assert.rejects(
    resolvePackageSource(`${base}/hop-with-credentials`, { insecure: true }),
    errorWith(
      'USAGE',
      new RegExp(`^GET ${base}/hop-with-credentials: redirect to ${base}/package.json: the URL carries a user name or password, which ecli does not send$`),
    ),
  );
});

test('no message shows the query of a URL, typed or redirected to: it may be a signature', async () => {
  const typed = `${base}/package.json?token=${SIGNATURE}`;
  const resolved = await resolvePackageSource(typed, { insecure: true });
  assert.equal(resolved.source, `${base}/package.json?…`, 'the package is named without the query');
  const leaks = (error: Error & { hint?: string }): boolean => `${error.message} ${error.hint ?? ''}`.includes(SIGNATURE);
  await assert.rejects(resolvePackageSource(typed, { sha256: '0'.repeat(64) }), (error: Error) => {
    assert.match(error.message, new RegExp(`^sha256 mismatch for ${base}/package\\.json\\?…: expected 0{64}, got [0-9a-f]{64}$`));
    return !leaks(error);
  });
  await assert.rejects(resolvePackageSource(typed), (error: Error & { hint?: string }) => {
    assert.match(error.hint ?? '', /curl -sL '<the URL>' \| sha256sum$/);
    return !leaks(error);
  });
  const refusals: [string, RegExp][] = [
    [`${base}/hop-to-signed`, new RegExp(`^GET ${base}/expired\\.json\\?… \\(redirected from ${base}/hop-to-signed\\): HTTP 404 Not Found$`)],
    [`${base}/hop-to-signed-elsewhere`, /^GET http:\/\/127\.0\.0\.1:1\/blob\?… \(redirected from .*\): connect ECONNREFUSED 127\.0\.0\.1:1$/],
    [`${base}/hop-to-signed-ftp`, /: redirect to ftp:\/\/127\.0\.0\.1\/blob\?…, which is not http\(s\)$/],
  ];
  for (const [url, message] of refusals) {
    await assert.rejects(resolvePackageSource(url, { insecure: true }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'NETWORK');
      assert.match(error.message, message);
      return !leaks(error);
    });
  }
});
