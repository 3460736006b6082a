/**
 * The signing policy: its format and refusals of bad ones, which rule decides (most specific
 * wins, nothing matching is refused), and the gate on local files: policy and --verify-key both
 * required, a refusal naming the rule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EcliError } from '../../src/errors.js';
import { parseReference } from '../../src/inputs/registry/reference.js';
import { createSigningGate } from '../../src/signing/gate.js';
import { decryptPrivateKey, generateKeyPair, publicKeyPem, type VerificationKey } from '../../src/signing/keys.js';
import { loadSigningGate } from '../../src/signing/options.js';
import { parsePolicy } from '../../src/signing/policy.js';
import { signBytes } from '../../src/signing/signature.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const fakeKey = (path: string): VerificationKey => ({ key: undefined as never, name: path, id: path });

function policyOf(value: unknown) {
  return parsePolicy(JSON.stringify(value), '/etc/ecli/policy.json', fakeKey);
}

function decision(policy: ReturnType<typeof policyOf>, name: string, digest = D1) {
  const d = policy.forRegistry(parseReference(name), digest);
  return { action: d.action, keys: d.keys.map((k) => k.name), rule: d.rule };
}

function invalid(message: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof EcliError, String(error));
    assert.equal(error.code, 'SIGNATURE');
    assert.match(error.message, message);
    return true;
  };
}

test('the most specific registry rule decides: a digest, then a repository, then the longest prefix, then *', () => {
  const policy = policyOf({
    version: 1,
    registries: [
      { match: '*', action: 'refuse' },
      { match: 'ghcr.io/acme/*', action: 'verify', keys: ['acme.pub'] },
      { match: 'ghcr.io/acme/team/*', action: 'verify', keys: ['team.pub', 'team-2027.pub'] },
      { match: 'ghcr.io/acme/legacy', action: 'refuse' },
      { match: `ghcr.io/acme/legacy@${D2}`, action: 'allow' },
      { match: '127.0.0.1:5000/*', action: 'allow' },
    ],
    files: { action: 'allow' },
  });
  const rule = (i: number, match: string) => `/etc/ecli/policy.json registries[${i}] (match ${JSON.stringify(match)})`;
  assert.deepEqual(decision(policy, 'ghcr.io/acme/tool:v1'), { action: 'verify', keys: ['acme.pub'], rule: rule(1, 'ghcr.io/acme/*') });
  assert.deepEqual(decision(policy, 'ghcr.io/acme/team/x'), { action: 'verify', keys: ['team.pub', 'team-2027.pub'], rule: rule(2, 'ghcr.io/acme/team/*') });
  assert.deepEqual(decision(policy, 'ghcr.io/acme/legacy'), { action: 'refuse', keys: [], rule: rule(3, 'ghcr.io/acme/legacy') });
  assert.deepEqual(decision(policy, 'ghcr.io/acme/legacy', D2), { action: 'allow', keys: [], rule: rule(4, `ghcr.io/acme/legacy@${D2}`) });
  assert.equal(decision(policy, 'ghcr.io/acmex/tool').action, 'refuse', 'a prefix ends at a path boundary');
  assert.deepEqual(decision(policy, '127.0.0.1:5000/anything/below'), { action: 'allow', keys: [], rule: rule(5, '127.0.0.1:5000/*') });
  assert.deepEqual(decision(policy, 'docker.io/library/x'), { action: 'refuse', keys: [], rule: rule(0, '*') });
  assert.equal(policy.files.action, 'allow');
  assert.deepEqual(policy.urls, { action: 'refuse', keys: [], rule: '/etc/ecli/policy.json (it has no "urls" entry, so URLs are refused)' });
});

test('another spelling of a registry a rule names is decided by that rule: IPv4 forms, mapped IPv6, ports, oci://', () => {
  const policy = policyOf({
    version: 1,
    registries: [
      { match: '127.0.0.1:5000/evil/*', action: 'refuse' },
      { match: 'oci://127.0.0.1:5000/acme/*', action: 'verify', keys: ['acme.pub'] },
      { match: 'ghcr.io/evil/*', action: 'refuse' },
      { match: 'ghcr.io:443/acme/tool', action: 'verify', keys: ['acme.pub'] },
      { match: '*', action: 'allow' },
    ],
  });
  const refusedBy = { action: 'refuse', keys: [], rule: '/etc/ecli/policy.json registries[0] (match "127.0.0.1:5000/evil/*")' };
  // Each of these connects to 127.0.0.1:5000 (the URL parser reads them so).
  for (const name of [
    '127.1:5000',
    '0x7f.0.0.1:5000',
    '0177.0.0.1:5000',
    '2130706433:5000',
    '[::ffff:127.0.0.1]:5000',
    '[::ffff:7f00:1]:5000',
    '127.0.0.1:05000',
  ]) {
    assert.deepEqual(decision(policy, `${name}/evil/tool:v1`), refusedBy, name);
    assert.deepEqual(decision(policy, `oci://${name}/evil/tool`), refusedBy, `oci://${name}`);
  }
  assert.equal(decision(policy, '127.0.0.1:5000/acme/tool').action, 'verify', 'an oci:// prefix pattern matches');
  assert.equal(decision(policy, 'ghcr.io:443/evil/x').action, 'refuse', 'the https default port is the same registry');
  assert.equal(decision(policy, 'ghcr.io:80/evil/x').action, 'refuse', 'so is the plain-http one');
  assert.equal(decision(policy, 'ghcr.io/acme/tool').action, 'verify', 'a pattern with the default port names the registry without it');
  assert.equal(decision(policy, 'ghcr.io:5000/evil/x').action, 'allow', 'another port is another registry');
  assert.throws(
    () =>
      policyOf({
        version: 1,
        registries: [
          { match: 'ghcr.io/a/*', action: 'allow' },
          { match: 'ghcr.io:443/a/*', action: 'refuse' },
        ],
      }),
    invalid(/registries\[1\] matches the same inputs as registries\[0\]/),
  );
  assert.equal(parseReference('127.1:5000/x').registry, '127.0.0.1:5000', 'references spell the address one way everywhere');
  assert.throws(() => parseReference('127.0.0.1:70000/x'), /"127\.0\.0\.1:70000" is not a host\[:port\]/);
  assert.throws(() => parseReference('foo.0x10/x'), /"foo\.0x10" is not a host\[:port\]/);
});

test('with no rule matching, a registry input is refused, naming why', () => {
  const policy = policyOf({ version: 1, registries: [{ match: 'ghcr.io/acme/*', action: 'allow' }] });
  assert.deepEqual(decision(policy, 'quay.io/other/x'), {
    action: 'refuse',
    keys: [],
    rule: '/etc/ecli/policy.json (no rule in "registries" matches quay.io/other/x)',
  });
  assert.equal(policyOf({ version: 1 }).files.action, 'refuse');
});

test('bad policies are refused with what is wrong and where', () => {
  const cases: [unknown, RegExp][] = [
    [{}, /"version" must be 1 \(got undefined\)/],
    [{ version: 1, registry: [] }, /the top level has "registry", which is not one of "version", "registries", "files", "urls"/],
    [{ version: 1, registries: {} }, /"registries" must be an array of rules/],
    [{ version: 1, registries: [{ match: 'ghcr.io/x', action: 'alow' }] }, /registries\[0\]\.action must be one of "verify", "allow", "refuse" \(got "alow"\)/],
    [
      { version: 1, registries: [{ match: 'ghcr.io/x', action: 'verify' }] },
      /registries\[0\]\.keys must list the public key files \(at least one\) for "verify"/,
    ],
    [{ version: 1, registries: [{ match: 'ghcr.io/x', action: 'allow', keys: ['a.pub'] }] }, /registries\[0\] has "keys", which only "verify" uses/],
    [
      { version: 1, registries: [{ match: 'ghcr.io/x:v1', action: 'allow' }] },
      /registries\[0\]\.match "ghcr\.io\/x:v1" names a tag, which can be moved to other content/,
    ],
    [{ version: 1, registries: [{ match: 'ghcr.io/x*', action: 'allow' }] }, /\* may only stand alone, or end a pattern as \/\*/],
    [{ version: 1, registries: [{ match: 'not a host/x', action: 'allow' }] }, /registries\[0\]\.match "not a host\/x" is not a registry pattern/],
    [
      {
        version: 1,
        registries: [
          { match: 'ghcr.io/a/*', action: 'allow' },
          { match: 'GHCR.io/a/*', action: 'refuse' },
        ],
      },
      /registries\[1\] matches the same inputs as registries\[0\]/,
    ],
    [{ version: 1, files: { action: 'verify', keys: [] } }, /"files"\.keys must list the public key files/],
    [{ version: 1, files: 'allow' }, /"files" must be an object/],
  ];
  for (const [value, message] of cases) assert.throws(() => policyOf(value), invalid(message), JSON.stringify(value));
  assert.throws(() => parsePolicy('{"version": 1,', '/p.json', fakeKey), invalid(/^invalid signing policy \/p\.json: not JSON/));
  // The last of two keys would win silently, while a reader sees the first.
  assert.throws(
    () => parsePolicy('{"version": 1, "files": {"action": "refuse"}, "registries": [], "files": {"action": "allow"}}', '/p.json', fakeKey),
    invalid(/^invalid signing policy \/p\.json: the top-level object has the key "files" twice$/),
  );
  assert.throws(
    () => parsePolicy('{"version": 1, "registries": [{"match": "*", "action": "refuse", "action": "allow"}]}', '/p.json', fakeKey),
    invalid(/^invalid signing policy \/p\.json: registries\[\] has the key "action" twice$/),
  );
});

test('the gate on files: the policy and --verify-key must both hold; a refusal names the rule', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ecli-policy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fleet = await decryptPrivateKey((await generateKeyPair('')).privatePem, '', 'fleet.key');
  const mine = await decryptPrivateKey((await generateKeyPair('')).privatePem, '', 'mine.key');
  writeFileSync(path.join(dir, 'fleet.pub'), publicKeyPem(fleet.publicKey.key));
  writeFileSync(path.join(dir, 'mine.pub'), publicKeyPem(mine.publicKey.key));
  const bytes = Buffer.from('{"a package": true}');
  const file = path.join(dir, 'pkg.json');
  writeFileSync(file, bytes);
  const policyFile = (value: unknown): string => {
    const at = path.join(dir, `policy-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(at, JSON.stringify(value));
    return at;
  };
  const verifying = policyFile({ version: 1, files: { action: 'verify', keys: ['fleet.pub'] } });
  const check = async (options: Parameters<typeof createSigningGate>[0]): Promise<void> => createSigningGate(options)({ kind: 'file', path: file, bytes });

  writeFileSync(`${file}.sig`, signBytes(mine.privateKey, bytes));
  await assert.rejects(
    check({ policy: verifying }),
    invalid(new RegExp(`pkg\\.json\\.sig is not a signature by ${dir}/fleet\\.pub of these bytes.*\\(required by ${verifying} "files"\\)$`)),
  );
  await check({ policy: false, verifyKeys: [path.join(dir, 'mine.pub')] });
  writeFileSync(`${file}.sig`, signBytes(fleet.privateKey, bytes));
  const told: string[] = [];
  await check({ policy: verifying, onVerified: (m) => told.push(m) });
  assert.deepEqual(told, [`verified ${file} (sha256:${createHash('sha256').update(bytes).digest('hex')}): signed by ${dir}/fleet.pub`]);
  // Both required: the fleet's signature does not satisfy --verify-key mine.pub.
  await assert.rejects(
    check({ policy: verifying, verifyKeys: [path.join(dir, 'mine.pub')] }),
    invalid(/is not a signature by .*mine\.pub of these bytes.*\(required by --verify-key\)$/),
  );
  await assert.rejects(
    check({ policy: policyFile({ version: 1 }) }),
    invalid(/^.*pkg\.json \(sha256:[0-9a-f]{64}\) is refused by the signing policy: .*\(it has no "files" entry, so local files are refused\)$/),
  );
  await check({ policy: policyFile({ version: 1, files: { action: 'allow' } }) });
  await assert.rejects(
    check({ policy: policyFile({ version: 1, files: { action: 'verify', keys: ['missing.pub'] } }) }),
    invalid(/^invalid signing policy .*: cannot read the public key .*missing\.pub: no such file$/),
  );
  await assert.rejects(
    check({ policy: path.join(dir, 'absent.json') }),
    invalid(/^cannot use the signing policy: cannot read the signing policy .*absent\.json: no such file$/),
  );
  // Stdin and library bytes have no <file>.sig: the signature must be given.
  const fromStdin = createSigningGate({ policy: verifying })({ kind: 'bytes', source: '<stdin>', bytes });
  await assert.rejects(fromStdin, invalid(/^<stdin> \(sha256:[0-9a-f]{64}\) has no signature: give its detached signature with --signature/));
  await createSigningGate({ policy: verifying, signature: Buffer.from(signBytes(fleet.privateKey, bytes)) })({ kind: 'bytes', source: '<stdin>', bytes });
});

test('no key and no policy: no gate; a signature without a key to check it is a usage error', async () => {
  assert.equal(await loadSigningGate({ policy: false }), undefined);
  assert.equal(await loadSigningGate({ policy: false, verifyKeys: [] }), undefined);
  await assert.rejects(loadSigningGate({ policy: false, signature: 'x.sig' }), (error: unknown) => error instanceof EcliError && error.code === 'USAGE');
});
