import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runEccPipeline } from '../../src/compiler/ecc.js';
import { TOOL_VERSION } from '../../src/version.js';
import { findExecutable } from '../../src/compiler/process.js';
import { KERNEL_BTF_PATH } from '../../src/btf/kernel-btf-path.js';
import { decodeBpfObject, stableStringify } from '../../src/package/codec.js';
import { validatePackage } from '../../src/package/validate.js';
import { repoRoot, skipUnlessCi } from '../helpers/env.js';

const eccCli = path.join(repoRoot, 'bin/ecc.cjs');
const execsnoop = path.join(repoRoot, 'examples/execsnoop');

function haveToolchain(t: TestContext): boolean {
  const missing = ['clang', 'llvm-strip', 'bpftool'].filter((tool) => !findExecutable([tool, `${tool}-14`]));
  if (!existsSync(KERNEL_BTF_PATH)) missing.push(KERNEL_BTF_PATH);
  if (missing.length === 0) return true;
  skipUnlessCi(t, `ecc needs ${missing.join(', ')}`);
  return false;
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ecc-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function runCli(args: string[]): { status: number | null; stderr: string } {
  const run = spawnSync(process.execPath, [eccCli, ...args], { encoding: 'utf8' });
  return { status: run.status, stderr: run.stderr };
}

test('execsnoop compiles into a package with the reference shape', async (t) => {
  if (!haveToolchain(t)) return;
  const out = tempDir(t);
  const result = await runEccPipeline({ source: path.join(execsnoop, 'execsnoop.bpf.c'), header: path.join(execsnoop, 'execsnoop.h'), outputDir: out });
  assert.deepEqual(
    [result.objectPath, result.skeletonPath, result.packagePath],
    ['execsnoop.bpf.o', 'execsnoop.skel.json', 'package.json'].map((f) => path.join(out, f)),
  );

  const text = readFileSync(path.join(out, 'package.json'), 'utf8');
  const json: unknown = JSON.parse(text);
  assert.equal(text, stableStringify(json), 'compact, keys sorted at every level');
  const pkg = validatePackage(json, 'package.json');
  assert.deepEqual(decodeBpfObject(pkg, 'package.json'), new Uint8Array(readFileSync(result.objectPath)));
  assert.equal(readFileSync(result.skeletonPath, 'utf8'), stableStringify(pkg.meta));

  const skel = pkg.meta.bpf_skel;
  assert.equal(skel.obj_name, 'execsnoop_bpf');
  assert.deepEqual(skel.maps[0], { name: 'events', ident: 'events' });
  assert.deepEqual(
    skel.maps.slice(1).map((m) => m.ident),
    ['bss'],
  );
  assert.deepEqual(skel.progs, [{ name: 'tracepoint_syscalls_sys_enter_execve', attach: 'tracepoint/syscalls/sys_enter_execve', link: true }]);
  assert.deepEqual(skel.data_sections, [{ name: '.bss', variables: [{ name: '__eunomia_dummy_event_ptr', type: 'struct event *' }] }]);
  assert.equal(pkg.meta.eunomia_version, '0.3.4');
  assert.equal(pkg.meta.built_by, `ecli-ts ${TOOL_VERSION}`, 'our ecc names itself: eunomia_version alone says the reference built it');

  const [event] = pkg.meta.export_types;
  assert.equal(event!.name, 'event');
  assert.equal(event!.size, 36);
  assert.deepEqual(
    event!.members.map((m) => [m.name, m.type, m.offset]),
    [
      ['pid', 'int', 0],
      ['ppid', 'int', 4],
      ['uid', 'int', 8],
      ['retval', 'int', 12],
      ['is_exit', 'bool', 16],
      ['comm', 'char[16]', 17],
    ],
  );
});

const documented = `#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

/// Process ID to trace
/// @cmdarg {"default": 0, "short": "p", "long": "pid"}
const volatile int target_pid = 0;

/// @description Only report events slower than this
const volatile unsigned long long min_ns = 0;

/// @sample {"interval": 1000, "type": "log2_hist"}
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, u32);
    __type(value, u64);
} hists SEC(".maps");

/// @ifindex 1
/// @flags 0
SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
    u32 key = target_pid;
    u64 *value = bpf_map_lookup_elem(&hists, &key);
    return value && *value > min_ns ? XDP_PASS : XDP_PASS;
}

/// @brief Counts packets
/// @version 1.2.3
char LICENSE[] SEC("license") = "GPL";
`;

test('the ecc command turns doc comments into meta keys', (t) => {
  if (!haveToolchain(t)) return;
  const dir = tempDir(t);
  const source = path.join(dir, 'doc.bpf.c');
  writeFileSync(source, documented);
  const run = runCli([source, '-n']);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /^INFO Compiling bpf object\.\.\.$/m);
  assert.equal(existsSync(path.join(dir, 'package.json')), false, '-n writes no package.json');

  const meta = JSON.parse(readFileSync(path.join(dir, 'doc.skel.json'), 'utf8'));
  const skel = meta.bpf_skel;
  assert.deepEqual(skel.data_sections, [
    {
      name: '.rodata',
      variables: [
        { name: 'target_pid', type: 'int', description: 'Process ID to trace', cmdarg: { default: 0, short: 'p', long: 'pid' } },
        { name: 'min_ns', type: 'unsigned long long', description: 'Only report events slower than this' },
      ],
    },
  ]);
  assert.deepEqual(skel.maps, [
    { name: 'hists', ident: 'hists', sample: { interval: 1000, type: 'log2_hist' } },
    { name: 'doc_bpf.rodata', ident: 'rodata', mmaped: true },
  ]);
  assert.deepEqual(skel.progs, [{ name: 'xdp_pass', attach: 'xdp', link: true, ifindex: 1, flags: 0 }]);
  assert.deepEqual(skel.doc, { brief: 'Counts packets', version: '1.2.3' });
  assert.equal(meta.export_types, undefined, 'no header, no export_types');
});

test('compile errors name the source line and exit with COMPILE_FAILED', (t) => {
  if (!haveToolchain(t)) return;
  const dir = tempDir(t);
  const source = path.join(dir, 'bad.bpf.c');
  writeFileSync(source, '#include <vmlinux.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int f(struct xdp_md *c) { return nope; }\n');
  const run = runCli([source]);
  assert.equal(run.status, 10);
  assert.match(
    run.stderr,
    new RegExp(`^ecc: error: clang failed: ${source.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:45: error: use of undeclared identifier 'nope'`, 'm'),
  );
  assert.equal(existsSync(path.join(dir, 'bad.bpf.o')), false, 'no output on failure');
});

test('a header the source does not include is refused with a hint', (t) => {
  if (!haveToolchain(t)) return;
  const dir = tempDir(t);
  writeFileSync(path.join(dir, 'ev.h'), 'struct ev { int a; };\n');
  writeFileSync(path.join(dir, 'p.bpf.c'), '#include <vmlinux.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int f(struct xdp_md *c) { return 2; }\n');
  const run = runCli([path.join(dir, 'p.bpf.c'), path.join(dir, 'ev.h')]);
  assert.equal(run.status, 10);
  assert.match(run.stderr, /^hint: add #include "ev.h" to /m);
});

test('--header-only compiles a header into a BTF-only package', (t) => {
  if (!haveToolchain(t)) return;
  const dir = tempDir(t);
  const header = path.join(dir, 'prog.h');
  writeFileSync(header, 'struct S {\n    __int128_t a;\n    __uint128_t b;\n};\n');
  const run = runCli(['--header-only', header]);
  assert.equal(run.status, 0, run.stderr);
  const pkg = validatePackage(JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')), 'package.json');
  assert.equal(pkg.meta.bpf_skel.obj_name, 'prog_bpf');
  assert.deepEqual(pkg.meta.bpf_skel.progs, []);
  assert.deepEqual(pkg.meta.bpf_skel.maps, [{ name: 'prog_bpf.bss', ident: 'bss', mmaped: true }]);
  assert.deepEqual(
    pkg.meta.export_types.map((s) => [s.name, s.size, s.members.map((m) => m.type)]),
    [['S', 32, ['__int128_t', '__uint128_t']]],
  );
});

/**
 * Map and program names, in order, from the C skeleton of the system bpftool (libbpf's view).
 * bpftool 7.1 writes `s->maps[0].name = "x"`; 7.5 writes `map = (...)((char *)s->maps + 0 *
 * s->map_skel_sz);` and then `map->name = "x"`.
 */
function bpftoolSkeletonNames(bpftool: string, object: string, objName: string): { maps: string[]; progs: string[] } {
  const run = spawnSync(bpftool, ['gen', 'skeleton', object, 'name', objName], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const names = (kind: string, element: string) =>
    [...run.stdout.matchAll(new RegExp(`s->${kind}(?:\\[\\d+\\]\\.|\\s*\\+\\s*\\d+\\s*\\*\\s*s->\\w+\\);\\s*${element}->)name = "([^"]*)"`, 'g'))].map(
      (m) => m[1]!,
    );
  return { maps: names('maps', 'map'), progs: names('progs', 'prog') };
}

test('map and program order of every example matches the system bpftool skeleton', async (t) => {
  if (!haveToolchain(t)) return;
  const bpftool = findExecutable(['bpftool'])!;
  const examples = readdirSync(path.join(repoRoot, 'examples')).filter((e) => existsSync(path.join(repoRoot, 'examples', e, `${e}.bpf.c`)));
  assert.ok(examples.length > 0, 'no examples/<name>/<name>.bpf.c found');
  const out = tempDir(t);
  for (const example of examples) {
    const dir = path.join(repoRoot, 'examples', example);
    const header = path.join(dir, `${example}.h`);
    const result = await runEccPipeline({
      source: path.join(dir, `${example}.bpf.c`),
      ...(existsSync(header) ? { header } : {}),
      outputDir: path.join(out, example),
      generatePackage: false,
    });
    const skel = result.meta.bpf_skel;
    const reference = bpftoolSkeletonNames(bpftool, result.objectPath, skel.obj_name);
    assert.deepEqual({ maps: skel.maps.map((m) => m.name), progs: skel.progs.map((p) => p.name) }, reference, example);
  }
});
