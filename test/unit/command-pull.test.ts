/**
 * `ecli pull` names its file after the repository the user typed, never after the registry's
 * title annotation, and replaces nothing it was not told to, refusing before it downloads the
 * package: against a registry on 127.0.0.1 whose layer is titled `package.json` or `Makefile`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runPull } from '../../src/cli/commands/pull.js';
import { errorWith } from '../helpers/assertions.js';
import { SERVED_PACKAGE, startTokenRegistry, type TokenRegistry } from '../helpers/token-registry.js';

const NPM_PACKAGE = '{"name": "my-app", "scripts": {"test": "node --test"}}\n';
const MAKEFILE = 'all:\n\techo mine\n';
const root = mkdtempSync(join(tmpdir(), 'ecli-pull-'));
let registries: { packageJson: TokenRegistry; makefile: TokenRegistry };

before(async () => {
  registries = {
    packageJson: await startTokenRegistry({ listen: ['127.0.0.1:0'] }),
    makefile: await startTokenRegistry({ listen: ['127.0.0.1:0'], layerTitle: 'Makefile' }),
  };
});

after(() => {
  registries.packageJson.close();
  registries.makefile.close();
  rmSync(root, { recursive: true, force: true });
});

/** A folder holding an npm project's package.json and a Makefile. */
function project(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), NPM_PACKAGE);
  writeFileSync(join(dir, 'Makefile'), MAKEFILE);
  return dir;
}

async function pull(reference: string, cwd: string, opts: { output?: string; force?: boolean } = {}): Promise<{ stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  await runPull(reference, { ...opts, cwd }, { stdout, stderr });
  return { stdout: out, stderr: err };
}

function assertProjectUntouched(dir: string): void {
  assert.equal(readFileSync(join(dir, 'package.json'), 'utf8'), NPM_PACKAGE);
  assert.equal(readFileSync(join(dir, 'Makefile'), 'utf8'), MAKEFILE);
}

test('pull in an npm project writes <repository>.json beside its package.json, which stays as it was', async () => {
  const dir = project('npm');
  const { stdout } = await pull(`${registries.packageJson.addresses[0]}/tools/execsnoop:v1`, dir);
  assert.equal(stdout, `wrote ${join(dir, 'execsnoop.json')}\n`);
  assert.deepEqual(readFileSync(join(dir, 'execsnoop.json')), Buffer.from(SERVED_PACKAGE));
  assertProjectUntouched(dir);
});

test('a layer titled Makefile is written as <repository>.json; the Makefile stays', async () => {
  const dir = project('make');
  await pull(`${registries.makefile.addresses[0]}/tools/build:v1`, dir);
  assert.deepEqual(readFileSync(join(dir, 'build.json')), Buffer.from(SERVED_PACKAGE));
  assertProjectUntouched(dir);
  assert.deepEqual(readdirSync(dir).sort(), ['Makefile', 'build.json', 'package.json'], 'no temporary file is left');
});

test('an existing file of the chosen name is refused (exit 2) unless --force, or -o naming it', async () => {
  const dir = project('again');
  const reference = `${registries.packageJson.addresses[0]}/tools/package:v1`;
  // The repository `tools/package` makes the chosen name package.json: the project's own.
  await assert.rejects(
    pull(reference, dir),
    errorWith('USAGE', new RegExp(`^cannot write ${join(dir, 'package.json')}: it already exists, and ecli replaces only a file it was told to$`)),
  );
  await assert.rejects(pull(reference, dir, { output: `${dir}/` }), errorWith('USAGE', /it already exists/));
  assertProjectUntouched(dir);
  await pull(reference, dir, { force: true });
  assert.deepEqual(readFileSync(join(dir, 'package.json')), Buffer.from(SERVED_PACKAGE));
  await pull(`${registries.packageJson.addresses[0]}/tools/build:v1`, dir, { output: 'Makefile' });
  assert.deepEqual(readFileSync(join(dir, 'Makefile')), Buffer.from(SERVED_PACKAGE));
});

test('the refusal says how to replace the file or pull elsewhere', async () => {
  const dir = project('hint');
  writeFileSync(join(dir, 'x.json'), 'mine');
  const reference = `${registries.packageJson.addresses[0]}/tools/x:v1`;
  await assert.rejects(pull(reference, dir), (error: Error & { hint?: string }) => {
    assert.equal(
      error.hint,
      `to replace it: ecli pull -o ${join(dir, 'x.json')} ${reference} (or --force); or pull into another folder: ecli pull -o <folder>/ ${reference}`,
    );
    return true;
  });
  assert.equal(readFileSync(join(dir, 'x.json'), 'utf8'), 'mine');
});

/** The requests `registry` received while `action` ran. */
async function requestsDuring(registry: TokenRegistry, action: () => Promise<unknown>): Promise<string[]> {
  const before = registry.requests.length;
  await action();
  return registry.requests.slice(before).map((r) => `${r.method} ${r.url}`);
}

test('an existing file of the chosen name is refused before the package is downloaded: no blob is requested', async () => {
  const dir = project('early');
  writeFileSync(join(dir, 'x.json'), 'mine');
  const reference = `${registries.packageJson.addresses[0]}/tools/x:v1`;
  for (const output of [undefined, `${dir}/`]) {
    const made = await requestsDuring(registries.packageJson, () =>
      assert.rejects(pull(reference, dir, output === undefined ? {} : { output }), errorWith('USAGE', /^cannot write .*\/x\.json: it already exists/)),
    );
    assert.ok(
      made.some((r) => r.startsWith('GET /v2/tools/x/manifests/')),
      `the manifest says the layer's media type, which gives the name: ${made.join(', ')}`,
    );
    assert.deepEqual(
      made.filter((r) => r.includes('/blobs/')),
      [],
      'no blob was requested',
    );
  }
  assert.equal(readFileSync(join(dir, 'x.json'), 'utf8'), 'mine');
});

test('-o into a folder that does not exist is refused before any request', async () => {
  const dir = project('nowhere');
  const reference = `${registries.packageJson.addresses[0]}/tools/x:v1`;
  for (const output of [join(dir, 'missing/'), join(dir, 'missing', 'x.json')]) {
    const made = await requestsDuring(registries.packageJson, () =>
      assert.rejects(pull(reference, dir, { output }), errorWith('USAGE', /^cannot write into .*missing\/?: no such folder$/)),
    );
    assert.deepEqual(made, [], 'nothing was asked of the registry');
  }
});
