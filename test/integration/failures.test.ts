/**
 * Failures against the real kernel (root): a verifier rejection, missing privileges, malformed
 * events, and teardown. Whatever stops ecli (SIGTERM, SIGHUP, SIGKILL, stdout closed under it),
 * none of its programs stays loaded and nothing stays attached.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertGoneWithin, startEcliFor } from '../helpers/ecli-checks.js';
import { eccCompile, ecliPath, loadedPrograms, runTool, type LoadedProgram } from '../helpers/ecli-process.js';
import { haveRoot, repoRoot, skipUnlessCi } from '../helpers/env.js';

const REJECTED_SOURCE = `#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, u32);
    __type(value, u64);
} counts SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int count_unchecked(void *ctx)
{
    u32 key = 0;
    u64 *value = bpf_map_lookup_elem(&counts, &key);
    *value += 1;
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
`;

const RECORD_HEADER = `#ifndef SHORT_RECORDS_H
#define SHORT_RECORDS_H
struct record {
    int pid;
    int seq;
    char comm[16];
};
#endif
`;

/** Each exec sends a record cut to 4 of its 24 bytes, then a whole one. */
const SHORT_RECORDS_SOURCE = `#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include "short_records.h"

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} records SEC(".maps");

SEC("tp/sched/sched_process_exec")
int failures_exec(void *ctx)
{
    struct record r = {};
    r.pid = bpf_get_current_pid_tgid() >> 32;
    r.seq = 1;
    bpf_get_current_comm(r.comm, sizeof(r.comm));
    bpf_ringbuf_output(&records, &r, 4, 0);
    bpf_ringbuf_output(&records, &r, sizeof(r), 0);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
`;

const PROGRAM = 'failures_exec';
const isStackFrame = (line: string) => line.startsWith('    at ');

let workDir: string | undefined;
let rejectedPackage: string | undefined;
let recordsPackage: string | undefined;
let xdpPackage: string | undefined;
let tcPackage: string | undefined;
/** A copy of /bin/true under a unique name (its comm), so our events are told apart from others. */
let trigger: { path: string; comm: string } | undefined;

before(() => {
  if (process.getuid?.() !== 0) return;
  workDir = mkdtempSync(join(tmpdir(), 'ecli-failures-'));
  // The privileges test runs ecli as nobody, which must be able to read a package.
  chmodSync(workDir, 0o755);
  rejectedPackage = compile('reject', { 'reject.bpf.c': REJECTED_SOURCE });
  recordsPackage = compile('records', { 'short_records.bpf.c': SHORT_RECORDS_SOURCE, 'short_records.h': RECORD_HEADER });
  xdpPackage = compileExample('xdp');
  tcPackage = compileExample('tc');
  const comm = `efail${process.pid.toString(36)}`.slice(0, 15);
  trigger = { path: join(workDir, comm), comm };
  copyFileSync('/bin/true', trigger.path);
  chmodSync(trigger.path, 0o755);
});

after(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** Writes the sources to a folder of the work dir and compiles the first with ./ecc. */
function compile(name: string, files: Record<string, string>): string {
  const dir = join(workDir!, name);
  execFileSync('mkdir', ['-p', dir]);
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  const [source, header] = Object.keys(files).map((file) => join(dir, file));
  const packagePath = eccCompile(source!, header, dir);
  chmodSync(packagePath, 0o644);
  return packagePath;
}

function compileExample(name: string): string {
  const dir = join(workDir!, `example-${name}`);
  const base = join(repoRoot, 'examples', name, name);
  return eccCompile(`${base}.bpf.c`, `${base}.h`, dir);
}

function ready(t: TestContext): boolean {
  if (!haveRoot(t)) return false;
  if (!workDir) {
    skipUnlessCi(t, 'the test packages were not built');
    return false;
  }
  return true;
}

function programsNamed(name: string): LoadedProgram[] {
  return loadedPrograms().filter((p) => p.name === name.slice(0, 15));
}

function loaded(name: string): boolean {
  return programsNamed(name).length > 0;
}

/** The kernel frees a dead process's programs asynchronously: wait a little for it. */
async function waitUntilUnloaded(name: string, timeoutMs = 5000): Promise<void> {
  await assertGoneWithin(() => programsNamed(name), timeoutMs, `program ${name} is still loaded ${timeoutMs} ms after ecli ended`);
}

async function waitForStderr(running: { stderr(): string }, pattern: RegExp, timeoutMs = 5000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(running.stderr());
    if (match) return match;
    if (Date.now() > deadline) assert.fail(`stderr never matched ${pattern}:\n${running.stderr()}`);
    await sleep(50);
  }
}

function runTrigger(): void {
  spawnSync(trigger!.path);
}

test('a verifier rejection: one line naming the program, its section, the errno and the reason; exit 7', (t) => {
  if (!ready(t)) return;
  const result = runTool(ecliPath, ['run', rejectedPackage!]);
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  assert.equal(result.status, 7, result.stderr);
  assert.equal(result.stdout, '');
  assert.equal(lines.length, 2, result.stderr);
  // Kernels before 6.x annotate the C line without its file:line location.
  assert.match(
    lines[0]!,
    /^ecli: error: program count_unchecked \(tp\/syscalls\/sys_enter_getppid\): the verifier rejected it \(EACCES\): R0 invalid mem access 'map_value_or_null' at (reject\.bpf\.c:16 )?`\*value \+= 1;`$/,
  );
  const total = /^hint: fix the program and recompile it; rerun with --verbose for the verifier's full log \((\d+) lines\)$/.exec(lines[1]!);
  assert.ok(total, lines[1]);
  assert.ok(!loaded('count_unchecked'));

  const verbose = runTool(ecliPath, ['--verbose', 'run', rejectedPackage!]);
  assert.equal(verbose.status, 7);
  const verboseLines = verbose.stderr.split('\n');
  assert.equal(verboseLines.filter((line) => line.startsWith('ecli: error:')).length, 1, verbose.stderr);
  assert.ok(verboseLines.length > Number(total[1]), verbose.stderr);
  assert.match(verbose.stderr, /call bpf_map_lookup_elem/);
  // libbpf's messages are printed as they come, the verifier's log among them, and only once.
  assert.equal(verboseLines.filter((line) => /^processed \d+ insns/.test(line)).length, 1, verbose.stderr);
  assert.match(verbose.stderr, /^hint: fix the program and recompile it; the verifier's full log \(\d+ lines\) is above$/m);
  assert.equal(verboseLines.filter(isStackFrame).length, 0);
});

test('without privileges: a PERMISSION error, exit 5, and nothing loaded', (t) => {
  if (!ready(t)) return;
  const result = spawnSync(ecliPath, ['run', recordsPackage!], { cwd: repoRoot, uid: 65534, gid: 65534, encoding: 'utf8', timeout: 30_000 });
  assert.equal(
    result.stderr,
    'ecli: error: loading BPF needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN); this process (uid 65534) lacks CAP_BPF and CAP_PERFMON\nhint: run it with sudo\n',
  );
  assert.equal(result.status, 5);
  assert.ok(!loaded(PROGRAM));
});

test('records shorter than the export struct are counted and reported while whole ones still print; SIGTERM detaches', async (t) => {
  if (!ready(t)) return;
  const running = await startEcliFor(t, ['run', '-j', recordsPackage!]);
  try {
    assert.ok(loaded(PROGRAM), 'the program is loaded while ecli runs');
    const ours = (line: string) => (JSON.parse(line) as { comm: string }).comm === trigger!.comm;
    runTrigger();
    const row = JSON.parse(await running.waitForLine(ours)) as { pid: number; seq: number; comm: string };
    assert.equal(row.seq, 1);
    await waitForStderr(
      running,
      /^ecli: skipped \d+ malformed events: event of 4 bytes is too short for struct record: member "seq" needs bytes 4\.\.8; the BPF program must submit whole struct record records \(24 bytes\)$/m,
    );
    // Polling goes on after the malformed records.
    const before = running.lines.filter(ours).length;
    runTrigger();
    await running.waitForLine((line) => ours(line) && running.lines.filter(ours).length > before);
    assert.equal(running.child.exitCode, null);
  } finally {
    assert.equal(await running.stop('SIGTERM'), 0, running.stderr());
  }
  assert.equal(running.stderr().split('\n').filter(isStackFrame).length, 0);
  await waitUntilUnloaded(PROGRAM);
});

test('SIGHUP detaches every program and exits 0', async (t) => {
  if (!ready(t)) return;
  const running = await startEcliFor(t, ['run', recordsPackage!]);
  assert.ok(loaded(PROGRAM));
  assert.equal(await running.stop('SIGHUP'), 0, running.stderr());
  await waitUntilUnloaded(PROGRAM);
});

test('after SIGKILL the programs are gone too (tracepoint links die with the process)', async (t) => {
  if (!ready(t)) return;
  const running = await startEcliFor(t, ['run', recordsPackage!]);
  assert.ok(loaded(PROGRAM));
  assert.equal(await running.stop('SIGKILL'), 'SIGKILL');
  await waitUntilUnloaded(PROGRAM);
});

test('when stdout is closed under it, ecli stops quietly, exit 0, and detaches', async (t) => {
  if (!ready(t)) return;
  const running = await startEcliFor(t, ['run', recordsPackage!]);
  await running.waitForLine((line) => line.startsWith('TIME '));
  running.child.stdout!.destroy();
  const exited = running.exited(15_000);
  // The next write after the reader went away fails with EPIPE.
  const execs = setInterval(runTrigger, 100);
  try {
    assert.equal(await exited, 0, running.stderr());
  } finally {
    clearInterval(execs);
  }
  assert.doesNotMatch(running.stderr(), /error| {4}at /, running.stderr());
  await waitUntilUnloaded(PROGRAM);
});

test('XDP attaches through a BPF link: after SIGKILL nothing is left on lo', async (t) => {
  if (!ready(t)) return;
  const xdpOnLo = () => /\bxdp\b/.test(execFileSync('ip', ['link', 'show', 'lo'], { encoding: 'utf8' }));
  if (xdpOnLo()) {
    skipUnlessCi(t, 'an XDP program is already attached to lo');
    return;
  }
  const running = await startEcliFor(t, ['run', xdpPackage!]);
  assert.ok(xdpOnLo(), `lo shows no xdp while ecli runs:\n${running.stderr()}`);
  assert.equal(await running.stop('SIGKILL'), 'SIGKILL');
  const deadline = Date.now() + 5000;
  while (xdpOnLo() && Date.now() < deadline) await sleep(50);
  assert.ok(!xdpOnLo(), 'the XDP program stayed on lo after SIGKILL');
  await waitUntilUnloaded('xdp_count');
});

test('an uncaught error detaches everything before it is reported: exit 70, no stack trace, no TC filter left', async (t) => {
  if (!ready(t)) return;
  const tcFilters = () => execFileSync('tc', ['filter', 'show', 'dev', 'lo', 'ingress'], { encoding: 'utf8' });
  if (tcFilters() !== '') {
    skipUnlessCi(t, 'lo already has ingress filters');
    return;
  }
  // A TC filter is attached through netlink and outlives its process: only ecli's own
  // teardown removes it. The injected handler throws from the event loop on SIGUSR2.
  const inject = 'data:text/javascript,process.on("SIGUSR2",()=>{throw new Error("injected failure")})';
  const child = spawn(process.execPath, ['--import', inject, join(repoRoot, 'bin/ecli.cjs'), 'run', tcPackage!], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ecli did not attach:\n${stderr}`)), 20_000);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (/attached/.test(stderr)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  assert.match(tcFilters(), /bpf/);
  child.kill('SIGUSR2');
  assert.equal(await exited, 70, stderr);
  assert.match(stderr, /^ecli: internal error: injected failure\nhint: this is a bug; rerun with --debug and report the output\n$/m);
  assert.equal(stderr.split('\n').filter(isStackFrame).length, 0, stderr);
  assert.equal(tcFilters(), '');
});
