/**
 * Property test at the BTF level: the `.BTF` section inside the reference packages' ELF objects
 * is mutated (type ids out of range or pointing back, huge vlen, unknown kinds, string offsets
 * past the end, damaged header words) and fed through the whole pure pipeline: ELF and BTF
 * decoding, the package model (maps, exports, options, data sections), inspect's layouts, the
 * formatters of every export in both formats, a zero record through each. Every case must end
 * in success or a one-line EcliError within a time bound; anything else is a bug.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as fc from 'fast-check';
import { Btf } from '../../src/btf/btf.js';
import { inspectPackage, renderInspect } from '../../src/cli/commands/inspect.js';
import { findSection, parseElf } from '../../src/elf/elf.js';
import { buildPackageSpec } from '../../src/model/spec.js';
import { EcliError } from '../../src/errors.js';
import { TextBuffer } from '../../src/format/text-buffer.js';
import type { ResolvedPackage } from '../../src/inputs/source.js';
import { decodePackage } from '../../src/package/load.js';
import type { ComposedPackage } from '../../src/package/types.js';
import { buildConsumers } from '../../src/runner/consumers.js';
import { fixturesDir } from '../helpers/env.js';

const RUNS = 10_000;
const SEED = 0x16b7f;
/** No case may hang: each takes a few ms (2 s leaves room for a loaded machine). */
const CASE_BUDGET_MS = 2000;

interface Seed {
  name: string;
  pkg: ComposedPackage;
  elf: Buffer;
  /** Where the .BTF section starts in `elf`, and its header fields. */
  btfStart: number;
  typesStart: number;
  typesWords: number;
  types: number;
  strLen: number;
}

function seedOf(name: string): Seed | undefined {
  const text = readFileSync(path.join(fixturesDir, name), 'utf8');
  if (!text.includes('"bpf_object"')) return undefined;
  const decoded = decodePackage(text, name);
  const pkg = decoded.pkg;
  const elf = Buffer.from(decoded.elf);
  const section = findSection(parseElf(elf), '.BTF');
  if (!section) return undefined;
  const btfStart = section.data.byteOffset - elf.byteOffset;
  const header = Buffer.from(section.data.buffer, section.data.byteOffset, section.data.byteLength);
  const typesStart = btfStart + header.readUInt32LE(4) + header.readUInt32LE(8);
  const types = Btf.parse(section.data).types.length;
  return { name, pkg, elf, btfStart, typesStart, typesWords: header.readUInt32LE(12) / 4, types, strLen: header.readUInt32LE(20) };
}

/** One word written into the type records (or the header), chosen to hit the decoder's edges. */
interface Mutation {
  /** Fraction of the way through the type records (or header word index when `header`). */
  where: number;
  header: boolean;
  value: { kind: 'id'; near: number } | { kind: 'info'; bits: number; vlen: number } | { kind: 'string'; past: number } | { kind: 'raw'; word: number };
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  where: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  header: fc.nat({ max: 19 }).map((n) => n === 0),
  value: fc.oneof(
    fc.record({ kind: fc.constant('id' as const), near: fc.integer({ min: -3, max: 3 }) }),
    fc.record({
      kind: fc.constant('info' as const),
      bits: fc.integer({ min: 0, max: 0xff }),
      vlen: fc.oneof(fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })),
    }),
    fc.record({ kind: fc.constant('string' as const), past: fc.integer({ min: -2, max: 2 }) }),
    fc.record({ kind: fc.constant('raw' as const), word: fc.oneof(fc.constant(0xffffffff), fc.constant(0), fc.integer({ min: 0, max: 0xffffffff })) }),
  ),
});

function wordValue(seed: Seed, wordIndex: number, m: Mutation['value'], original: number): number {
  switch (m.kind) {
    case 'id': {
      // A type id close to the record the word belongs to (cycles), or past the last type.
      const approxId = Math.max(0, Math.round((wordIndex / seed.typesWords) * seed.types));
      return Math.max(0, (m.near === 3 ? seed.types : approxId) + m.near) >>> 0;
    }
    case 'info':
      return (((m.bits & 0x9f) << 24) | (original & 0x00ff0000) | m.vlen) >>> 0;
    case 'string':
      return Math.max(0, seed.strLen + m.past) >>> 0;
    case 'raw':
      return m.word >>> 0;
  }
}

/** The pure pipeline `ecli run` and `ecli inspect` go through before loading; returns 'ok' or the error code. */
function pipeline(seed: Seed, renderTables: boolean): string {
  const resolved: ResolvedPackage = { source: seed.name, bytes: new Uint8Array(0), type: 'json', pkg: seed.pkg, elf: seed.elf };
  try {
    const spec = buildPackageSpec(resolved);
    // inspect builds the same spec (refused above already), then its layouts and tables.
    const report = inspectPackage(resolved);
    renderInspect(report, { json: true });
    if (renderTables) renderInspect(report, { json: false });
    for (const format of ['plain', 'json'] as const) {
      buildConsumers(spec.btf, spec.exports, { format }).forEach((consumer, i) => {
        const exported = spec.exports[i]!;
        if (consumer.kind === 'events' && exported.kind === 'events') {
          const size = exported.columns.size;
          consumer.write(Buffer.alloc(size), 0, size, new TextBuffer());
        } else if (consumer.kind === 'sample' && exported.kind === 'sample') {
          consumer.format(new Uint8Array(exported.keyColumns.size), new Uint8Array(exported.valueColumns.size));
        }
      });
    }
    return 'ok';
  } catch (error) {
    if (!(error instanceof EcliError)) throw error;
    assert.notEqual(error.code, 'INTERNAL', error.message);
    assert.ok(!/[\n\r]/.test(error.message), `multi-line message: ${error.message}`);
    return error.code;
  }
}

test(`${RUNS} mutations of the reference packages' BTF end in success or a typed one-line error`, (t) => {
  const seeds = readdirSync(fixturesDir)
    .filter((n) => n.endsWith('.json'))
    .map(seedOf)
    .filter((s): s is Seed => s !== undefined);
  assert.ok(seeds.length >= 5, `only ${seeds.length} fixtures with BTF in ${path.basename(fixturesDir)}`);
  for (const seed of seeds) assert.equal(pipeline(seed, true), 'ok', `${seed.name} unmutated`);

  const outcomes = new Map<string, number>();
  let slowest = 0;
  let cases = 0;
  fc.assert(
    fc.property(fc.nat({ max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (which, mutations) => {
      const seed = seeds[which]!;
      const saved: [number, number][] = [];
      for (const m of mutations) {
        const at = m.header ? seed.btfStart + 4 * (1 + Math.floor(m.where * 5)) : seed.typesStart + 4 * Math.floor(m.where * seed.typesWords);
        const original = seed.elf.readUInt32LE(at);
        saved.push([at, original]);
        seed.elf.writeUInt32LE(wordValue(seed, (at - seed.typesStart) / 4, m.value, original), at);
      }
      const started = performance.now();
      try {
        // Drawing the tables (cli-table3) costs more than the rest: every 8th case draws them.
        const outcome = pipeline(seed, ++cases % 8 === 0);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      } finally {
        slowest = Math.max(slowest, performance.now() - started);
        for (const [at, original] of saved.reverse()) seed.elf.writeUInt32LE(original, at);
      }
      assert.ok(slowest < CASE_BUDGET_MS, `a case took ${slowest.toFixed(0)} ms`);
    }),
    { numRuns: RUNS, seed: SEED },
  );
  t.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}; slowest case ${slowest.toFixed(1)} ms`);
  // The mutations must reach past the decoder: some cases still succeed, most are refused.
  assert.ok((outcomes.get('ok') ?? 0) > RUNS / 50, `too few successes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  assert.ok((outcomes.get('BTF_INVALID') ?? 0) > RUNS / 10);
});
