import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { sha256Hex } from '../../src/inputs/digest.js';
import { resolveInput, resolvePackageSource } from '../../src/inputs/source.js';
import { fixturesDir } from '../helpers/env.js';
import { buildTar } from '../helpers/tar-build.js';
import { minimalBpfElf, syntheticPackageText } from '../helpers/synthetic-package.js';
import { errorWith } from '../helpers/assertions.js';

function tempDir(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ecli-source-test-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

const PACKAGE = syntheticPackageText('demo_bpf');
const TAR = buildTar([{ path: 'package.json', data: PACKAGE }]);

test('a .json file resolves to the validated package and its ELF', async () => {
  using tmp = tempDir();
  const path = join(tmp.dir, 'package.json');
  writeFileSync(path, PACKAGE);
  const resolved = await resolvePackageSource(path);
  assert.equal(resolved.source, path);
  assert.equal(resolved.pkg.meta.bpf_skel.obj_name, 'demo_bpf');
  assert.deepEqual(resolved.elf, minimalBpfElf());
  assert.equal(resolved.btfArchive, undefined);
  assert.equal(resolved.manifest, undefined);
});

test('the reference bootstrap.json resolves with its object', async () => {
  const resolved = await resolvePackageSource(join(fixturesDir, 'bootstrap.json'));
  assert.equal(resolved.pkg.meta.bpf_skel.obj_name, 'client_bpf');
  assert.equal(resolved.elf.length, resolved.pkg.bpf_object_size);
});

test('.tar, .tar.gz and .tgz files resolve', async () => {
  using tmp = tempDir();
  for (const [name, bytes] of [
    ['p.tar', TAR],
    ['p.tar.gz', gzipSync(TAR)],
    ['p.tgz', gzipSync(TAR)],
  ] as const) {
    const path = join(tmp.dir, name);
    writeFileSync(path, bytes);
    const resolved = await resolvePackageSource(path);
    assert.equal(resolved.pkg.meta.bpf_skel.obj_name, 'demo_bpf', name);
    assert.equal(resolved.btfArchive, undefined, `${name}: no archive, so nothing left to clean up`);
  }
});

test('a file without a known extension is typed by its content', async () => {
  using tmp = tempDir();
  for (const [name, bytes] of [
    ['as-json', Buffer.from(`  \n${PACKAGE}`)],
    ['as-tar', TAR],
    ['as-gzip', gzipSync(TAR)],
  ] as const) {
    const path = join(tmp.dir, name);
    writeFileSync(path, bytes);
    assert.equal((await resolvePackageSource(path)).pkg.meta.bpf_skel.obj_name, 'demo_bpf', name);
  }
  const odd = join(tmp.dir, 'odd.bin');
  writeFileSync(odd, 'hello');
  await assert.rejects(resolvePackageSource(odd), errorWith('PACKAGE_INVALID', /cannot tell what kind of package .*odd\.bin/));
  await assert.rejects(resolvePackageSource(odd, { progType: 'json' }), errorWith('PACKAGE_INVALID', /not valid JSON/));
});

test('a C header is told apart from a package, with the source to run instead', async () => {
  using tmp = tempDir();
  const header = join(tmp.dir, 'prog.h');
  writeFileSync(header, 'struct event { int pid; };\n');
  await assert.rejects(resolvePackageSource(header), (error: unknown) => {
    assert.ok(errorWith('USAGE', /^\S+prog\.h is a C header, not a package$/)(error));
    assert.match((error as { hint?: string }).hint ?? '', /ecli run \S+prog\.bpf\.c /);
    return true;
  });
});

test('- with a terminal on stdin is refused at once rather than waiting for a package to be typed', async () => {
  const terminal = Object.assign(Readable.from([]), { isTTY: true });
  await assert.rejects(resolvePackageSource('-', { stdin: terminal }), errorWith('USAGE', /^- reads the package from stdin, and stdin is a terminal$/));
});

test('aborting the signal stops a read of stdin that has not ended, at once, with its reason', async () => {
  const stdin = new Readable({ read() {} });
  stdin.push('{"bpf_object":');
  const controller = new AbortController();
  const reason = new Error('stopped');
  setTimeout(() => controller.abort(reason), 50);
  const started = Date.now();
  await assert.rejects(resolvePackageSource('-', { stdin, signal: controller.signal }), (error: unknown) => error === reason);
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  assert.equal(stdin.destroyed, true, 'stdin is let go, so it keeps nothing alive');
});

test('progType overrides the extension', async () => {
  using tmp = tempDir();
  const path = join(tmp.dir, 'actually-a-tar.json');
  writeFileSync(path, TAR);
  await assert.rejects(resolvePackageSource(path), errorWith('PACKAGE_INVALID', /not valid JSON/));
  assert.equal((await resolvePackageSource(path, { progType: 'tar' })).pkg.meta.bpf_skel.obj_name, 'demo_bpf');
});

test('- reads JSON or a tarball from stdin', async () => {
  const json = await resolvePackageSource('-', { stdin: Readable.from([Buffer.from(PACKAGE.slice(0, 10)), Buffer.from(PACKAGE.slice(10))]) });
  assert.equal(json.source, '<stdin>');
  assert.equal(json.pkg.meta.bpf_skel.obj_name, 'demo_bpf');
  const tar = await resolvePackageSource('-', { stdin: Readable.from([TAR]) });
  assert.equal(tar.pkg.meta.bpf_skel.obj_name, 'demo_bpf');
  const gz = await resolvePackageSource('-', { stdin: Readable.from([gzipSync(TAR)]) });
  assert.equal(gz.pkg.meta.bpf_skel.obj_name, 'demo_bpf');
});

test('stdin larger than maxBytes is refused', async () => {
  await assert.rejects(
    resolvePackageSource('-', { stdin: Readable.from([Buffer.from(PACKAGE)]), maxBytes: 100 }),
    errorWith('PACKAGE_INVALID', /<stdin> holds more than the 100 byte limit/),
  );
});

test('a sha256 pin is verified for local files', async () => {
  using tmp = tempDir();
  const path = join(tmp.dir, 'package.json');
  writeFileSync(path, PACKAGE);
  const good = sha256Hex(readFileSync(path));
  assert.equal((await resolvePackageSource(path, { sha256: good.toUpperCase() })).pkg.meta.bpf_skel.obj_name, 'demo_bpf');
  const wrong = '0'.repeat(64);
  await assert.rejects(
    resolvePackageSource(path, { sha256: wrong }),
    errorWith('INTEGRITY', new RegExp(`^sha256 mismatch for ${path}: expected ${wrong}, got ${good}$`)),
  );
  await assert.rejects(resolvePackageSource(path, { sha256: 'abc' }), errorWith('USAGE', /64 hexadecimal digits/));
});

test('missing files and directories are reported clearly', async () => {
  using tmp = tempDir();
  const missing = join(tmp.dir, 'nope.json');
  await assert.rejects(resolvePackageSource(missing), errorWith('INPUT_NOT_FOUND', new RegExp(`cannot read ${missing}: no such file`)));
  await assert.rejects(resolvePackageSource(tmp.dir), errorWith('INPUT_NOT_FOUND', /it is a directory/));
  await assert.rejects(resolvePackageSource('ftp://example.com/p.json'), errorWith('USAGE', /only http:\/\/, https:\/\/ and oci:\/\//));
});

test('a Wasm module is told by its name or its \\0asm magic; where a package is wanted it is refused', async () => {
  using tmp = tempDir();
  const module = Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  const named = join(tmp.dir, 'app.wasm');
  writeFileSync(named, module);
  const sniffed = join(tmp.dir, 'app');
  writeFileSync(sniffed, module);
  for (const path of [named, sniffed]) assert.deepEqual(await resolveInput(path), { source: path, bytes: module, type: 'wasm' });
  assert.equal((await resolveInput(named, { progType: 'wasm' })).type, 'wasm');
  await assert.rejects(resolvePackageSource(named), errorWith('USAGE', /^\S+app\.wasm is a WebAssembly module, not a package$/));
  const notWasm = join(tmp.dir, 'text.wasm');
  writeFileSync(notWasm, '{}');
  await assert.rejects(resolveInput(notWasm), errorWith('PACKAGE_INVALID', /text\.wasm is not a WebAssembly module: it does not start with \\0asm/));
  await assert.rejects(resolveInput(join(tmp.dir, 'text.wasm'), { progType: 'json' }), errorWith('PACKAGE_INVALID', /invalid package|meta/));
});

test('a file over maxBytes is refused before it is read', async () => {
  using tmp = tempDir();
  const path = join(tmp.dir, 'package.json');
  writeFileSync(path, PACKAGE);
  await assert.rejects(resolvePackageSource(path, { maxBytes: 10 }), errorWith('PACKAGE_INVALID', /more than the 10 byte limit/));
});

test('a tarball with a btfhub-archive keeps it extracted until cleanup', async () => {
  const btf = Buffer.from([0x9f, 0xeb, 1, 0]);
  const tar = buildTar([
    { path: './package.json', data: PACKAGE },
    { path: './btfhub-archive/', type: '5' },
    { path: './btfhub-archive/ubuntu/22.04/x86_64/5.15.0-1.btf', data: btf },
  ]);
  const resolved = await resolvePackageSource('-', { stdin: Readable.from([tar]) });
  assert.ok(resolved.btfArchive);
  const file = join(resolved.btfArchive.dir, 'ubuntu/22.04/x86_64/5.15.0-1.btf');
  assert.deepEqual(readFileSync(file), btf);
  resolved.btfArchive.cleanup();
  assert.equal(existsSync(resolved.btfArchive.dir), false);
});
