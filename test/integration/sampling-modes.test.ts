/**
 * A sampled HASH map in `linear_hist` mode with `min`/`step` and `clear_map` (docs/eunomia-spec.md §3.5 and
 * our per-interval clearing), with real BPF: a tracepoint counts the getppid calls of one
 * process into `struct hist {__u32 slots[16];}`, its n-th call (from 0) in slot n % 16.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { jsonOf, startEcliFor, stopAndCheckUnloaded } from '../helpers/ecli-checks.js';
import { eccCompile, runTool, type RunningEcli } from '../helpers/ecli-process.js';
import { haveRoot } from '../helpers/env.js';
import { haveCommands, haveToolchain, sleep, startHelper, tempDir, type Helper } from '../helpers/examples.js';

const INTERVAL_MS = 500;

/** In a header so that export_types names the value's members (else the columns are nameless). */
const HEADER = `struct hist {
  __u32 slots[16];
};
`;

const SOURCE = `#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include "sm.h"

/// Process whose getppid calls are counted
const volatile int target_pid = 0;

static __u32 calls;

/// @sample {"interval": ${INTERVAL_MS}, "type": "linear_hist", "min": 0, "step": 1, "clear_map": true}
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct hist);
} hists SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
  static const struct hist zero;
  __u32 key = 0;
  if ((int)(bpf_get_current_pid_tgid() >> 32) != target_pid)
    return 0;
  struct hist *h = bpf_map_lookup_elem(&hists, &key);
  if (!h) {
    bpf_map_update_elem(&hists, &key, &zero, BPF_NOEXIST);
    h = bpf_map_lookup_elem(&hists, &key);
    if (!h)
      return 0;
  }
  /* calls is not in the sampled map, so it keeps counting across clears. */
  __sync_fetch_and_add(&h->slots[calls & 15], 1);
  calls++;
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
`;

/** For each number read on stdin, that many getppid syscalls, then "ok". */
const CALLER = `#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void)
{
  int n;
  while (scanf("%d", &n) == 1) {
    for (int i = 0; i < n; i++) syscall(SYS_getppid);
    printf("ok\\n");
    fflush(stdout);
  }
  return 0;
}
`;

/** Each interval starts with its time; the map's only entry has key 0, a placeholder, so no key line follows. */
const isTimeLine = (line: string | undefined): boolean => /^\d\d:\d\d:\d\d$/.test(line ?? '');
const HEADING = `${' '.repeat(5)}${'(unit)'.padEnd(19)} : count    distribution`;
const ROW = /^ *(\d+) -> (\d+) +: (\d+) +\|(\**) *\|$/;

interface Prepared {
  packagePath: string;
  caller: string;
}

function prepare(t: TestContext): Prepared {
  const dir = tempDir(t, 'ecli-sampling-');
  writeFileSync(path.join(dir, 'sm.h'), HEADER);
  writeFileSync(path.join(dir, 'sm.bpf.c'), SOURCE);
  writeFileSync(path.join(dir, 'caller.c'), CALLER);
  const out = path.join(dir, 'out');
  const packagePath = eccCompile(path.join(dir, 'sm.bpf.c'), path.join(dir, 'sm.h'), out);
  const caller = path.join(dir, 'caller');
  const cc = runTool('cc', ['-O2', '-o', caller, path.join(dir, 'caller.c')]);
  assert.equal(cc.status, 0, `cc failed:\n${cc.stderr}`);
  return { packagePath, caller };
}

/** Makes the caller do `n` getppid calls and waits until it says it did. */
async function callGetppid(helper: Helper, n: number): Promise<void> {
  const done = helper.stdout().split('\n').length;
  helper.child.stdin!.write(`${n}\n`);
  const deadline = Date.now() + 5000;
  while (helper.stdout().split('\n').length === done) {
    assert.ok(Date.now() < deadline, 'the caller did not answer');
    await sleep(10);
  }
}

/** The counts of slots 0..15 that `calls` getppid calls numbered from `first` add up to. */
function expectedSlots(first: number, calls: number): number[] {
  const slots = new Array<number>(16).fill(0);
  for (let i = first; i < first + calls; i++) slots[i % 16]!++;
  return slots;
}

/** The complete plain-text histogram blocks of key 0 from line `from` on, as slot counts. */
function textBlocks(lines: string[], from = 0): number[][] {
  const blocks: number[][] = [];
  for (let i = from; i < lines.length; i++) {
    if (!isTimeLine(lines[i])) continue;
    assert.equal(lines[i + 1] ?? '', '', 'a blank line after the time');
    const end = lines.indexOf('', i + 2);
    if (end < 0) break; // not complete yet
    const slots = new Array<number>(16).fill(0);
    const rows = lines.slice(i + 3, end);
    if (end > i + 2) assert.equal(lines[i + 2], HEADING);
    const max = Math.max(...rows.map((r) => Number(ROW.exec(r)?.[3] ?? 0)));
    for (const row of rows) {
      const m = ROW.exec(row);
      assert.ok(m, `a histogram row: ${JSON.stringify(row)}`);
      const [low, high, count, stars] = [Number(m[1]), Number(m[2]), Number(m[3]), m[4]!.length];
      assert.equal(high, low, 'step 1: one value per row');
      assert.equal(stars, Math.floor((count * 40) / max), `stars of ${JSON.stringify(row)}`);
      slots[low] = count;
    }
    blocks.push(slots);
    i = end;
  }
  return blocks;
}

function sumSlots(blocks: number[][]): number[] {
  return blocks.reduce((sum, b) => sum.map((s, i) => s + b[i]!), new Array<number>(16).fill(0));
}

async function startFor(t: TestContext, prepared: Prepared, json: boolean): Promise<{ running: RunningEcli; caller: Helper }> {
  const caller = startHelper(t, prepared.caller, []);
  const running = await startEcliFor(t, ['run', ...(json ? ['-j', '--time', 'none'] : []), prepared.packagePath, '--target_pid', String(caller.pid)]);
  return { running, caller };
}

test('linear_hist with clear_map: each interval shows only the calls made during it', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t) || !haveCommands(t, ['cc'])) return;
  const { running, caller } = await startFor(t, prepare(t), false);

  await callGetppid(caller, 20);
  const first = expectedSlots(0, 20);
  await running.waitForLine(() => sumSlots(textBlocks(running.lines)).join() === first.join(), 5000);
  // Rows run from the first to the last non-zero slot: here all 16, slots 0-3 twice.
  const firstText = textBlocks(running.lines);
  assert.deepEqual(sumSlots(firstText), first);

  // Cleared after printing: with no new calls, no interval prints key 0 again.
  const seen = running.lines.length;
  await sleep(3 * INTERVAL_MS);
  assert.deepEqual(textBlocks(running.lines, seen), [], 'an interval without calls prints nothing');

  await callGetppid(caller, 3);
  const second = expectedSlots(20, 3);
  await running.waitForLine(() => sumSlots(textBlocks(running.lines, seen)).join() === second.join(), 5000);
  assert.deepEqual(second, [0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const secondBlocks = textBlocks(running.lines, seen);
  if (secondBlocks.length === 1) {
    // Not split by an interval boundary: its rows are exactly slots 4 to 6.
    const at = running.lines.length - 1 - [...running.lines].reverse().findIndex(isTimeLine);
    assert.deepEqual(running.lines.slice(at + 1, at + 7), [
      '',
      HEADING,
      `${'4'.padStart(10)} -> ${'4'.padEnd(10)} : 1        |${'*'.repeat(40)}|`,
      `${'5'.padStart(10)} -> ${'5'.padEnd(10)} : 1        |${'*'.repeat(40)}|`,
      `${'6'.padStart(10)} -> ${'6'.padEnd(10)} : 1        |${'*'.repeat(40)}|`,
      '',
    ]);
  }
  await stopAndCheckUnloaded(running);
});

test('linear_hist in JSON: {"buckets":[...],"key":{"__u32":0},"unit":"(unit)","value":{"slots":[...]}} per interval', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t) || !haveCommands(t, ['cc'])) return;
  const { running, caller } = await startFor(t, prepare(t), true);
  await callGetppid(caller, 20);
  const rows = (): number[][] =>
    running.lines.map(jsonOf).flatMap((row) => {
      if (row === undefined) return [];
      assert.deepEqual(Object.keys(row), ['buckets', 'key', 'unit', 'value']);
      assert.equal(row.unit, '(unit)');
      // min 0, step 1: slot i holds exactly the value i.
      const buckets = row.buckets as { low: number; high: number; count: number }[];
      assert.deepEqual(
        buckets.map((b) => [b.low, b.high]),
        Array.from({ length: 16 }, (_, i) => [i, i]),
      );
      assert.deepEqual(
        buckets.map((b) => b.count),
        (row.value as { slots: number[] }).slots,
      );
      // A scalar key is one column named after its type, like the reference's {"u32":...}.
      assert.deepEqual(row.key, { __u32: 0 });
      const value = row.value as { slots: number[] };
      assert.deepEqual(Object.keys(value), ['slots']);
      assert.equal(value.slots.length, 16);
      return [value.slots];
    });
  const expected = expectedSlots(0, 20);
  await running.waitForLine(() => sumSlots(rows()).join() === expected.join(), 5000);
  assert.ok(
    running.lines.every((l) => /^\{"buckets":\[[^\]]*\],"key":\{"__u32":0\},"unit":"\(unit\)","value":\{"slots":\[(\d+,){15}\d+\]\}\}$/.test(l)),
    running.lines.join('\n'),
  );
  await stopAndCheckUnloaded(running);
});
