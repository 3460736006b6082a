/**
 * Bad input through the real `./ecli`: each failure is exactly one `ecli: error:` line (plus a
 * hint when there is something to do), with its documented exit status, and no stack trace
 * unless --debug. None of these needs root: package mistakes are refused before anything is
 * loaded, so the results are the same for root and for an ordinary user.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBpfObject } from '../../src/package/codec.js';
import type { ComposedPackage } from '../../src/package/types.js';
import { eccPath, ecliPath, runTool, type Completed } from '../helpers/ecli-process.js';
import { fixturesDir, repoRoot } from '../helpers/env.js';
import { readFixturePackage } from '../helpers/fixtures.js';
import { syntheticPackageText } from '../helpers/synthetic-package.js';

const REBUILD = 'hint: the package is damaged or was not written by ecc; rebuild it with ./ecc';
const USAGE_HINT = 'hint: see ecli --help, or ecli <command> --help';

const dir = mkdtempSync(join(tmpdir(), 'ecli-errors-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function writePackage(name: string, content: string | object): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function ecli(...args: string[]): Completed {
  return runTool(ecliPath, args);
}

/** The exit status and the exact stderr; stdout must be empty for a failure. */
function assertFails(result: Completed, status: number, stderrLines: string[]): void {
  assert.equal(result.stderr, stderrLines.map((line) => `${line}\n`).join(''), `stderr of a run that exited ${result.status}`);
  assert.equal(result.status, status);
  assert.equal(result.stdout, '');
}

function bootstrap(): ComposedPackage {
  return readFixturePackage('bootstrap.json');
}

test('a package file that does not exist: exit 3', () => {
  const path = join(dir, 'missing.json');
  assertFails(ecli('run', path), 3, [
    `ecli: error: cannot read ${path}: no such file`,
    'hint: pass a package.json written by ecc, a package tarball, an http(s) URL, an oci:// registry reference, or - for stdin',
  ]);
});

test('a package that is not JSON (a truncated file): exit 4', () => {
  const path = writePackage('truncated.json', syntheticPackageText().slice(0, 40));
  assertFails(ecli('run', path), 4, [
    `ecli: error: ${path} is not valid JSON: Unterminated string in JSON at position 40`,
    'hint: a package is the package.json that ecc writes; check the file is complete',
  ]);
});

test('a schema error names each problem by its JSON pointer: exit 4', () => {
  const pkg = JSON.parse(syntheticPackageText()) as { meta: { bpf_skel: Record<string, unknown> } };
  pkg.meta.bpf_skel.maps = [{ name: 5, ident: 'rb' }];
  delete pkg.meta.bpf_skel.progs;
  const path = writePackage('schema.json', pkg);
  assertFails(ecli('run', path), 4, [
    `ecli: error: invalid package ${path}: /meta/bpf_skel/progs is required; /meta/bpf_skel/maps/0/name must be string`,
    'hint: was it written by ecc? rebuild it with ./ecc',
  ]);
});

test('bpf_object that is not base64: exit 4', () => {
  const pkg = JSON.parse(syntheticPackageText()) as { bpf_object: string };
  pkg.bpf_object = `${pkg.bpf_object.slice(0, 6)}!${pkg.bpf_object.slice(7)}`;
  const path = writePackage('base64.json', pkg);
  assertFails(ecli('run', path), 4, [`ecli: error: invalid package ${path}: bpf_object is not valid base64: unexpected character "!" at offset 6`, REBUILD]);
});

test('bpf_object_size that disagrees with the object: exit 4', () => {
  const pkg = JSON.parse(syntheticPackageText()) as { bpf_object_size: number };
  const real = pkg.bpf_object_size;
  pkg.bpf_object_size = real + 100;
  const path = writePackage('size.json', pkg);
  assertFails(ecli('run', path), 4, [
    `ecli: error: invalid package ${path}: bpf_object_size is ${real + 100} but the object inflates to ${real} bytes`,
    REBUILD,
  ]);
});

test('an object that is not an ELF file, and an ELF file that is not BPF: exit 4', () => {
  const meta = (JSON.parse(syntheticPackageText()) as { meta: unknown }).meta;
  const text = writePackage('text.json', { ...encodeBpfObject(new TextEncoder().encode('#!/bin/sh\necho this is not an object\n')), meta });
  assertFails(ecli('run', text), 4, [`ecli: error: invalid package ${text}: bpf_object is not an ELF object (no \\x7fELF magic)`, REBUILD]);

  const x86 = new Uint8Array(64);
  x86.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  new DataView(x86.buffer).setUint16(18, 62, true); // EM_X86_64
  const host = writePackage('x86.json', { ...encodeBpfObject(x86), meta });
  assertFails(ecli('run', host), 4, [
    `ecli: error: invalid package ${host}: bpf_object is an ELF object for machine 62, not BPF (247); compile it with clang -target bpf`,
    REBUILD,
  ]);
});

test('an export type whose member name differs from BTF names the struct and the member: exit 4', () => {
  const pkg = bootstrap();
  const exported = pkg.meta.export_types[0]!;
  assert.equal(exported.members[1]!.name, 'ppid');
  exported.members[1]!.name = 'parent_pid';
  const path = writePackage('member.json', pkg);
  assertFails(ecli('run', path), 4, [
    'ecli: error: struct event: member 1 is "ppid" in BTF but "parent_pid" in the package',
    'hint: the package meta does not match its BPF object; rebuild the package with ecc',
  ]);
});

test('a ring buffer map with no export type describing its events: exit 4', () => {
  const pkg = bootstrap();
  pkg.meta.export_types = [];
  const path = writePackage('no-export.json', pkg);
  assertFails(ecli('run', path), 4, [
    'ecli: error: map rb carries events but the package has no export type describing them',
    'hint: compile with the header that declares the event struct: ./ecc prog.bpf.c prog.h',
  ]);
});

test('perf_buffer_pages that is not a power of two is refused before loading: exit 4', () => {
  const pkg = bootstrap();
  // 3·2^32 passes a 32-bit `x & (x - 1)` test; 2^52 pages of 4 KiB wrap libbpf's size_t to 0.
  for (const pages of [48, 3 * 2 ** 32, 2 ** 52, 2 ** 19]) {
    pkg.meta.perf_buffer_pages = pages;
    const path = writePackage('perf-pages.json', pkg);
    assertFails(ecli('run', path), 4, [
      `ecli: error: ${path}: perf_buffer_pages must be a power of two from 1 to 262144, not ${pages}`,
      'hint: use 64 (the default), 128, 256...',
    ]);
  }
});

test('a sample interval longer than a timer can wait is refused: exit 4', () => {
  const pkg = JSON.parse(readFileSync(join(fixturesDir, 'runqlat.json'), 'utf8')) as ComposedPackage;
  pkg.meta.bpf_skel.maps.find((map) => map.sample)!.sample!.interval = 2 ** 53 - 1;
  const path = writePackage('interval.json', pkg);
  assertFails(ecli('run', path), 4, [
    `ecli: error: ${path}: map hists: sample interval 9007199254740991 ms is longer than the 2147483647 ms (about 24.8 days) a timer can wait`,
    'hint: give the interval in milliseconds, e.g. "interval": 1000',
  ]);
});

test("an export type whose size is not the struct's size in BTF: exit 4", () => {
  const pkg = bootstrap();
  pkg.meta.export_types[0]!.size = 175;
  const path = writePackage('export-size.json', pkg);
  assertFails(ecli('run', path), 4, [
    'ecli: error: struct event: the struct is 176 bytes in BTF but the package says 175',
    'hint: the package meta does not match its BPF object; rebuild the package with ecc',
  ]);
});

test('options the package does not have, and values that overflow the variable: exit 2', () => {
  const path = join(fixturesDir, 'bootstrap.json');
  assertFails(ecli('run', path, '--nope'), 2, ['ecli: error: unknown option --nope for package client_bpf; run with --help to list its options']);
  assertFails(ecli('run', path, '--min_duration_ns', '18446744073709551616'), 2, [
    'ecli: error: option --min_duration_ns: 18446744073709551616 does not fit unsigned long long (8 bytes, 0..18446744073709551615)',
  ]);
});

test("a package's --help goes to stdout with exit 0", () => {
  const result = ecli('run', join(fixturesDir, 'bootstrap.json'), '--help');
  assert.equal(result.stderr, '');
  assert.equal(result.status, 0);
  assert.match(result.stdout, /^A simple eBPF program\n\nUsage: client_bpf \[OPTIONS\]\n/);
  assert.match(
    result.stdout,
    /^ {6}--min_duration_ns <min_duration_ns> {2}Set value of `unsigned long long` variable min_duration_ns \[default: 0\]$/m,
    'the initial value from the object',
  );
});

test('ecli with no arguments prints its usage, as a usage error (exit 2)', () => {
  const bare = ecli();
  assert.equal(bare.status, 2);
  assert.equal(bare.stdout, '');
  const help = ecli('--help');
  assert.equal(bare.stderr, `${help.stdout}\necli: error: no command or package given\n`);
  assert.match(bare.stderr, /^Usage: ecli \[options\] \[command\]$/m);
});

test("a command's flag before the command says which command takes it and where it goes", () => {
  const hint = "hint: ecli's own options (-V, --version, -h, --help, -v, --verbose, --debug) go before the command, the command's after it";
  assertFails(ecli('-j', 'run', join(dir, 'x.json')), 2, [
    'ecli: error: -j is an option of ecli run and ecli inspect, not of ecli itself: put it after the command (ecli run -j ...)',
    hint,
  ]);
  assertFails(ecli('-v', '--fields=pid', join(dir, 'x.json')), 2, [
    'ecli: error: --fields is an option of ecli run, not of ecli itself: put it after the command (ecli run --fields ...)',
    hint,
  ]);
  assertFails(ecli('-o', 'out', 'pull', 'localhost:5000/x:v1'), 2, [
    'ecli: error: -o is an option of ecli pack and ecli pull, not of ecli itself: put it after the command (ecli pull -o ...)',
    hint,
  ]);
});

test('with stdout closed (>&-) Node.js gives ecli /dev/null instead, so the output is discarded as with > /dev/null', () => {
  // docs/hostile-input.md says so: no write fails, and ecli cannot tell this from a /dev/null the user chose.
  const pkg = writePackage('closed-stdout.json', bootstrap());
  const closed = spawnSync('sh', ['-c', 'exec "$0" inspect "$1" >&-', ecliPath, pkg], { encoding: 'utf8' });
  assert.deepEqual([closed.status, closed.stderr], [0, '']);
  const devNull = spawnSync('sh', ['-c', 'exec "$0" inspect "$1" > /dev/null', ecliPath, pkg], { encoding: 'utf8' });
  assert.deepEqual([devNull.status, devNull.stderr], [0, '']);
});

test('ecli with options it does not know: exit 2', () => {
  assertFails(ecli('--bogus'), 2, ["ecli: error: unknown option '--bogus'", USAGE_HINT]);
  assertFails(ecli('run'), 2, ["ecli: error: missing required argument 'package'", USAGE_HINT]);
  assertFails(ecli('run', '--bogus', join(dir, 'x.json')), 2, [
    'ecli: error: unknown option --bogus for ecli run (the package must come before its own options)',
    'hint: see ecli run --help',
  ]);
});

test('a stack trace only with --debug', () => {
  const path = join(dir, 'missing.json');
  const isFrame = (line: string) => line.startsWith('    at ');
  const plain = ecli('run', path);
  assert.equal(plain.status, 3);
  assert.equal(plain.stderr.split('\n').filter(isFrame).length, 0, plain.stderr);

  const debug = ecli('--debug', 'run', path);
  assert.equal(debug.status, 3);
  const lines = debug.stderr.split('\n');
  assert.equal(lines[0], `ecli: error: cannot read ${path}: no such file`);
  assert.ok(lines.includes(`EcliError: cannot read ${path}: no such file`), debug.stderr);
  assert.ok(lines.filter(isFrame).length > 0, debug.stderr);
  assert.equal(lines.filter((line) => line.startsWith('ecli: error:')).length, 1);
});

test("ecli -V and ecc -V print package.json's version", () => {
  const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  for (const tool of [ecliPath, eccPath]) {
    const result = runTool(tool, ['-V']);
    assert.equal(result.status, 0);
    assert.equal(result.stdout, `${version}\n`);
  }
});

/** ecli run as a user without BPF privileges (nobody, when the tests run as root). */
function ecliUnprivileged(...args: string[]): Completed {
  if (process.getuid?.() !== 0) return ecli(...args);
  return runTool('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ecliPath, ...args]);
}

/** A package file that nobody may read. */
function writeReadablePackage(name: string, content: object): string {
  const path = writePackage(name, content);
  chmodSync(dir, 0o755);
  chmodSync(path, 0o644);
  return path;
}

test('a bad perf_event prog meta is a package error (exit 4) even for a user without BPF privileges', () => {
  const pkg = bootstrap();
  const program = pkg.meta.bpf_skel.progs[0]!;
  program.perf_event = { type: 'bogus' as 'software' };
  const bogusType = writeReadablePackage('perf-type.json', pkg);
  assertFails(ecliUnprivileged('run', bogusType), 4, [
    `ecli: error: invalid package ${bogusType}: /meta/bpf_skel/progs/0/perf_event/type must be one of software, hardware (got "bogus")`,
    'hint: was it written by ecc? rebuild it with ./ecc',
  ]);
  program.attach = 'perf_event';
  program.perf_event = { type: 'software', config: 'cycles-of-doom' };
  const bogusConfig = writeReadablePackage('perf-config.json', pkg);
  const refused = ecliUnprivileged('run', bogusConfig);
  assert.equal(refused.status, 4, refused.stderr);
  assert.match(refused.stderr, /^ecli: error: program handle_exec: perf_event config "cycles-of-doom" is not a software event; known: cpu-clock, /);
  // The same user gets the privilege error for the valid package: the refusal above came first.
  delete program.perf_event;
  program.attach = 'tp/sched/sched_process_exec';
  if (process.getuid?.() === 0) assert.equal(ecliUnprivileged('run', writeReadablePackage('valid.json', pkg)).status, 5);
});

test('ecli run --help names every kind of package it takes, a C source among them', () => {
  const help = ecli('run', '--help');
  assert.equal(help.status, 0);
  const text = help.stdout.replace(/\s+/g, ' ');
  for (const kind of ['package.json', '.tar.gz', 'prog.bpf.c', 'module.wasm', 'http(s) URL', 'registry reference', '- for stdin']) {
    assert.ok(text.includes(kind), `${kind} in: ${text.slice(0, 400)}`);
  }
});
