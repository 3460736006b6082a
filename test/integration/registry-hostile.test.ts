/**
 * Hostile setups around the registry commands: registries and token services on off-host
 * addresses (inside a private network namespace, so nothing leaves this machine; needs root), and
 * storage that a registry redirects downloads to with a pre-signed URL.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ecliPath, runTool } from '../helpers/ecli-process.js';
import { haveRoot } from '../helpers/env.js';
import { haveCommands, sleep, tempDir } from '../helpers/examples.js';
import { privateNetns } from '../helpers/netns.js';
import { PRESIGNED_SECRET, SERVED_PACKAGE, spawnTokenRegistry } from '../helpers/token-registry.js';

const USER = 'robot';
const PASSWORD = 'clear-text-secret';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

/** A DOCKER_CONFIG folder holding the credentials for `registry`. */
function dockerConfigFor(t: TestContext, registry: string): NodeJS.ProcessEnv {
  const dir = tempDir(t, 'ecli-docker-');
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths: { [registry]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }));
  return { DOCKER_CONFIG: dir };
}

test('a plain-http registry off this host: credentials go to an http token realm only on its own origin or on loopback', async (t) => {
  if (!haveRoot(t) || !haveCommands(t, ['unshare', 'nsenter', 'ip'])) return;
  const netns = await privateNetns(t);
  for (const address of ['10.77.0.1/32', '10.77.0.2/32']) {
    const added = netns.run('ip', ['addr', 'add', address, 'dev', 'lo']);
    assert.equal(added.status, 0, added.stderr);
  }
  const cases = [
    { name: 'a realm on another host', registry: '10.77.0.1:5000', realm: 'http://10.77.0.2:5001/token', served: false },
    { name: "the registry's own origin", registry: '10.77.0.1:5010', realm: 'http://10.77.0.1:5010/token', served: true },
    { name: 'a loopback realm', registry: '10.77.0.1:5020', realm: 'http://127.0.0.1:5021/token', served: true },
  ];
  for (const { name, registry, realm, served } of cases) {
    await t.test(name, async (t) => {
      const realmHost = new URL(realm).host;
      const servers = await spawnTokenRegistry(
        t,
        { listen: realmHost === registry ? [registry] : [registry, realmHost], realm, user: USER, password: PASSWORD },
        netns.prefix,
      );
      const dir = tempDir(t, 'ecli-pulled-');
      const pulled = netns.run(ecliPath, ['pull', '--plain-http', '-o', `${dir}/`, `${registry}/tools/x:v1`], { env: dockerConfigFor(t, registry) });
      await sleep(100); // the servers' last log lines
      const atRealm = servers.requests().filter((r) => r.url.startsWith('/token'));
      if (served) {
        assert.equal(pulled.status, 0, pulled.stderr);
        assert.deepEqual(readFileSync(/^wrote (.+)$/m.exec(pulled.stdout)![1]!), Buffer.from(SERVED_PACKAGE));
        assert.ok(atRealm.length > 0 && atRealm.every((r) => r.at === realmHost && r.authorization === BASIC), JSON.stringify(atRealm));
        return;
      }
      assert.equal(pulled.status, 12, pulled.stderr);
      assert.match(
        pulled.stderr,
        new RegExp(
          `^ecli: error: ${registry} names the token realm ${realm}, which is plain http on another host; refusing to send credentials there in clear text$`,
          'm',
        ),
      );
      assert.deepEqual(
        servers.requests().filter((r) => r.at === realmHost),
        [],
        'nothing reached the token service',
      );
    });
  }
});

test('a blob redirected to pre-signed storage that hangs up: pull fails with one line naming the storage URL without its signature', async (t) => {
  const registry = await spawnTokenRegistry(t, { listen: ['127.0.0.1:0'], presignedStorage: 'hangs-up' });
  const dir = tempDir(t, 'ecli-pulled-');
  const pulled = runTool(ecliPath, ['pull', '-o', `${dir}/`, `${registry.addresses[0]}/tools/x:v1`]);
  assert.equal(pulled.status, 12, pulled.stderr);
  const [error, ...rest] = pulled.stderr.split('\n').filter((line) => line.startsWith('ecli: error:'));
  assert.deepEqual(rest, [], pulled.stderr);
  assert.match(
    error!,
    /^ecli: error: GET http:\/\/127\.0\.0\.1:\d+\/storage\/sha256:[0-9a-f]{64}\?… \(redirected from http:\/\/127\.0\.0\.1:\d+\/v2\/tools\/x\/blobs\/sha256:[0-9a-f]{64}\): /,
  );
  assert.ok(!`${pulled.stdout}${pulled.stderr}`.includes(PRESIGNED_SECRET), pulled.stderr);
  assert.ok(!pulled.stderr.includes('X-Amz-Credential'), pulled.stderr);
  await sleep(100); // the server's last log lines
  assert.ok(
    registry.requests().some((r) => r.url.includes(PRESIGNED_SECRET)),
    'ecli followed the redirect with the signature: only its messages leave it out',
  );
  assert.deepEqual(readdirSync(dir), [], 'nothing was written');
});
