/**
 * How an input string is classified (stdin, URL, registry reference, path), and that a string
 * meant as a path never becomes a download: against a registry on 127.0.0.1 that would serve
 * any repository, and must see no request.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifyInput } from '../../src/inputs/input-kind.js';
import { resolvePackageSource } from '../../src/inputs/source.js';
import { errorWith } from '../helpers/assertions.js';
import { startTokenRegistry, type TokenRegistry } from '../helpers/token-registry.js';

let registry: TokenRegistry;
let host = '';
const cwd = process.cwd();
const dir = mkdtempSync(join(tmpdir(), 'ecli-input-kind-'));

before(async () => {
  registry = await startTokenRegistry({ listen: ['127.0.0.1:0'] });
  host = registry.addresses[0]!;
  process.chdir(dir);
});

after(() => {
  process.chdir(cwd);
  registry.close();
  rmSync(dir, { recursive: true, force: true });
});

const nothingExists = (): boolean => false;

test('stdin, URLs, oci:// and bare references; other schemes are refused', () => {
  assert.deepEqual(classifyInput('-', nothingExists), { kind: 'stdin' });
  assert.deepEqual(classifyInput('https://example.com/p.json', nothingExists), { kind: 'url', url: 'https://example.com/p.json' });
  assert.deepEqual(classifyInput('HTTP://example.com/p.json', nothingExists), { kind: 'url', url: 'HTTP://example.com/p.json' });
  // The reference's quick start: a bare reference with a tag.
  assert.deepEqual(classifyInput('ghcr.io/eunomia-bpf/execve:latest', nothingExists), { kind: 'registry' });
  assert.deepEqual(classifyInput('localhost:5000/tools/x@sha256:' + '0'.repeat(64), nothingExists), { kind: 'registry' });
  // oci:// forces a reference, even for a name that ends like a file or exists here.
  assert.deepEqual(
    classifyInput('oci://demo.app/tool.json', () => true),
    { kind: 'registry' },
  );
  assert.throws(() => classifyInput('ftp://example.com/p.json', nothingExists), errorWith('USAGE', /only http:\/\/, https:\/\/ and oci:\/\//));
});

test('a string that ends like a file, or whose first component exists here, is a path even with a reference shape', () => {
  for (const spec of [
    'demo.app/tool.json',
    'demo.app/tool.tar',
    'demo.app/tool.tar.gz',
    'demo.app/Tool.TGZ',
    'demo.app/tool.wasm',
    'ghcr.io/x/y:v1.json',
    'demo.app/x.bpf.c',
  ]) {
    assert.deepEqual(classifyInput(spec, nothingExists), { kind: 'file', path: spec, referenceLike: true }, spec);
  }
  const onlyTheFolder = (path: string): boolean => path === 'demo.app';
  assert.deepEqual(classifyInput('demo.app/tool', onlyTheFolder), { kind: 'file', path: 'demo.app/tool', referenceLike: true });
  assert.deepEqual(
    classifyInput('ghcr.io/x/y:v1', (path) => path === 'ghcr.io/x/y:v1'),
    { kind: 'file', path: 'ghcr.io/x/y:v1', referenceLike: false },
  );
  assert.deepEqual(classifyInput('tools/x:v1', nothingExists), { kind: 'file', path: 'tools/x:v1', referenceLike: false });
  assert.deepEqual(classifyInput('./demo.app/tool', nothingExists), { kind: 'file', path: './demo.app/tool', referenceLike: false });
});

test('a path that would be pulled were it missing, planted by another user, is refused as ambiguous; ./ and oci:// say which', () => {
  const planted = 'ghcr.io/org/tool:v1';
  const everything = (): boolean => true;
  const byOther = (path: string): number[] => (path === 'ghcr.io' ? [0] : [4242]);
  assert.throws(
    () => classifyInput(planted, everything, byOther),
    errorWith('USAGE', /^ghcr\.io\/org\/tool:v1 is both a registry reference and a local path, and ghcr\.io\/org here belongs to uid 4242, another user$/),
  );
  // A root-owned link into another user's folder is theirs too.
  assert.throws(() => classifyInput(planted, everything, () => [0, 4242]), errorWith('USAGE', /ghcr\.io here belongs to uid 4242/));
  const own = (): number[] => [process.geteuid?.() ?? 0];
  assert.deepEqual(classifyInput(planted, everything, own), { kind: 'file', path: planted, referenceLike: false }, "the caller's own path is a path");
  assert.deepEqual(classifyInput(`./${planted}`, everything, byOther), { kind: 'file', path: `./${planted}`, referenceLike: false });
  assert.deepEqual(classifyInput(`oci://${planted}`, everything, byOther), { kind: 'registry' });
  // Names that end like a file are never pulled: running the file is what was asked for.
  assert.deepEqual(classifyInput('ghcr.io/org/tool.json', everything, byOther), { kind: 'file', path: 'ghcr.io/org/tool.json', referenceLike: false });
});

test('a URL or a reference carrying a user name and password is refused without repeating them', async () => {
  for (const spec of ['https://robot:hunter2@example.com/p.json', 'HTTP://robot:hunter2@127.0.0.1:1/p.json']) {
    assert.throws(
      () => classifyInput(spec, nothingExists),
      (error: Error) => {
        errorWith(
          'USAGE',
          /^GET request to https?:\/\/(?:example\.com|127\.0\.0\.1:1)\/p\.json: the URL carries a user name or password, which ecli does not send$/,
        )(error);
        assert.doesNotMatch(`${error.message} ${(error as { hint?: string }).hint}`, /hunter2|robot/);
        return true;
      },
    );
  }
  // The unpinned-URL refusal used to come first, and its hint repeated the URL whole.
  await assert.rejects(
    resolvePackageSource('https://robot:hunter2@127.0.0.1:1/p.json'),
    (error: Error) => !/hunter2/.test(`${error.message} ${(error as { hint?: string }).hint}`),
  );
  for (const spec of ['robot:hunter2@127.0.0.1:5000/tools/x:v1', 'oci://robot:hunter2@ghcr.io/org/x']) {
    await assert.rejects(resolvePackageSource(spec), (error: Error) => {
      errorWith('USAGE', /^invalid registry reference: it carries a user name or password before the host/)(error);
      assert.doesNotMatch(`${error.message} ${(error as { hint?: string }).hint}`, /hunter2|robot/);
      return true;
    });
  }
  assert.deepEqual(registry.requests, [], 'nothing was sent anywhere');
});

/** An INPUT_NOT_FOUND "no such file" whose hint offers the oci:// form. */
function noSuchFile(spec: string): (error: unknown) => boolean {
  return (error) => {
    errorWith('INPUT_NOT_FOUND', new RegExp(`^cannot read ${spec.replace(/[.]/g, '\\.')}: no such file$`))(error);
    assert.equal((error as { hint?: string }).hint, `no such local path; to run it from a registry, write it as a reference: oci://${spec}`);
    return true;
  };
}

test('a missing path that looks like a reference is "no such file", with no request to the registry it names', async () => {
  for (const spec of [`${host}/tools/x.json`, `${host}/tools/x.tar.gz`, `${host}/tools/x.wasm`]) {
    await assert.rejects(resolvePackageSource(spec), noSuchFile(spec));
  }
  mkdirSync(join(dir, 'demo.app'));
  await assert.rejects(resolvePackageSource('demo.app/tool'), noSuchFile('demo.app/tool'));
  symlinkSync('/nonexistent', join(dir, 'dangling.app'));
  await assert.rejects(resolvePackageSource('dangling.app/tool'), noSuchFile('dangling.app/tool'));
  assert.deepEqual(registry.requests, [], 'the registry was never asked');
});

test('a bare reference and an oci:// reference (ending like a file) are pulled', async () => {
  const bare = await resolvePackageSource(`${host}/tools/x:v1`);
  assert.equal(bare.source, `${host}/tools/x:v1`);
  assert.equal(bare.pkg.meta.bpf_skel.obj_name, 'netns_bpf');
  const forced = await resolvePackageSource(`oci://${host}/tools/x.json:v1`);
  assert.equal(forced.pkg.meta.bpf_skel.obj_name, 'netns_bpf');
  assert.ok(registry.requests.some((r) => r.url === '/v2/tools/x.json/manifests/v1'));
});
