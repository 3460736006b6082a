/**
 * A package whose own global is named `verbose` (the tutorial's `const volatile bool verbose`):
 * after the package, --verbose is the package's option and sets the global; ecli's own
 * --verbose (libbpf's messages) goes before the package.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { haveRoot } from '../helpers/env.js';
import { startEcliFor, stopAndCheckUnloaded } from '../helpers/ecli-checks.js';
import { eccCompile, ecliPath, runTool } from '../helpers/ecli-process.js';
import { haveToolchain, jsonLine, tempDir } from '../helpers/examples.js';

const HEADER = `#ifndef __VERBOSE_H
#define __VERBOSE_H
struct call {
	int pid;
	bool verbose;
};
#endif
`;

const SOURCE = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "verbose.h"

/// @description "Report the value of verbose in every event"
const volatile bool verbose = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} calls SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	struct call *c = bpf_ringbuf_reserve(&calls, sizeof(*c), 0);

	if (!c)
		return 0;
	c->pid = bpf_get_current_pid_tgid() >> 32;
	c->verbose = verbose;
	bpf_ringbuf_submit(c, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
`;

function compileVerbosePackage(t: TestContext): string {
  const dir = tempDir(t, 'ecli-verbose-');
  writeFileSync(path.join(dir, 'verbose.h'), HEADER);
  writeFileSync(path.join(dir, 'verbose.bpf.c'), SOURCE);
  return eccCompile(path.join(dir, 'verbose.bpf.c'), path.join(dir, 'verbose.h'), dir);
}

/** The `verbose` member of the first event from this process (node's process.ppid calls getppid). */
async function verboseSeen(t: TestContext, args: string[]): Promise<{ verbose: unknown; stderr: string }> {
  const ecli = await startEcliFor(t, args);
  const timer = setInterval(() => process.ppid, 50);
  try {
    const row = JSON.parse(
      await ecli.waitForLine(
        jsonLine((r) => r.pid === process.pid),
        5000,
      ),
    );
    await stopAndCheckUnloaded(ecli, 'SIGINT', ['on_getppid']);
    return { verbose: row.verbose, stderr: ecli.stderr() };
  } finally {
    clearInterval(timer);
  }
}

test("a package's own --verbose sets its global; ecli's --verbose before the package shows libbpf's messages", async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const packagePath = compileVerbosePackage(t);

  const own = await verboseSeen(t, ['run', '-j', packagePath, '--verbose']);
  assert.equal(own.verbose, true);
  assert.doesNotMatch(own.stderr, /^libbpf: /m, "the package's --verbose is not ecli's");

  const ecliVerbose = await verboseSeen(t, ['--verbose', 'run', '-j', packagePath]);
  assert.equal(ecliVerbose.verbose, false);
  assert.match(ecliVerbose.stderr, /^libbpf: /m);

  const help = runTool(ecliPath, ['run', packagePath, '--help']);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^ {6}--verbose +Report the value of verbose in every event \[default: false\]$/m);
  assert.match(help.stdout, /^--verbose is verbose_bpf's own option; ecli's \(libbpf messages\) goes before the package: ecli --verbose run <package>$/m);
  assert.match(help.stdout, /^ {2}-h, --help +Print help$/m);
});
