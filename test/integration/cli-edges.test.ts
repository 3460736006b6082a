/**
 * CLI edges through ./ecli on packages ./ecc compiles: option initial values in --help and
 * inspect, the package's -V, ecli's options after `run` (before the package) and after the
 * package, did-you-mean for commands, inspect's XDP/TC targets.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { haveRoot } from '../helpers/env.js';
import { startEcliFor, stopAndCheckUnloaded } from '../helpers/ecli-checks.js';
import { eccCompile, ecliPath, runTool } from '../helpers/ecli-process.js';
import { compileExample, haveToolchain, tempDir } from '../helpers/examples.js';

const SOURCE = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/// @description "Only report calls slower than this"
const volatile unsigned long long min_ns = 250000;
/// @description "Name to look for"
const volatile char needle[8] = "abc";
/// @description "Also report failures"
const volatile bool with_failures = true;
/// @cmdarg {"default": 7, "long": "limit"}
const volatile int limit_value = 3;

SEC("tp/syscalls/sys_enter_getppid")
int handle(void *ctx)
{
	if (min_ns == 1 && needle[0] == 'x' && with_failures && limit_value)
		bpf_printk("never");
	return 0;
}

/// @brief Options with initial values
/// @version 1.2.3
char LICENSE[] SEC("license") = "GPL";
`;

function compileOptions(t: TestContext): string {
  const dir = tempDir(t, 'ecli-cli-edges-');
  writeFileSync(path.join(dir, 'options.bpf.c'), SOURCE);
  return eccCompile(path.join(dir, 'options.bpf.c'), undefined, dir);
}

test("--help and inspect show each option's default: the @cmdarg default, else the object's initial value", (t) => {
  if (!haveToolchain(t)) return;
  const pkg = compileOptions(t);
  const help = runTool(ecliPath, ['run', pkg, '--help']);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /--min_ns <min_ns> +Only report calls slower than this \[default: 250000\]$/m);
  assert.match(help.stdout, /--needle <needle> +Name to look for \[default: "abc"\]$/m);
  assert.match(help.stdout, /--with_failures +Also report failures \[default: true\]$/m);
  assert.match(help.stdout, /--limit <limit_value> +Set value of `int` variable limit_value \[default: 7\]$/m);

  const inspect = runTool(ecliPath, ['inspect', pkg]);
  assert.equal(inspect.status, 0, inspect.stderr);
  const rows = inspect.stdout
    .split('\n')
    .filter((l) => l.startsWith('│ --'))
    .map((l) =>
      l
        .split('│')
        .slice(1, 6)
        .map((c) => c.trim()),
    );
  assert.deepEqual(rows, [
    ['--min_ns', '.rodata', 'unsigned long long', '250000', '250000'],
    ['--needle', '.rodata', 'char[8]', '"abc"', '"abc"'],
    ['--with_failures', '.rodata', 'bool', 'true', 'true'],
    ['--limit', '.rodata', 'int', '7', '3'],
  ]);
  const json = JSON.parse(runTool(ecliPath, ['inspect', '--json', pkg]).stdout) as { options: { variable: string; default?: string; initial?: string }[] };
  assert.deepEqual(
    json.options.map((o) => [o.variable, o.default, o.initial]),
    [
      ['min_ns', '250000', '250000'],
      ['needle', '"abc"', '"abc"'],
      ['with_failures', 'true', 'true'],
      ['limit_value', '7', '3'],
    ],
  );
});

test("the package's -V prints its own name and version", (t) => {
  if (!haveToolchain(t)) return;
  const version = runTool(ecliPath, ['run', compileOptions(t), '-V']);
  assert.deepEqual([version.status, version.stdout], [0, 'options_bpf 1.2.3\n']);
});

test("ecli's options after the package: the package has no such option, ecli's goes before it; exit 2, nothing loaded", (t) => {
  if (!haveToolchain(t)) return;
  const pkg = compileOptions(t);
  for (const option of ['-j', '--fields', '--debug']) {
    const result = runTool(ecliPath, ['run', pkg, option, ...(option === '--fields' ? ['pid'] : [])]);
    assert.equal(result.status, 2, result.stderr);
    assert.match(
      result.stderr.split('\n')[0]!,
      new RegExp(`^ecli: error: package options_bpf has no option ${option} \\(its options: .*\\); ecli's own ${option} goes before the package$`),
    );
  }
});

test('ecli -v and --debug work between run and the package', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const pkg = compileOptions(t);
  const ecli = await startEcliFor(t, ['run', '-v', '--debug', '-j', pkg]);
  await stopAndCheckUnloaded(ecli, 'SIGINT', ['handle']);
  assert.match(ecli.stderr(), /^libbpf: /m, '-v after run shows libbpf messages');
  const failing = runTool(ecliPath, ['run', '--debug', pkg, '--no-such-option']);
  assert.equal(failing.status, 2);
  assert.match(failing.stderr, /\n\s+at /, '--debug after run adds the stack trace');
});

test('a mistyped command gets did-you-mean, exit 2; mistyped options too', (t) => {
  if (!haveToolchain(t)) return;
  const pkg = compileOptions(t);
  const mistyped = runTool(ecliPath, ['runn', pkg]);
  assert.equal(mistyped.status, 2);
  assert.equal(mistyped.stderr.split('\n')[0], 'ecli: error: unknown command runn (did you mean run?)');
  assert.match(runTool(ecliPath, ['inspekt', pkg]).stderr, /^ecli: error: unknown command inspekt \(did you mean inspect\?\)$/m);
  assert.match(runTool(ecliPath, ['run', '--jsn', pkg]).stderr, /^ecli: error: unknown option --jsn for ecli run \(did you mean --json\?\)/m);
  assert.match(
    runTool(ecliPath, ['run', pkg, '--min_sn', '5']).stderr,
    /^ecli: error: unknown option --min_sn for package options_bpf \(did you mean --min_ns\?\)/m,
  );
  assert.match(runTool(ecliPath, ['--versoin']).stderr, /^ecli: error: unknown option '--versoin' \(Did you mean --version\?\)$/m, 'one line');
});

test('inspect shows the interface and attach mode of XDP and TC programs', (t) => {
  if (!haveToolchain(t)) return;
  const target = (example: string) => {
    const result = runTool(ecliPath, ['inspect', '--json', compileExample(t, example).packagePath]);
    assert.equal(result.status, 0, result.stderr);
    return (JSON.parse(result.stdout) as { programs: { target: string }[] }).programs.map((p) => p.target);
  };
  assert.deepEqual(target('xdp'), ['lo (ifindex 1), BPF link']);
  assert.deepEqual(target('tc'), ['lo (ifindex 1) ingress, netlink filter, handle 1, priority 1']);
  assert.deepEqual(target('tcx'), ['lo ingress, TCX link (netlink filter on kernels without TCX)']);
});
