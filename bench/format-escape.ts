/**
 * Micro-benchmark of the plain-text and JSON event writers on the reference's `bootstrap` event
 * (pid, ppid, exit code, duration, comm[16], filename[127], bool, enum): nanoseconds per event
 * of CPU time written into one TextBuffer, for records whose strings are clean, whose strings hold
 * an escape sequence, and whose strings hold a bidi override (both of which plain text escapes).
 * No root needed:
 *   node dist/bench/format-escape.js [events]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Btf } from '../src/btf/btf.js';
import { checkExportStruct } from '../src/btf/export-check.js';
import { findSection, parseElf } from '../src/elf/elf.js';
import { createEventFormatter } from '../src/format/event.js';
import { TextBuffer } from '../src/format/text-buffer.js';
import { decodeBpfObject } from '../src/package/codec.js';
import type { ComposedPackage } from '../src/package/types.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = path.resolve(root, 'test/fixtures/ecc/bootstrap.json');
const EVENTS = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = 15;
const BATCH = 4096;

const pkg = JSON.parse(readFileSync(fixture, 'utf8')) as ComposedPackage;
const elf = decodeBpfObject(pkg, fixture);
const btf = Btf.parse(findSection(parseElf(elf), '.BTF')!.data);
const columns = checkExportStruct(btf, pkg.meta.export_types[0]!);

function record(comm: string, filename: string): Buffer {
  const data = Buffer.alloc(176);
  data.writeInt32LE(4242, 0);
  data.writeInt32LE(1, 4);
  data.writeBigUInt64LE(123456789n, 16);
  data.write(comm, 24, 15, 'utf8');
  data.write(filename, 40, 126, 'utf8');
  data.writeUInt32LE(1, 172);
  return data;
}

const records = {
  clean: record('bash', '/usr/bin/some-long-program-name'),
  escaped: record('e\x1b[31mX', '/tmp/e\x1b[31mX'),
  bidi: record('e\u202eX', '/tmp/\u202egnp.exe'),
};

/** Fewest CPU nanoseconds per event (CPU time, and the least disturbed round, on a shared machine) of writing `EVENTS` records, in batches like the runner's. */
function measure(format: 'plain' | 'json', data: Buffer): number {
  const formatter = createEventFormatter(btf, columns, { format });
  const out = new TextBuffer();
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.cpuUsage();
    for (let i = 0; i < EVENTS; i++) {
      formatter.formatInto(data, 0, data.length, out);
      if (i % BATCH === BATCH - 1) out.clear();
    }
    const used = process.cpuUsage(started);
    times.push(((used.user + used.system) * 1000) / EVENTS);
    out.clear();
  }
  return Math.min(...times);
}

for (const format of ['plain', 'json'] as const) {
  for (const [name, data] of Object.entries(records)) {
    process.stdout.write(`${format.padEnd(5)} ${name.padEnd(7)} ${measure(format, data).toFixed(0)} ns/event\n`);
  }
}
