/**
 * Packages with many map entries, for the resource tests (metrics, scrapes, the library's
 * queues), compiled by ./ecc into a temporary folder:
 * - `wideArray(n)`: a sampled ARRAY map of n entries (an array map has all its keys from the
 *   start), each `{ __u64 hits; }`; slot `i % n` counts the i-th getppid call of `target_pid`;
 * - `newKeys()`: a sampled HASH histogram with clear_map whose key is the number of the getppid
 *   call of `target_pid`: every call makes a new key (a new series for --metrics).
 * The value struct is in the header (an export type, so its members are named), the key struct in
 * the source (its member names come from BTF).
 */
import type { TestContext } from 'node:test';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { eccCompile } from './ecli-process.js';
import { tempDir } from './examples.js';

/** Only the value struct is in the header: ecc makes the header's structs export types, and the first (by BTF id) names the value's members. */
const WIDE_HEADER = `#ifndef __WIDE_H
#define __WIDE_H
struct hits {
  __u64 hits;
};
#endif
`;

const FRESH_HEADER = `#ifndef __WIDE_H
#define __WIDE_H
struct calls_hist {
  __u32 slots[8];
};
#endif
`;

function wideArraySource(entries: number, intervalMs: number): string {
  return `#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include "wide.h"

struct slot_key {
  __u32 slot;
};

const volatile int target_pid = 0;
static __u64 calls;

/// @sample {"interval": ${intervalMs}}
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, ${entries});
  __type(key, struct slot_key);
  __type(value, struct hits);
} slots SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
  if ((int)(bpf_get_current_pid_tgid() >> 32) != target_pid)
    return 0;
  struct slot_key key = { .slot = calls++ % ${entries} };
  struct hits *h = bpf_map_lookup_elem(&slots, &key);
  if (h)
    __sync_fetch_and_add(&h->hits, 1);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
`;
}

function newKeysSource(maxEntries: number, intervalMs: number): string {
  return `#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include "wide.h"

struct call_key {
  __u64 call;
};

const volatile int target_pid = 0;
static __u64 calls;

/// @sample {"interval": ${intervalMs}, "type": "log2_hist", "unit": "us", "clear_map": true}
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, ${maxEntries});
  __type(key, struct call_key);
  __type(value, struct calls_hist);
} fresh SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
  static const struct calls_hist zero;
  if ((int)(bpf_get_current_pid_tgid() >> 32) != target_pid)
    return 0;
  struct call_key key = { .call = calls++ };
  bpf_map_update_elem(&fresh, &key, &zero, BPF_NOEXIST);
  struct calls_hist *h = bpf_map_lookup_elem(&fresh, &key);
  if (h)
    __sync_fetch_and_add(&h->slots[key.call & 7], 1);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
`;
}

function compile(t: TestContext, name: string, source: string, header: string): string {
  const dir = tempDir(t, `ecli-${name}-`);
  writeFileSync(path.join(dir, 'wide.h'), header);
  writeFileSync(path.join(dir, `${name}.bpf.c`), source);
  return eccCompile(path.join(dir, `${name}.bpf.c`), path.join(dir, 'wide.h'), dir);
}

/** A sampled ARRAY map `slots` of `entries` entries; returns the package.json. */
export function compileWideArray(t: TestContext, entries: number, intervalMs = 1000): string {
  return compile(t, 'wide', wideArraySource(entries, intervalMs), WIDE_HEADER);
}

/** A clear_map log2 histogram `fresh` keyed by call number (room for `maxEntries` per interval); returns the package.json. */
export function compileNewKeys(t: TestContext, maxEntries: number, intervalMs = 1000): string {
  return compile(t, 'fresh', newKeysSource(maxEntries, intervalMs), FRESH_HEADER);
}

/** `count` getppid calls from this process (Node reads process.ppid with the syscall each time). */
export function callGetppid(count: number): void {
  for (let i = 0; i < count; i++) void process.ppid;
}
