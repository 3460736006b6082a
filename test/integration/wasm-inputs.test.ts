/**
 * Where a Wasm module comes from and what it may touch: a real docker-registry (push with the
 * reference's media types, pull, inspect and run by reference), stdin, a pinned http URL; the
 * sandbox (no host directory without --wasm-dir, the --wasm-memory cap) and its output (bytes on
 * a pipe, escaped on a terminal unless --raw).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { ecliPath, runTool } from '../helpers/ecli-process.js';
import { fixturesDir, haveRoot } from '../helpers/env.js';
import { haveCommands, sleep, startHelper, tempDir } from '../helpers/examples.js';
import { haveRegistry, startRegistry } from '../helpers/registry.js';
import { buildGuest, haveWasmToolchain } from '../helpers/wasm-guests.js';

const WASM_LAYER = 'application/vnd.wasm.content.layer.v1+wasm';
const WASM_CONFIG = 'application/vnd.wasm.config.v1+json';

function ready(t: TestContext): boolean {
  return haveRoot(t) && haveWasmToolchain(t);
}

test('push, inspect, pull and run a module through a real docker-registry, with the media types the reference pushes and pulls', async (t) => {
  if (!ready(t) || !haveRegistry(t)) return;
  const probe = buildGuest('probe');
  const registry = await startRegistry(t);
  const env = { DOCKER_CONFIG: tempDir(t, 'ecli-docker-') };
  const reference = `${registry.host}/wasm/probe:v1`;

  const pushed = runTool(ecliPath, ['push', probe.wasm, reference], { env });
  assert.equal(pushed.status, 0, pushed.stderr);
  const digest = pushed.stdout.trim();
  assert.match(
    pushed.stderr,
    /ecli: probe\.wasm is a wasm-bpf module: imports 6 wasm_bpf functions, \d+ WASI preview 1 functions; exports memory, __indirect_function_table, _start\n/,
  );

  const response = await fetch(`http://${registry.host}/v2/wasm/probe/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  const manifestBytes = Buffer.from(await response.arrayBuffer());
  assert.equal(`sha256:${createHash('sha256').update(manifestBytes).digest('hex')}`, digest);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
    mediaType: string;
    artifactType?: string;
    config: { mediaType: string; size: number };
    layers: { mediaType: string; size: number }[];
    annotations: Record<string, string>;
  };
  assert.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.equal(manifest.artifactType, undefined);
  assert.deepEqual([manifest.config.mediaType, manifest.config.size], [WASM_CONFIG, 2]);
  assert.deepEqual(
    manifest.layers.map((l) => [l.mediaType, l.size]),
    [[WASM_LAYER, readFileSync(probe.wasm).length]],
  );
  assert.equal(manifest.annotations['org.opencontainers.image.title'], 'probe.wasm');

  const inspected = runTool(ecliPath, ['inspect', '--json', reference], { env });
  assert.equal(inspected.status, 0, inspected.stderr);
  const report = JSON.parse(inspected.stdout) as { kind: string; runnable: boolean; imports: { module: string; name: string; signature: string }[] };
  assert.equal(report.kind, 'wasm-module');
  assert.equal(report.runnable, true);
  assert.deepEqual(
    report.imports.find((i) => i.name === 'wasm_bpf_map_operate'),
    { module: 'wasm_bpf', name: 'wasm_bpf_map_operate', kind: 'function', signature: '(i32, i32, i32, i32, i32, i64) -> i32' },
  );

  const dir = tempDir(t, 'ecli-pulled-');
  const pulled = runTool(ecliPath, ['pull', '-o', `${dir}/`, reference], { env });
  assert.equal(pulled.status, 0, pulled.stderr);
  const written = /^wrote (.+)$/m.exec(pulled.stdout)?.[1] ?? assert.fail(pulled.stdout);
  assert.ok(readFileSync(written).equals(readFileSync(probe.wasm)), 'pulled byte for byte');
  assert.match(pulled.stderr, /is a wasm-bpf module: imports 6 wasm_bpf functions/);

  for (const ref of [reference, `${registry.host}/wasm/probe@${digest}`]) {
    const run = runTool(ecliPath, ['run', ref, 'maps'], { env });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'maps ok\n');
  }
});

test('from stdin (no -p needed: the module says what it is) and from a pinned http URL; an unpinned or mispinned URL is refused', async (t) => {
  if (!ready(t)) return;
  const probe = buildGuest('probe');
  const bytes = readFileSync(probe.wasm);
  const fromStdin = runTool(ecliPath, ['run', '-', 'maps'], { input: bytes });
  assert.equal(fromStdin.status, 0, fromStdin.stderr);
  assert.equal(fromStdin.stdout, 'maps ok\n');

  const server = createServer((_request, response) => response.end(bytes));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/probe.wasm`;
  const digest = createHash('sha256').update(bytes).digest('hex');
  const pinned = await runAsync(['run', '--sha256', digest, url, 'maps']);
  assert.equal(pinned.status, 0, pinned.stderr);
  assert.equal(pinned.stdout, 'maps ok\n');
  const unpinned = await runAsync(['run', url, 'maps']);
  assert.equal(unpinned.status, 2, unpinned.stderr);
  assert.match(unpinned.stderr, /refusing to run an unpinned URL/);
  const mispinned = await runAsync(['run', '--sha256', digest.replace(/^./, (c) => (c === '0' ? '1' : '0')), url, 'maps']);
  assert.equal(mispinned.status, 13, mispinned.stderr);
});

test('the guest sees no host directory but those --wasm-dir preopens, where it reads', async (t) => {
  if (!ready(t)) return;
  const probe = buildGuest('probe');
  const dir = tempDir(t, 'ecli-wasm-dir-');
  writeFileSync(path.join(dir, 'note.txt'), 'from the host\n');
  const denied = runTool(ecliPath, ['run', probe.wasm, 'read', path.join(dir, 'note.txt')]);
  assert.equal(denied.status, 1, denied.stderr);
  assert.match(denied.stdout, /^cannot open /);
  const sameName = runTool(ecliPath, ['run', '--wasm-dir', dir, probe.wasm, 'read', path.join(dir, 'note.txt')]);
  assert.equal(sameName.stdout, 'read: from the host\n', sameName.stderr);
  const renamed = runTool(ecliPath, ['run', '--wasm-dir', `${dir}:/data`, probe.wasm, 'read', '/data/note.txt']);
  assert.equal(renamed.stdout, 'read: from the host\n', renamed.stderr);
  const outside = runTool(ecliPath, ['run', '--wasm-dir', `${dir}:/data`, probe.wasm, 'read', '/data/../../etc/hostname']);
  assert.match(outside.stdout, /^cannot open /, 'no way out of a preopened directory');
  const missing = runTool(ecliPath, ['run', '--wasm-dir', path.join(dir, 'nope'), probe.wasm, 'read', '/x']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^ecli: error: --wasm-dir \S+nope: no such directory\n/);
});

test('a guest waiting for its stdin stops at once on SIGINT; one blocked opening a FIFO is left behind: its objects closed, ecli exits', async (t) => {
  if (!ready(t) || !haveCommands(t, ['mkfifo'])) return;
  const probe = buildGuest('probe');
  const reading = startHelper(t, ecliPath, ['run', probe.wasm, 'stdin'], { stdio: ['pipe', 'pipe', 'pipe'] });
  await waitFor(() => reading.stdout().includes('reading stdin\n'));
  let started = Date.now();
  reading.child.kill('SIGINT');
  assert.equal(await reading.exited, 0);
  assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);

  const dir = tempDir(t, 'ecli-wasm-fifo-');
  assert.equal(runTool('mkfifo', [path.join(dir, 'fifo')]).status, 0);
  const blocked = startHelper(t, ecliPath, ['run', '--wasm-dir', `${dir}:/d`, probe.wasm, 'read', '/d/fifo'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  blocked.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await sleep(500);
  started = Date.now();
  blocked.child.kill('SIGINT');
  assert.equal(await blocked.exited, 0, stderr);
  assert.ok(Date.now() - started < 6000, `took ${Date.now() - started} ms`);
  assert.match(
    stderr,
    /ecli: the guest did not stop within 2 s; terminating it\necli: the guest is blocked in a system call and cannot be stopped; everything it loaded is closed, and ecli exits without it\n/,
  );
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    assert.ok(Date.now() < deadline, 'timed out');
    await sleep(20);
  }
}

test('--wasm-memory caps how far the guest grows (malloc fails inside it); a module that needs more to start is refused', (t) => {
  if (!ready(t)) return;
  const probe = buildGuest('probe');
  const capped = runTool(ecliPath, ['run', '--wasm-memory', '4M', probe.wasm, 'grow', '16']);
  assert.equal(capped.stdout, 'grow: malloc of 16 MiB failed\n', capped.stderr);
  const roomy = runTool(ecliPath, ['run', '--wasm-memory', '64M', probe.wasm, 'grow', '16']);
  assert.equal(roomy.stdout, 'grow: got 16 MiB (last byte 1)\n', roomy.stderr);
  const tiny = runTool(ecliPath, ['run', '--wasm-memory', '64K', probe.wasm, 'grow', '1']);
  assert.equal(tiny.status, 2);
  assert.match(tiny.stderr, /^ecli: error: \S+probe\.wasm needs 128 KiB of memory to start, more than the limit of 64 KiB\n/);
});

test("the guest's output: its bytes on a pipe; escaped like event data on a terminal, unless --raw", (t) => {
  if (!ready(t) || !haveCommands(t, ['script'])) return;
  const probe = buildGuest('probe');
  const piped = runTool(ecliPath, ['run', probe.wasm, 'print-controls']);
  assert.equal(piped.stdout, 'red\x1b[31m bell\x07 tab\t cr\r end\n');
  assert.equal(piped.stderr, 'stderr\x1b]0;title\x07\n');
  // script(1) gives ecli a terminal; the terminal adds \r before each \n.
  const onTerminal = runTool('script', ['-qec', `${ecliPath} run ${probe.wasm} print-controls`, '/dev/null']);
  assert.equal(onTerminal.stdout, 'red\\e[31m bell\\x07 tab\t cr\\r end\r\nstderr\\e]0;title\\x07\r\n');
  const raw = runTool('script', ['-qec', `${ecliPath} run --raw ${probe.wasm} print-controls`, '/dev/null']);
  assert.equal(raw.stdout, 'red\x1b[31m bell\x07 tab\t cr\r end\r\nstderr\x1b]0;title\x07\r\n');
});

test('flags for packages are refused with a Wasm module, and Wasm flags with a package', (t) => {
  if (!ready(t)) return;
  const probe = buildGuest('probe');
  const json = runTool(ecliPath, ['run', '-j', '--count', '3', probe.wasm]);
  assert.equal(json.status, 2);
  assert.match(json.stderr, /^ecli: error: -j, --count apply to packages; \S+ is a Wasm module, which prints its own output\n/);
  const wasmDir = runTool(ecliPath, ['run', '--wasm-dir', '/tmp', path.join(fixturesDir, 'bootstrap.json')]);
  assert.equal(wasmDir.status, 2);
  assert.match(wasmDir.stderr, /^ecli: error: --wasm-dir applies to Wasm modules, not to packages\n/);
});

/** runTool, without blocking the event loop (the test's own http server must answer). */
function runAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return import('node:child_process').then(
    ({ execFile }) =>
      new Promise((resolve) => {
        execFile(ecliPath, args, { encoding: 'utf8' }, (error, stdout, stderr) => {
          resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
        });
      }),
  );
}
