/**
 * The examples that need a kernel feature some kernels lack: fentry/fexit (BPF trampolines) and
 * kprobe/kretprobe (CONFIG_KPROBES). The tests probe the kernel the way the loader does: where
 * the feature is missing, `ecli run` must refuse with one clear line; where it is there, the
 * example must trace a file deletion. Likewise a helper the kernel lockdown forbids.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureTracefs, hasKprobes, lockdownLevel, probeTrampolines } from '../../src/loader/probe.js';
import { haveRoot, skipUnlessCi } from '../helpers/env.js';
import { startEcliFor, stopAndCheckUnloaded, watchProgramNames } from '../helpers/ecli-checks.js';
import { eccCompile, ecliPath, runTool } from '../helpers/ecli-process.js';
import { compileExample, haveToolchain, jsonLine, tempDir, uniqueToken } from '../helpers/examples.js';

const KERNEL_UNSUPPORTED_EXIT = 6;

/** `ecli run <package>` fails with exactly one error line matching every pattern, and loads nothing. */
async function assertRefused(packagePath: string, programNames: string[], patterns: RegExp[]): Promise<void> {
  const programs = watchProgramNames(programNames);
  const run = runTool(ecliPath, ['run', packagePath]);
  assert.equal(run.status, KERNEL_UNSUPPORTED_EXIT, run.stderr);
  assert.equal(run.stdout, '');
  const errors = run.stderr.split('\n').filter((l) => l.startsWith('ecli: error: '));
  assert.equal(errors.length, 1, run.stderr);
  for (const pattern of patterns) assert.match(errors[0]!, pattern);
  assert.doesNotMatch(run.stderr, /ulimit|RLIMIT_MEMLOCK/i, 'no memlock advice');
  assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(run.stderr, /internal error/);
  await programs.assertNoneAdded();
}

/** A file in a fresh folder with a name short enough for the examples' 64-byte filename field. */
function doomedFile(t: TestContext): string {
  const file = path.join(tempDir(t, 'ecli-rm-'), `gone-${uniqueToken()}`);
  writeFileSync(file, '');
  return file;
}

test('fentry is refused with one clear line where trampolines are closed, and traces unlinks where they are open', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  ensureTracefs();
  const trampolines = probeTrampolines();
  if (trampolines === 'unknown') {
    skipUnlessCi(t, 'cannot tell whether this kernel allows BPF trampolines (tracefs unavailable)');
    return;
  }
  const example = compileExample(t, 'fentry');
  if (trampolines === 'refused') {
    await assertRefused(example.packagePath, example.programNames, [/program do_unlinkat /, /\(fentry\/do_unlinkat\)/, /trampolines/]);
    return;
  }

  const ecli = await startEcliFor(t, ['run', '-j', example.packagePath]);
  const file = doomedFile(t);
  unlinkSync(file);
  const entry = JSON.parse(await ecli.waitForLine(jsonLine((r) => r.filename === file && r.is_exit === 0)));
  assert.equal(entry.pid, process.pid);
  const exit = JSON.parse(await ecli.waitForLine(jsonLine((r) => r.filename === file && r.is_exit === 1)));
  assert.deepEqual({ pid: exit.pid, ret: exit.ret }, { pid: process.pid, ret: 0 });
  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});

test('kprobe is refused with one clear line without CONFIG_KPROBES, and traces unlinks with it', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  ensureTracefs();
  const example = compileExample(t, 'kprobe');
  if (!hasKprobes()) {
    await assertRefused(example.packagePath, example.programNames, [/program do_unlinkat /, /\(kprobe\/do_unlinkat\)/, /no kprobe support/]);
    return;
  }

  const ecli = await startEcliFor(t, ['run', '--trace-pipe', example.packagePath]);
  const file = doomedFile(t);
  unlinkSync(file);
  await ecli.waitForLine((l) => l.includes(`KPROBE ENTRY pid = ${process.pid}, filename = ${file}`));
  await ecli.waitForLine((l) => l.includes(`KPROBE EXIT: pid = ${process.pid}, ret = 0`));
  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});

const WRITE_USER_SOURCE = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
SEC("tp/syscalls/sys_enter_getppid")
int write_user(void *ctx)
{
	long value = 0;
	bpf_probe_write_user((void *)0x1000, &value, sizeof(value));
	return 0;
}
char LICENSE[] SEC("license") = "GPL";
`;

test('bpf_probe_write_user in a tracepoint program is refused with the lockdown level where lockdown forbids it', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const lockdown = lockdownLevel();
  if (lockdown === undefined) {
    skipUnlessCi(t, 'cannot read the kernel lockdown level');
    return;
  }
  const dir = tempDir(t, 'ecli-write-user-');
  writeFileSync(path.join(dir, 'write_user.bpf.c'), WRITE_USER_SOURCE);
  const packagePath = eccCompile(path.join(dir, 'write_user.bpf.c'), undefined, dir);
  if (lockdown !== 'none') {
    await assertRefused(
      packagePath,
      ['write_user'],
      [
        /^ecli: error: program write_user \(tp\/syscalls\/sys_enter_getppid\): this kernel refuses the helper bpf_probe_write_user: /,
        new RegExp(`its lockdown is "${lockdown}"`),
      ],
    );
    return;
  }
  const ecli = await startEcliFor(t, ['run', packagePath]);
  await stopAndCheckUnloaded(ecli, 'SIGINT', ['write_user']);
});
