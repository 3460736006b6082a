import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSysIncludeDirs, targetArch } from '../../src/compiler/toolchain.js';
import { firstErrorLine } from '../../src/compiler/compile.js';

test('system include directories are read from `clang -v -E -` output', () => {
  const output = [
    'clang version 14.0.6',
    '#include "..." search starts here:',
    '#include <...> search starts here:',
    ' /usr/lib/llvm-14/lib/clang/14.0.6/include',
    ' /usr/local/include',
    ' /usr/include',
    'End of search list.',
    '# 1 "<stdin>"',
  ].join('\n');
  assert.deepEqual(parseSysIncludeDirs(output), ['/usr/lib/llvm-14/lib/clang/14.0.6/include', '/usr/local/include', '/usr/include']);
  assert.deepEqual(parseSysIncludeDirs('no list here'), []);
});

test('the target architecture uses bpf_tracing.h spellings', () => {
  assert.equal(targetArch('x64'), 'x86');
  assert.equal(targetArch('arm64'), 'arm64');
  assert.equal(targetArch('riscv64'), 'riscv');
  assert.equal(targetArch('ppc64'), 'powerpc');
});

test('the first error line of clang output makes the one-line message', () => {
  const stderr = "a.bpf.c:3:1: warning: unused\nx\na.bpf.c:12:5: error: use of undeclared identifier 'y'\n1 error generated.\n";
  assert.equal(firstErrorLine(stderr), "a.bpf.c:12:5: error: use of undeclared identifier 'y'");
  assert.equal(firstErrorLine('  \nonly text\n'), 'only text');
  assert.equal(firstErrorLine(''), 'no diagnostic output');
});
