/**
 * Inputs that are not regular files go through the same 64 MiB cap as files, through the real
 * `./ecli`: an endless device, FIFO, process substitution or stdin is refused once it passes
 * the cap (the read stops there), with one line and exit 4.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ecliPath, runTool, type Completed } from '../helpers/ecli-process.js';

const LIMIT = 64 * 1024 * 1024;
const FILE_HINT = 'hint: pass a package.json written by ecc, a package tarball, an http(s) URL, an oci:// registry reference, or - for stdin';

function assertTooBig(result: Completed, source: string, hint = FILE_HINT): void {
  assert.equal(result.stderr, `ecli: error: ${source} holds more than the ${LIMIT} byte limit for a package\n${hint}\n`);
  assert.equal(result.status, 4);
  assert.equal(result.stdout, '');
}

test('ecli inspect /dev/zero: refused at the cap, exit 4', () => {
  assertTooBig(runTool(ecliPath, ['inspect', '/dev/zero']), '/dev/zero');
});

test('a FIFO that never ends, and <(yes): refused at the cap, exit 4', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ecli-fifo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'pkg.json');
  assert.equal(runTool('mkfifo', [fifo]).status, 0);
  const writer = spawn('sh', ['-c', `exec yes > '${fifo}'`], { stdio: 'ignore' });
  t.after(() => writer.kill('SIGKILL'));
  assertTooBig(runTool(ecliPath, ['inspect', fifo]), fifo);

  const substituted = spawnSync('bash', ['-c', `exec '${ecliPath}' inspect <(yes)`], { encoding: 'utf8', timeout: 120_000 });
  const source = /error: (\/dev\/fd\/\d+|\/proc\/self\/fd\/\d+) holds/.exec(substituted.stderr)?.[1] ?? '<no path in stderr>';
  assertTooBig({ status: substituted.status, stdout: substituted.stdout, stderr: substituted.stderr }, source);
});

test('endless stdin: refused at the cap, exit 4', () => {
  const result = spawnSync('sh', ['-c', `yes | '${ecliPath}' run -`], { encoding: 'utf8', timeout: 120_000 });
  assertTooBig(
    { status: result.status, stdout: result.stdout, stderr: result.stderr },
    '<stdin>',
    'hint: a package is a package.json written by ecc or a tarball from ecli pack',
  );
});
