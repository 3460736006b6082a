/**
 * The input forms of `ecli run` with real BPF (issue 5): a tarball from `ecli pack`, the package
 * JSON or the tarball on stdin, and a pinned http:// URL; each must load examples/execsnoop and
 * print a row for an exec of a path chosen here. Also: a wrong pin and an unpinned URL.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { ecliPath, runToolAsync } from '../helpers/ecli-process.js';
import { haveRoot } from '../helpers/env.js';
import { haveCommands, haveToolchain } from '../helpers/examples.js';
import { prepareExecsnoop, runAndSeeExec } from '../helpers/execsnoop-run.js';

/** Serves `file` at /<name> on an ephemeral 127.0.0.1 port until the test ends. */
async function serve(t: TestContext, file: string, headers: Record<string, string> = {}): Promise<string> {
  const body = readFileSync(file);
  const name = path.basename(file);
  const server = createServer((req, res) => {
    if (req.url !== `/${name}`) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': body.length, ...headers }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/${name}`;
}

test('ecli run loads a package from a tarball, stdin (JSON and tarball) and a pinned URL', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const packed = prepareExecsnoop(t);

  await t.test('a .tar.gz written by ecli pack', async (t) => {
    await runAndSeeExec(t, packed.exe, [packed.tarball]);
  });
  await t.test('- with the package JSON on stdin', async (t) => {
    await runAndSeeExec(t, packed.exe, ['-'], { input: readFileSync(packed.packagePath) });
  });
  await t.test('- with the tarball on stdin', async (t) => {
    await runAndSeeExec(t, packed.exe, ['-'], { input: readFileSync(packed.tarball) });
  });
  await t.test('an http:// URL pinned with the digest ecli pack printed', async (t) => {
    const url = await serve(t, packed.tarball);
    await runAndSeeExec(t, packed.exe, ['--sha256', packed.sha256, url]);
  });
  await t.test('a URL the server labels Content-Encoding: gzip, pinned with the digest of curl | sha256sum', async (t) => {
    if (!haveCommands(t, ['curl', 'sha256sum'])) return;
    const url = await serve(t, packed.tarball, { 'content-encoding': 'gzip' });
    const curled = await promisify(execFile)('sh', ['-c', `curl -sSf ${url} | sha256sum`]);
    const digest = curled.stdout.split(' ')[0]!;
    assert.equal(digest, packed.sha256, 'curl saves the bytes as sent');
    await runAndSeeExec(t, packed.exe, ['--sha256', digest, url]);
  });
});

test('a URL with a wrong pin exits 13 before loading; an unpinned URL exits 2', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const packed = prepareExecsnoop(t);
  const url = await serve(t, packed.tarball);
  const wrong = packed.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0'));

  // With -v, libbpf reports every object it opens: no libbpf line means nothing was loaded.
  const mismatch = await runToolAsync(ecliPath, ['-v', 'run', '--sha256', wrong, url]);
  assert.equal(mismatch.status, 13, mismatch.stderr);
  assert.match(mismatch.stderr, new RegExp(`sha256 mismatch for ${url}: expected ${wrong}, got ${packed.sha256}`));
  assert.doesNotMatch(mismatch.stderr, /libbpf/);

  const unpinned = await runToolAsync(ecliPath, ['-v', 'run', url]);
  assert.equal(unpinned.status, 2, unpinned.stderr);
  assert.match(unpinned.stderr, /refusing to run an unpinned URL/);
  assert.doesNotMatch(unpinned.stderr, /libbpf/);
});
