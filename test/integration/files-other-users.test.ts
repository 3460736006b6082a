/**
 * Root writing into a folder another user (a real one, made with useradd) can write: a symlink
 * that user planted where `ecli pull`, `ecli pack` or `ecli login` write is refused, never
 * followed to a root-only file; login's temporary file cannot be planted; a replaced file keeps
 * its owner and mode.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ecliPath, runTool, type Completed } from '../helpers/ecli-process.js';
import { haveRoot } from '../helpers/env.js';
import { sleep, tempDir } from '../helpers/examples.js';
import { syntheticPackageText } from '../helpers/synthetic-package.js';
import { SERVED_PACKAGE, spawnTokenRegistry } from '../helpers/token-registry.js';
import { temporaryUser, type TestUser } from '../helpers/users.js';

const SECRET = 'root-only secret\n';

interface Setup {
  user: TestUser;
  /** A folder owned by the user. */
  shared: string;
  /** A root-only file (0600 in a 0700 folder) that must stay as it is. */
  victim: string;
}

function setup(t: TestContext): Setup {
  const user = temporaryUser(t);
  const shared = tempDir(t, 'ecli-shared-');
  chownSync(shared, user.uid, user.gid);
  const vault = tempDir(t, 'ecli-root-only-');
  chmodSync(vault, 0o700);
  const victim = path.join(vault, 'secret');
  writeFileSync(victim, SECRET, { mode: 0o600 });
  return { user, shared, victim };
}

/** A symlink at `link` to `target`, owned by `user`, as if they had made it. */
function plant(user: TestUser, link: string, target: string): void {
  symlinkSync(target, link);
  lchownSync(link, user.uid, user.gid);
}

function assertVictimUntouched({ victim }: Setup): void {
  assert.equal(readFileSync(victim, 'utf8'), SECRET);
  assert.equal(statSync(victim).mode & 0o777, 0o600);
}

function assertRefusedLink(result: Completed, status: number, link: string, user: TestUser, verb = 'write'): void {
  assert.equal(result.status, status, result.stderr);
  assert.match(
    result.stderr,
    new RegExp(`^ecli: error: cannot ${verb} ${link}: it is a symlink owned by uid ${user.uid}, and ecli follows only its own user's or root's symlinks$`, 'm'),
  );
}

test("pull and pack refuse another user's symlink at the name they write, chosen or named; the root-only file is untouched", async (t) => {
  if (!haveRoot(t)) return;
  const context = setup(t);
  const { user, shared, victim } = context;
  const registry = await spawnTokenRegistry(t, { listen: ['127.0.0.1:0'] });
  const reference = `${registry.addresses[0]}/tools/x:v1`;
  plant(user, path.join(shared, 'x.json'), victim);
  // --force: replacing is allowed, following another user's link is not.
  assertRefusedLink(runTool(ecliPath, ['pull', '--force', '-o', `${shared}/`, reference]), 2, path.join(shared, 'x.json'), user);
  assertRefusedLink(runTool(ecliPath, ['pull', '-o', path.join(shared, 'x.json'), reference]), 2, path.join(shared, 'x.json'), user);
  assertRefusedLink(runTool(ecliPath, ['pull', '--force', reference], { cwd: shared }), 2, path.join(shared, 'x.json'), user);
  await sleep(100); // the server's last log lines
  assert.deepEqual(
    registry.requests().filter((r) => r.url.includes('/blobs/')),
    [],
    'refused before the package was downloaded',
  );
  const pkg = path.join(tempDir(t, 'ecli-pkg-'), 'package.json');
  writeFileSync(pkg, syntheticPackageText('demo_bpf'));
  plant(user, path.join(shared, 'demo.tar.gz'), victim);
  assertRefusedLink(runTool(ecliPath, ['pack', pkg, '-o', `${shared}/`]), 2, path.join(shared, 'demo.tar.gz'), user);
  assertVictimUntouched(context);
});

test("another user's symlink to a folder on the way is refused too: pull -o, pack -o, key generate and login go nowhere it points", async (t) => {
  if (!haveRoot(t)) return;
  const context = setup(t);
  const { user, shared, victim } = context;
  const vault = path.dirname(victim);
  const registry = await spawnTokenRegistry(t, { listen: ['127.0.0.1:0'] });
  const reference = `${registry.addresses[0]}/tools/x:v1`;
  // "mkdir -p /tmp/build; ecli pull -o /tmp/build/ ..." where another user made build a link first.
  const build = path.join(shared, 'build');
  plant(user, build, vault);
  writeFileSync(path.join(vault, 'x.json'), SECRET, { mode: 0o600 });
  const refusal = (name: string) =>
    new RegExp(
      `^ecli: error: cannot (?:write|read) ${build}/${name}: ${build} is a symlink owned by uid ${user.uid}, and ecli follows only its own user's or root's symlinks$`,
      'm',
    );
  for (const args of [
    ['pull', '-o', `${build}/`, reference],
    ['pull', '--force', '-o', `${build}/`, reference],
  ]) {
    // Before the manifest says the file's extension: the folder is refused.
    const pulled = runTool(ecliPath, args);
    assert.equal(pulled.status, 2, pulled.stderr);
    assert.match(
      pulled.stderr,
      new RegExp(
        `^ecli: error: cannot write into ${build}: ${build} is a symlink owned by uid ${user.uid}, and ecli follows only its own user's or root's symlinks$`,
        'm',
      ),
    );
  }
  const named = runTool(ecliPath, ['pull', '-o', path.join(build, 'x.json'), reference]);
  assert.equal(named.status, 2, named.stderr);
  assert.match(named.stderr, refusal('x.json'));
  await sleep(100); // the server's last log lines
  assert.deepEqual(registry.requests(), [], 'refused before any request');
  const pkg = path.join(tempDir(t, 'ecli-pkg-'), 'package.json');
  writeFileSync(pkg, syntheticPackageText('demo_bpf'));
  const packed = runTool(ecliPath, ['pack', pkg, '-o', `${build}/`]);
  assert.equal(packed.status, 2, packed.stderr);
  assert.match(packed.stderr, refusal('demo.tar.gz'));
  const keys = runTool(ecliPath, ['key', 'generate', '--output-prefix', path.join(build, 'cosign')], { env: { COSIGN_PASSWORD: '' } });
  assert.equal(keys.status, 2, keys.stderr);
  assert.match(keys.stderr, refusal('cosign.key'));
  const loggedIn = await login(build, registry.addresses[0]!, () => undefined);
  assert.equal(loggedIn.status, 14, loggedIn.stderr);
  assert.match(loggedIn.stderr, refusal('config.json'));
  assertVictimUntouched(context);
  assert.equal(readFileSync(path.join(vault, 'x.json'), 'utf8'), SECRET);
  assert.deepEqual(readdirSync(vault).sort(), ['secret', 'x.json'], 'nothing was written into the folder the link points to');
});

test('a file another user owns, named with -o, is replaced with its owner and mode kept', async (t) => {
  if (!haveRoot(t)) return;
  const { user, shared } = setup(t);
  const registry = await spawnTokenRegistry(t, { listen: ['127.0.0.1:0'] });
  const owned = path.join(shared, 'owned.json');
  writeFileSync(owned, 'old');
  chownSync(owned, user.uid, user.gid);
  chmodSync(owned, 0o640);
  const pulled = runTool(ecliPath, ['pull', '-o', owned, `${registry.addresses[0]}/tools/x:v1`]);
  assert.equal(pulled.status, 0, pulled.stderr);
  assert.deepEqual(readFileSync(owned), Buffer.from(SERVED_PACKAGE));
  const stats = statSync(owned);
  assert.deepEqual([stats.uid, stats.gid, stats.mode & 0o777], [user.uid, user.gid, 0o640]);
  assert.deepEqual(readdirSync(shared), ['owned.json'], 'no temporary file is left');
});

test('pull run by a user who cannot write the folder is refused before any request', async (t) => {
  if (!haveRoot(t)) return;
  const user = temporaryUser(t);
  const registry = await spawnTokenRegistry(t, { listen: ['127.0.0.1:0'] });
  const rootOnly = tempDir(t, 'ecli-root-folder-');
  chmodSync(rootOnly, 0o755);
  const dockerConfig = tempDir(t, 'ecli-docker-');
  chownSync(dockerConfig, user.uid, user.gid);
  for (const args of [['pull'], ['pull', '-o', `${rootOnly}/`], ['pull', '-o', path.join(rootOnly, 'x.json')]]) {
    const pulled = spawnSync(ecliPath, [...args, `${registry.addresses[0]}/tools/x:v1`], {
      cwd: rootOnly,
      uid: user.uid,
      gid: user.gid,
      env: { ...process.env, HOME: dockerConfig, DOCKER_CONFIG: dockerConfig },
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(pulled.status, 9, pulled.stderr);
    assert.match(
      pulled.stderr,
      args.length === 3 && !args[2]!.endsWith('/')
        ? new RegExp(`^ecli: error: cannot write ${rootOnly}/x\\.json: permission denied in ${rootOnly}; nothing was written$`, 'm')
        : new RegExp(`^ecli: error: cannot write into ${rootOnly}: permission denied; nothing was written$`, 'm'),
    );
  }
  await sleep(100); // the server's last log lines
  assert.deepEqual(registry.requests(), [], 'refused before any request');
  assert.deepEqual(readdirSync(rootOnly), []);
});

/** `ecli login` to `registry` with DOCKER_CONFIG=`dir`; `beforePassword` runs once its pid is known. */
function login(dir: string, registry: string, beforePassword: (pid: number) => void): Promise<Completed> {
  const child = spawn(ecliPath, ['login', '-u', 'robot', registry], { env: { ...process.env, DOCKER_CONFIG: dir }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  beforePassword(child.pid!);
  child.stdin.end('pa55word\n');
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

test("login: a temporary file name planted for its pid is not used; another user's config.json link is refused", async (t) => {
  if (!haveRoot(t)) return;
  const context = setup(t);
  const { user, shared, victim } = context;
  const registry = (await spawnTokenRegistry(t, { listen: ['127.0.0.1:0'] })).addresses[0]!;
  const config = path.join(shared, 'config.json');
  let planted = '';
  const loggedIn = await login(shared, registry, (pid) => {
    planted = path.join(shared, `config.json.${pid}.tmp`);
    plant(user, planted, victim);
  });
  assert.equal(loggedIn.status, 0, loggedIn.stderr);
  assertVictimUntouched(context);
  assert.ok(lstatSync(planted).isSymbolicLink(), 'the planted link is left alone');
  const written = lstatSync(config);
  assert.ok(written.isFile(), 'config.json is a file of its own');
  assert.deepEqual([written.uid, written.mode & 0o777], [0, 0o600]);
  assert.deepEqual(readdirSync(shared).sort(), ['config.json', path.basename(planted)].sort());

  const other = tempDir(t, 'ecli-docker-');
  chownSync(other, user.uid, user.gid);
  plant(user, path.join(other, 'config.json'), victim);
  const refused = await login(other, registry, () => undefined);
  // Refused when login reads the file, before it would write it.
  assertRefusedLink(refused, 14, path.join(other, 'config.json'), user, 'read');
  assertVictimUntouched(context);
});

test("login writes through root's own config.json symlink, keeping the link and the file's mode", async (t) => {
  if (!haveRoot(t)) return;
  const registry = (await spawnTokenRegistry(t, { listen: ['127.0.0.1:0'] })).addresses[0]!;
  const dir = tempDir(t, 'ecli-docker-');
  const real = path.join(tempDir(t, 'ecli-dotfiles-'), 'docker-config.json');
  writeFileSync(real, JSON.stringify({ auths: {}, credHelpers: {} }), { mode: 0o600 });
  mkdirSync(dir, { recursive: true });
  symlinkSync(real, path.join(dir, 'config.json'));
  const loggedIn = await login(dir, registry, () => undefined);
  assert.equal(loggedIn.status, 0, loggedIn.stderr);
  assert.ok(lstatSync(path.join(dir, 'config.json')).isSymbolicLink());
  const saved = JSON.parse(readFileSync(real, 'utf8')) as { auths: Record<string, { auth: string }>; credHelpers: object };
  assert.equal(Buffer.from(saved.auths[registry]!.auth, 'base64').toString(), 'robot:pa55word');
  assert.deepEqual(saved.credHelpers, {}, 'the rest of the file is kept');
  assert.equal(statSync(real).mode & 0o777, 0o600);
});
