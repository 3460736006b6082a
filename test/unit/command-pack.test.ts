import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { EcliError } from '../../src/errors.js';
import { runPack } from '../../src/cli/commands/pack.js';
import { sha256Hex } from '../../src/inputs/digest.js';
import { CREATED_BY } from '../../src/inputs/manifest.js';
import { packPackage } from '../../src/cli/commands/pack.js';
import { resolvePackageSource } from '../../src/inputs/source.js';
import { fixturesDir } from '../helpers/env.js';
import { minimalBpfElf, syntheticPackageText } from '../helpers/synthetic-package.js';
import { buildTar } from '../helpers/tar-build.js';
import { errorWith } from '../helpers/assertions.js';

const BTF = Buffer.from([0x9f, 0xeb, 1, 0, 24, 0, 0, 0]);

function workspace(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ecli-pack-test-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

function write(path: string, data: string | Uint8Array): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
  return path;
}

/** The entries of a .tar.gz, in order, with their contents. */
function listTarball(bytes: Uint8Array): { path: string; type: string; data: Buffer }[] {
  const entries: { path: string; type: string; data: Buffer }[] = [];
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () => entries.push({ path: entry.path, type: entry.type, data: Buffer.concat(chunks) }));
    },
  });
  parser.end(gunzipSync(bytes));
  return entries;
}

test('pack writes package.json as is, a manifest, and the BTF tree; run-resolve verifies it', async () => {
  using ws = workspace();
  const text = syntheticPackageText('demo_bpf', { version: '1.2.3', brief: 'a demo' });
  const pkgPath = write(join(ws.dir, 'package.json'), text);
  const btfFile = write(join(ws.dir, 'kernels/ubuntu/22.04/x86_64/5.15.0-91-generic.btf'), BTF);
  const btfDir = join(ws.dir, 'archive');
  write(join(btfDir, 'fedora/39/aarch64/6.5.6-300.fc39.aarch64.btf'), BTF);
  write(join(btfDir, '.git/HEAD'), 'ref: main');

  mkdirSync(join(ws.dir, 'out'));
  const output = await packPackage(pkgPath, { output: join(ws.dir, 'out', 'demo.tar.gz'), btf: [btfFile, btfDir] });
  assert.equal(output, join(ws.dir, 'out', 'demo.tar.gz'));

  const entries = listTarball(readFileSync(output));
  assert.deepEqual(
    entries.map((e) => [e.path, e.type]),
    [
      ['package.json', 'File'],
      ['manifest.json', 'File'],
      ['btfhub-archive/fedora/39/aarch64/6.5.6-300.fc39.aarch64.btf', 'File'],
      ['btfhub-archive/ubuntu/22.04/x86_64/5.15.0-91-generic.btf', 'File'],
    ],
  );
  assert.equal(entries[0]!.data.toString('utf8'), text);
  const manifest = JSON.parse(entries[1]!.data.toString('utf8'));
  assert.deepEqual(manifest, {
    name: 'demo',
    version: '1.2.3',
    description: 'a demo',
    obj_name: 'demo_bpf',
    sha256_bpf_object: sha256Hex(minimalBpfElf()),
    sha256_package: sha256Hex(Buffer.from(text)),
    created_by: CREATED_BY,
    btf: ['btfhub-archive/fedora/39/aarch64/6.5.6-300.fc39.aarch64.btf', 'btfhub-archive/ubuntu/22.04/x86_64/5.15.0-91-generic.btf'],
  });
  assert.match(CREATED_BY, /^ecli-ts \d+\.\d+\.\d+/);

  const resolved = await resolvePackageSource(output, { sha256: sha256Hex(readFileSync(output)) });
  try {
    assert.deepEqual(resolved.manifest, manifest);
    assert.deepEqual(resolved.elf, minimalBpfElf());
    assert.ok(resolved.btfArchive);
    assert.deepEqual(readFileSync(join(resolved.btfArchive.dir, 'ubuntu/22.04/x86_64/5.15.0-91-generic.btf')), BTF);
  } finally {
    resolved.btfArchive?.cleanup();
  }
});

test('the reference bootstrap.json packs to client.tar.gz by default and round-trips', async () => {
  using ws = workspace();
  const output = await packPackage(join(fixturesDir, 'bootstrap.json'), { cwd: ws.dir });
  assert.equal(output, join(ws.dir, 'client.tar.gz'));
  const resolved = await resolvePackageSource(output);
  assert.equal(resolved.manifest?.name, 'client');
  assert.equal(resolved.manifest?.version, '0.1.0');
  assert.equal(resolved.manifest?.sha256_bpf_object, sha256Hex(resolved.elf));
  assert.equal(resolved.btfArchive, undefined);
  assert.deepEqual(resolved.manifest?.btf, []);
});

test('-o naming a directory puts <name>.tar.gz in it; packing is reproducible', async () => {
  using ws = workspace();
  const pkgPath = write(join(ws.dir, 'package.json'), syntheticPackageText('tool_bpf'));
  const first = await packPackage(pkgPath, { output: ws.dir });
  assert.equal(first, join(ws.dir, 'tool.tar.gz'));
  const bytes = readFileSync(first);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const second = await packPackage(pkgPath, { output: join(ws.dir, 'again.tar.gz') });
  assert.deepEqual(readFileSync(second), bytes, 'same inputs, same bytes (mtimes are fixed)');
});

test('a tampered object or package.json is refused by its manifest digest', async () => {
  using ws = workspace();
  const text = syntheticPackageText('demo_bpf');
  const packed = await packPackage(write(join(ws.dir, 'package.json'), text), { cwd: ws.dir });
  const [pkgEntry, manifestEntry] = listTarball(readFileSync(packed));
  const manifest = JSON.parse(manifestEntry!.data.toString('utf8'));

  const wrongObject = { ...manifest, sha256_bpf_object: 'f'.repeat(64) };
  const tampered = write(
    join(ws.dir, 'tampered.tar.gz'),
    gzipSync(
      buildTar([
        { path: 'package.json', data: pkgEntry!.data },
        { path: 'manifest.json', data: JSON.stringify(wrongObject) },
      ]),
    ),
  );
  await assert.rejects(
    resolvePackageSource(tampered),
    errorWith('INTEGRITY', new RegExp(`manifest sha256_bpf_object is ${'f'.repeat(64)}, the package has ${sha256Hex(minimalBpfElf())}`)),
  );

  // Same object, edited meta: caught by sha256_package.
  const edited = JSON.parse(text);
  edited.meta.bpf_skel.obj_name = 'other_bpf';
  const swapped = write(
    join(ws.dir, 'swapped.tar'),
    buildTar([
      { path: 'package.json', data: JSON.stringify(edited) },
      { path: 'manifest.json', data: manifestEntry!.data },
    ]),
  );
  await assert.rejects(resolvePackageSource(swapped), errorWith('INTEGRITY', /manifest sha256_package is/));

  const broken = write(
    join(ws.dir, 'broken.tar'),
    buildTar([
      { path: 'package.json', data: pkgEntry!.data },
      { path: 'manifest.json', data: JSON.stringify({ ...manifest, btf: 'none' }) },
    ]),
  );
  await assert.rejects(resolvePackageSource(broken), errorWith('PACKAGE_INVALID', /invalid manifest .*btf must be an array/));
});

test('BTF files outside the btfhub layout are refused with the layout explained', async () => {
  using ws = workspace();
  const pkgPath = write(join(ws.dir, 'package.json'), syntheticPackageText());
  const loose = write(join(ws.dir, 'vmlinux.btf'), BTF);
  await assert.rejects(packPackage(pkgPath, { cwd: ws.dir, btf: [loose] }), (error: unknown) => {
    assert.ok(error instanceof EcliError);
    assert.equal(error.code, 'USAGE');
    assert.match(error.message, /vmlinux\.btf is not at <id>\/<version>\/<arch>\/<release>\.btf/);
    assert.match(error.hint ?? '', /<os-release ID>\/<VERSION_ID>\/<uname -m>\/<uname -r>\.btf/);
    return true;
  });
  const shallow = join(ws.dir, 'shallow');
  write(join(shallow, 'ubuntu/x86_64/5.15.btf'), BTF);
  await assert.rejects(packPackage(pkgPath, { cwd: ws.dir, btf: [shallow] }), errorWith('USAGE', /ubuntu\/x86_64\/5\.15\.btf is not at/));
  const xz = join(ws.dir, 'xz');
  write(join(xz, 'ubuntu/22.04/x86_64/5.15.btf.tar.xz'), 'xz');
  await assert.rejects(packPackage(pkgPath, { cwd: ws.dir, btf: [xz] }), errorWith('USAGE', /extract it first/));
  const notBtf = write(join(ws.dir, 'k/ubuntu/22.04/x86_64/5.15.btf'), 'text');
  await assert.rejects(packPackage(pkgPath, { cwd: ws.dir, btf: [notBtf] }), errorWith('USAGE', /is not a BTF file/));
  const twin = write(join(ws.dir, 'twin/ubuntu/22.04/x86_64/5.15.btf'), BTF);
  const twin2 = write(join(ws.dir, 'twin2/ubuntu/22.04/x86_64/5.15.btf'), BTF);
  await assert.rejects(packPackage(pkgPath, { cwd: ws.dir, btf: [twin, twin2] }), errorWith('USAGE', /two BTF files for the same kernel/));
  await assert.rejects(packPackage(pkgPath, { cwd: ws.dir, btf: [join(ws.dir, 'absent')] }), errorWith('INPUT_NOT_FOUND', /--btf .*absent/));
});

test('packing a missing or invalid package.json fails before writing anything', async () => {
  using ws = workspace();
  await assert.rejects(packPackage(join(ws.dir, 'none.json'), { cwd: ws.dir }), errorWith('INPUT_NOT_FOUND', /no such file/));
  const bad = write(join(ws.dir, 'bad.json'), '{"meta": 1}');
  await assert.rejects(packPackage(bad, { cwd: ws.dir }), errorWith('PACKAGE_INVALID', /invalid package/));
  assert.deepEqual(readdirSync(ws.dir), ['bad.json']);
});

test('runPack reports the output path and its sha256', async () => {
  using ws = workspace();
  const pkgPath = write(join(ws.dir, 'package.json'), syntheticPackageText('cli_bpf'));
  let out = '';
  const stdout = new Writable({ write: (chunk, _enc, done) => ((out += String(chunk)), done()) });
  const stderr = new Writable({ write: (_chunk, _enc, done) => done() });
  await runPack(pkgPath, { output: join(ws.dir, 'cli.tar.gz') }, { stdout, stderr });
  const digest = sha256Hex(readFileSync(join(ws.dir, 'cli.tar.gz')));
  assert.equal(out, `wrote ${join(ws.dir, 'cli.tar.gz')}\nsha256 ${digest}\n`);
});

test('a tarball or a C file given to pack is named as what it is, not as JSON that does not parse', async () => {
  using ws = workspace();
  const tarball = write(join(ws.dir, 'tool.tar.gz'), gzipSync(buildTar([{ path: 'package.json', data: syntheticPackageText('demo_bpf') }])));
  await assert.rejects(
    packPackage(tarball),
    errorWith('USAGE', /^\S+tool\.tar\.gz is a package tarball already; ecli pack packs the package\.json that ecc writes$/),
  );
  const source = write(join(ws.dir, 'prog.bpf.c'), '// a program\n');
  await assert.rejects(packPackage(source), errorWith('USAGE', /^\S+prog\.bpf\.c is C, not a package$/));
});
