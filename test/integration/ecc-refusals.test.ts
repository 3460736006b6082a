/**
 * ecc refuses, at compile time and with one clear line, what would otherwise compile and only
 * fail when ecli loads it: calls to undeclared (misspelt) helpers, externs nothing defines, and
 * inputs that are not C sources. Kernel externs (__kconfig, __ksym) still compile.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { eccPath, runTool } from '../helpers/ecli-process.js';
import { haveToolchain, tempDir } from '../helpers/examples.js';
import { repoRoot } from '../helpers/env.js';

const PRELUDE = '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n';
const LICENSE = 'char LICENSE[] SEC("license") = "GPL";\n';

function source(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `${PRELUDE}${body}${LICENSE}`);
  return file;
}

/** The `ecc: error:` line of stderr (exactly one) and ecc's exit status; nothing written. */
function refusal(args: string[], outDir: string): { status: number | null; error: string } {
  const result = runTool(eccPath, [...args, '-o', outDir]);
  const errors = result.stderr.split('\n').filter((l) => l.startsWith('ecc: error: '));
  assert.equal(errors.length, 1, result.stderr);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(existsSync(path.join(outDir, 'package.json')), false, 'no package written');
  return { status: result.status, error: errors[0]! };
}

test('a misspelt helper is a compile error (-Werror=implicit-function-declaration), exit 10', (t) => {
  if (!haveToolchain(t)) return;
  const dir = tempDir(t);
  const file = source(dir, 'typo.bpf.c', 'SEC("tp/syscalls/sys_enter_getppid")\nint handle(void *ctx) { bpf_printkk("x"); return 0; }\n');
  const { status, error } = refusal([file], dir);
  assert.equal(status, 10);
  // clang 14 says "implicit declaration of function", clang 19 "call to undeclared function".
  assert.match(error, /^ecc: error: clang failed: .*typo\.bpf\.c:4:\d+: error: (?:implicit declaration of|call to undeclared) function 'bpf_printkk'/);
});

test('-a -Wno-error=implicit-function-declaration turns the refusal back into a warning', (t) => {
  if (!haveToolchain(t)) return;
  const dir = tempDir(t);
  // The call goes to an extern nothing defines, so the extern check refuses the object instead.
  const file = source(dir, 'typo.bpf.c', 'SEC("tp/syscalls/sys_enter_getppid")\nint handle(void *ctx) { bpf_printkk("x"); return 0; }\n');
  const { status, error } = refusal([file, '-a', '-Wno-error=implicit-function-declaration'], dir);
  assert.equal(status, 10);
  assert.match(error, /unresolved extern symbol bpf_printkk \(function\)/);
});

test('externs that nothing defines are refused, naming each; __kconfig and __ksym externs compile', (t) => {
  if (!haveToolchain(t)) return;
  const dir = tempDir(t);
  const bad = source(
    dir,
    'ext.bpf.c',
    'extern int my_helper(int x);\nextern int some_var;\nSEC("tp/syscalls/sys_enter_getppid")\nint handle(void *ctx) { return my_helper(some_var); }\n',
  );
  const { status, error } = refusal([bad], dir);
  assert.equal(status, 10);
  assert.match(
    error,
    /ext\.bpf\.c: unresolved extern symbols (some_var \(variable\), my_helper \(function\)|my_helper \(function\), some_var \(variable\)): declared extern, but nothing defines them/,
  );

  const good = source(
    dir,
    'kext.bpf.c',
    'extern int LINUX_KERNEL_VERSION __kconfig;\nextern const void bpf_prog_active __ksym;\n' +
      'SEC("tp/syscalls/sys_enter_getppid")\nint handle(void *ctx) { bpf_printk("%d %p", LINUX_KERNEL_VERSION, &bpf_prog_active); return 0; }\n',
  );
  const result = runTool(eccPath, [good, '-o', dir]);
  assert.equal(result.status, 0, result.stderr);
});

test('inputs that are not C sources are refused before clang runs, exit 2', (t) => {
  if (!haveToolchain(t)) return;
  const dir = tempDir(t);
  const script = path.join(dir, 'prog.py');
  writeFileSync(script, 'print("hello")\n');
  let { status, error } = refusal([script], dir);
  assert.equal(status, 2);
  assert.equal(error, `ecc: error: source ${script} is not a C source: its name does not end in .c`);

  // An object file renamed to .c (binary: NUL bytes).
  const object = path.join(dir, 'object.bpf.c');
  copyFileSync(process.execPath, object);
  ({ status, error } = refusal([object], dir));
  assert.equal(status, 2);
  assert.match(error, /object\.bpf\.c is not C text: it holds NUL bytes/);

  const example = path.join(repoRoot, 'examples/execsnoop/execsnoop.bpf.c');
  ({ status, error } = refusal([example, script], dir));
  assert.equal(status, 2);
  assert.equal(error, `ecc: error: header ${script} is not a C header: its name does not end in .h`);
});
