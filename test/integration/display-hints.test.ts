/**
 * Value display hints end to end: a program whose header marks its members with `/// @display`,
 * compiled by ./ecc and run by ./ecli on real kill() calls. Plain text shows the readable forms;
 * JSON keeps the raw values and adds `<name>_text` twins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { haveRoot } from '../helpers/env.js';
import { parsePlainRow, startEcliFor, stopAndCheckUnloaded } from '../helpers/ecli-checks.js';
import { eccCompile, type RunningEcli } from '../helpers/ecli-process.js';
import { haveToolchain, jsonLine, startHelper, tempDir } from '../helpers/examples.js';

/** A pid that no process has (above the kernel's pid_max limit of 2^22). */
const NO_SUCH_PID = 4194304 + 1000;

const HEADER = `#ifndef HINTS_H
#define HINTS_H
enum kill_flags { KF_NONE = 0, KF_FAILED = 1, KF_PROBE = 2 };

struct event {
	int pid;
	/// @display "hex"
	unsigned int tpid;
	/// @display "signal"
	int sig;
	/// @display "errno"
	int ret;
	/// @display "flags"
	enum kill_flags flags;
	/// @display "duration"
	unsigned long long took;
	/// @display "boot_ns"
	unsigned long long start;
	/// @display "ipv4"
	unsigned int addr;
	/// @display "port"
	unsigned short port;
	/// @display "ipv6"
	unsigned char addr6[16];
};
#endif
`;

const SOURCE = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "hints.h"

struct start { u64 ts; int sig; unsigned int tpid; };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, struct start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_kill")
int kill_entry(struct trace_event_raw_sys_enter *ctx)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct start s = { .ts = bpf_ktime_get_ns(), .sig = (int)ctx->args[1], .tpid = (unsigned int)ctx->args[0] };
	bpf_map_update_elem(&starts, &tid, &s, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_kill")
int kill_exit(struct trace_event_raw_sys_exit *ctx)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct start *s = bpf_map_lookup_elem(&starts, &tid);
	struct event *e;
	if (!s)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		__builtin_memset(e, 0, sizeof(*e));
		e->pid = bpf_get_current_pid_tgid() >> 32;
		e->tpid = s->tpid;
		e->sig = s->sig;
		e->ret = (int)ctx->ret;
		e->flags = (e->ret < 0 ? KF_FAILED : KF_NONE) | (s->sig == 0 ? KF_PROBE : KF_NONE);
		e->start = s->ts;
		e->took = bpf_ktime_get_ns() - s->ts;
		e->addr = bpf_htonl(0x7f000001);
		e->port = bpf_htons(8080);
		e->addr6[15] = 1;
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&starts, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
`;

function compileHints(t: Parameters<typeof tempDir>[0]): { packagePath: string; programNames: string[] } {
  const dir = tempDir(t, 'ecli-hints-');
  writeFileSync(path.join(dir, 'hints.h'), HEADER);
  writeFileSync(path.join(dir, 'hints.bpf.c'), SOURCE);
  const packagePath = eccCompile(path.join(dir, 'hints.bpf.c'), path.join(dir, 'hints.h'), dir);
  return { packagePath, programNames: ['kill_entry', 'kill_exit'] };
}

/** Sends SIGUSR1 to a sleeping helper and signal 0 to a pid that does not exist; returns both pids. */
async function sendSignals(t: Parameters<typeof tempDir>[0]): Promise<{ sender: number; victim: number }> {
  const victim = startHelper(t, 'sleep', ['30'], { stdio: 'ignore' });
  const sender = startHelper(t, process.execPath, ['-e', `process.kill(${victim.pid}, 'SIGUSR1'); try { process.kill(${NO_SUCH_PID}, 0); } catch {}`], {
    stdio: 'ignore',
  });
  assert.equal(await sender.exited, 0);
  assert.equal(await victim.exited, 'SIGUSR1');
  return { sender: sender.pid, victim: victim.pid };
}

test('ecc writes the display hints into export_types', (t) => {
  if (!haveToolchain(t)) return;
  const { packagePath } = compileHints(t);
  const pkg = JSON.parse(readFileSync(packagePath, 'utf8')) as { meta: { export_types: { members: { name: string; display?: string }[] }[] } };
  assert.deepEqual(Object.fromEntries(pkg.meta.export_types[0]!.members.map((m) => [m.name, m.display])), {
    pid: undefined,
    tpid: 'hex',
    sig: 'signal',
    ret: 'errno',
    flags: 'flags',
    took: 'duration',
    start: 'boot_ns',
    addr: 'ipv4',
    port: 'port',
    addr6: 'ipv6',
  });
});

test('plain text shows signal names, -errno names, flag names, durations, wall times, addresses and ports', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const example = compileHints(t);
  const ecli = await startEcliFor(t, ['run', example.packagePath]);
  const before = Date.now();
  const { sender, victim } = await sendSignals(t);
  const header = ecli.lines[0]!;
  assert.match(header, /^TIME {5}PID +TPID +SIG +RET +FLAGS +TOOK +START +ADDR +PORT +ADDR6 *$/);
  const row = (line: string) => parsePlainRow(lastHeader(ecli, line), line).values;
  const delivered = row(await ecli.waitForLine((l) => l.includes(' SIGUSR1 ') && new RegExp(`^\\S+ +${sender} `).test(l)));
  assert.equal(delivered.TPID, `0x${victim.toString(16)}`);
  assert.deepEqual([delivered.RET, delivered.FLAGS, delivered.ADDR, delivered.PORT, delivered.ADDR6], ['0', 'KF_NONE', '127.0.0.1', '8080', '::1']);
  assert.match(delivered.TOOK!, /^\d+(\.\d+)?(ns|us|ms)$/);
  // The kernel's monotonic clock shown as wall time: within the seconds this test ran.
  const [h, m, s] = delivered.START!.split(':').map(Number) as [number, number, number];
  const started = new Date(before);
  started.setHours(h, m, Math.floor(s), (s % 1) * 1000);
  assert.ok(Math.abs(started.getTime() - before) < 10_000, `START ${delivered.START} is near ${new Date(before).toTimeString()}`);

  const failed = row(await ecli.waitForLine((l) => l.includes(' -ESRCH ') && new RegExp(`^\\S+ +${sender} `).test(l)));
  assert.deepEqual([failed.SIG, failed.FLAGS, failed.TPID], ['0', 'KF_FAILED|KF_PROBE', `0x${NO_SUCH_PID.toString(16)}`]);
  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});

test("JSON keeps the raw values and adds each hint's <name>_text", async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const example = compileHints(t);
  const ecli = await startEcliFor(t, ['run', '-j', '--time', 'none', example.packagePath]);
  const { sender } = await sendSignals(t);
  const failed = JSON.parse(await ecli.waitForLine(jsonLine((r) => r.pid === sender && r.ret === -3))) as Record<string, unknown>;
  assert.deepEqual(
    {
      sig: failed.sig,
      sig_text: failed.sig_text,
      ret_text: failed.ret_text,
      flags: failed.flags,
      flags_text: failed.flags_text,
      addr: failed.addr,
      addr_text: failed.addr_text,
      port: failed.port,
      port_text: failed.port_text,
      addr6_text: failed.addr6_text,
    },
    {
      sig: 0,
      sig_text: '0',
      ret_text: '-ESRCH',
      flags: '<UNKNOWN_VARIANT>(3)',
      flags_text: 'KF_FAILED|KF_PROBE',
      addr: 0x0100007f,
      addr_text: '127.0.0.1',
      port: 0x901f,
      port_text: '8080',
      addr6_text: '::1',
    },
  );
  assert.match(String(failed.start_text), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
  assert.equal(typeof failed.start, 'number', 'the raw nanoseconds stay');
  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});

/** The header line printed last before `line` (columns widen and the header is printed again). */
function lastHeader(ecli: RunningEcli, line: string): string {
  const at = ecli.lines.lastIndexOf(line);
  for (let i = at; i >= 0; i--) if (ecli.lines[i]!.startsWith('TIME ')) return ecli.lines[i]!;
  throw new Error('no header');
}
