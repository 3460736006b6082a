import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runRun, type RunCommandOptions } from '../../src/cli/commands/run.js';
import { syntheticPackageText } from '../helpers/synthetic-package.js';
import { silentServer } from '../helpers/silent-server.js';

function captured(): { io: { stdout: PassThrough; stderr: PassThrough }; text(): { stdout: string; stderr: string } } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
  stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()));
  return { io: { stdout, stderr }, text: () => ({ stdout: out.join(''), stderr: err.join('') }) };
}

function options(stopRequested: Promise<string>, url?: { insecure: boolean; timeoutMs: number }): RunCommandOptions {
  return { output: { format: 'plain', widen: true }, tracePipe: false, verbose: false, stopRequested, stopForced: new Promise<string>(() => {}), ...url };
}

test('Ctrl-C while a package URL is downloading stops the download at once, exit 0, nothing loaded', async (t) => {
  const port = await silentServer(t);
  const { io, text } = captured();
  let stop!: (signal: string) => void;
  const stopRequested = new Promise<string>((resolve) => (stop = resolve));
  setTimeout(() => stop('SIGINT'), 150);
  const started = Date.now();
  const status = await runRun(`http://127.0.0.1:${port}/pkg.json`, [], options(stopRequested, { insecure: true, timeoutMs: 10_000 }), io);
  const took = Date.now() - started;
  assert.equal(status, 0);
  assert.ok(took < 3000, `the stop took ${took} ms (the download's own deadline is 10 s)`);
  assert.equal(text().stderr, 'ecli: stopped by SIGINT before anything was loaded\n');
  assert.equal(text().stdout, '');
});

test('a stop signal that came while the package was read ends the run before it is loaded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecli-run-stop-test-'));
  try {
    const file = join(dir, 'package.json');
    writeFileSync(file, syntheticPackageText('demo_bpf'));
    const { io, text } = captured();
    const status = await runRun(file, [], options(Promise.resolve('SIGTERM')), io);
    assert.equal(status, 0);
    assert.equal(text().stderr, 'ecli: stopped by SIGTERM before anything was loaded\n');
    assert.equal(text().stdout, '', 'no header: nothing was run');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
