/**
 * The one-line summary of a verifier rejection, on logs recorded from the real kernel
 * (test/unit/fixtures/verifier-logs/README.md): the verifier's own reason, not a state dump or a
 * follow-up line, and the C line it concerns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { diagnoseLoadFailure, type LoadFacts } from '../../src/loader/diagnose.js';
import { summarizeVerifierLog } from '../../src/loader/verifier-log.js';
import { repoRoot } from '../helpers/env.js';

const recorded = (name: string) => readFileSync(path.join(repoRoot, 'test/unit/fixtures/verifier-logs', `${name}.log`), 'utf8');

/** The summary as the error message shows it: the reason, then ` at <file>:<line> \`code\``. */
function shown(log: string): string {
  const { line, source } = summarizeVerifierLog(log);
  return source === undefined ? line : `${line} at ${source.location ?? '?'} \`${source.code}\``;
}

test("an infinite loop is summarised by the verifier's reason and the loop's line, not by the state dumped after it", () => {
  assert.equal(shown(recorded('infinite-loop')), 'infinite loop detected at insn 2 at infinite_loop.bpf.c:7 `if (i < 0)`');
});

test('a leaked reference points at the line that took it', () => {
  assert.equal(
    shown(recorded('reference-leak')),
    'Unreleased reference id=2 alloc_insn=4 at leak.bpf.c:10 `struct event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);`',
  );
});

test('an access past a map value is summarised by the first reason line, not its follow-up', () => {
  assert.equal(shown(recorded('map-value-out-of-range')), 'invalid access to map value, value_size=8 off=8 size=8 at oob.bpf.c:15 `return v[1];`');
});

test('unreachable code and a program too large to verify', () => {
  assert.deepEqual(summarizeVerifierLog(recorded('unreachable')), { line: 'unreachable insn 2', source: undefined, lines: 2 });
  assert.equal(shown(recorded('too-large')), 'BPF program is too large. Processed 1000001 insn at bounded.bpf.c:8 `sum += i * bpf_get_prandom_u32();`');
});

test('the reasons that already were the last line stay as they were', () => {
  assert.equal(shown(recorded('null-check')), "R0 invalid mem access 'map_value_or_null' at nullcheck.bpf.c:13 `*value += 1;`");
  assert.equal(
    shown(recorded('unbounded-access')),
    'R7 unbounded memory access, make sure to bounds check any such access at unbounded.bpf.c:16 `return buf[i];`',
  );
  assert.match(shown(recorded('helper-argument')), /^R2 type=scalar expected=fp, .* at badarg\.bpf\.c:11 `u64 \*v = bpf_map_lookup_elem/);
});

test('a back-edge, which check_cfg reports before any instruction is traced (kernels without bounded loops, or unprivileged loads)', () => {
  // The kernel's wording (kernel/bpf/verifier.c), after the BTF note every log here starts with.
  const log = "arg#0 reference type('UNKNOWN ') size cannot be determined: -22\nback-edge from insn 17 to 8\nprocessed 0 insns (limit 1000000)\n";
  assert.deepEqual(summarizeVerifierLog(log), { line: 'back-edge from insn 17 to 8', source: undefined, lines: 3 });
});

test('a reason the list does not know is the first line after the trace, not a note before it', () => {
  const log = [
    "arg#0 reference type('UNKNOWN ') size cannot be determined: -22",
    '0: R1=ctx() R10=fp0',
    '; return helper(ctx); @ x.bpf.c:9',
    '3: (85) call pc+2',
    'some new refusal the kernel learnt',
    'cur state: R1=ctx()',
    'processed 4 insns (limit 1000000)',
  ].join('\n');
  assert.equal(shown(log), 'some new refusal the kernel learnt at x.bpf.c:9 `return helper(ctx);`');
  assert.equal(shown("arg#0 reference type('UNKNOWN ') size cannot be determined: -22\nwhatever went wrong\n"), 'whatever went wrong');
});

test("with --verbose, which printed libbpf's messages as they came, the error does not repeat the log", () => {
  const log = recorded('null-check');
  const warnings = [
    "libbpf: prog 'count_unchecked': BPF program load failed: Permission denied",
    `libbpf: prog 'count_unchecked': -- BEGIN PROG LOAD LOG --\n${log}-- END PROG LOAD LOG --`,
  ];
  const facts: LoadFacts = {
    capabilities: () => ({ euid: 0, effective: 0x1ffffffffffn }),
    trampolines: () => 'allowed',
    bpfLsm: () => undefined,
    lockdown: () => 'none',
  };
  const failure = (printed: boolean) =>
    diagnoseLoadFailure(
      {
        objectName: 'nullcheck_bpf',
        error: -13,
        warnings,
        programs: [{ name: 'count_unchecked', sectionName: 'tp/syscalls/sys_enter_getppid', kind: 'tracepoint' }],
        maps: [],
        printed,
      },
      facts,
    );
  const quiet = failure(false);
  assert.equal(quiet.detail, log);
  assert.equal(quiet.hint, "fix the program and recompile it; rerun with --verbose for the verifier's full log (16 lines)");
  const verbose = failure(true);
  assert.equal(verbose.message, quiet.message);
  assert.equal(verbose.detail, undefined);
  assert.equal(verbose.hint, "fix the program and recompile it; the verifier's full log (16 lines) is above");
});
