/**
 * Property test: mutated packages (structure, object bytes, raw text) either load or fail with a
 * one-line EcliError, never with any other exception.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import * as fc from 'fast-check';
import { EcliError } from '../../src/errors.js';
import { fixturesDir } from '../helpers/env.js';
import { MAX_BPF_OBJECT_SIZE, decodeBpfObject, encodeBpfObject, parsePackageText } from '../../src/package/codec.js';
import { validateMeta, validatePackage } from '../../src/package/validate.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonPath = (string | number)[];

interface Seed {
  name: string;
  metaOnly: boolean;
  text: string;
  json: Json;
  /** Every path in `json`, the root included. */
  paths: JsonPath[];
}

const TIME_BUDGET_MS = 60_000;
const BASE64_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \n\u00e9';
const JSON_TOKENS = ['{', '}', '[', ']', ',', ':', '"', 'null', 'true', '-1', '1e999', '0.5', '\\', '\u0000', ' ', '\n'];

function allPaths(value: Json, prefix: JsonPath = []): JsonPath[] {
  const here = [prefix];
  if (value === null || typeof value !== 'object') return here;
  const entries: [string | number, Json][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return here.concat(...entries.map(([key, child]) => allPaths(child, [...prefix, key])));
}

function seedFrom(name: string, text: string, metaOnly: boolean): Seed {
  const json = JSON.parse(text) as Json;
  return { name, metaOnly, text, json, paths: allPaths(json) };
}

function syntheticSeed(): Seed {
  const elf = new Uint8Array(4096);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  elf[18] = 247;
  const meta = {
    bpf_skel: {
      obj_name: 'demo_bpf',
      data_sections: [{ name: '.rodata', variables: [{ name: 'x', type: 'int', cmdarg: { short: 'x' } }] }],
      maps: [{ name: 'hists', ident: 'hists', sample: { interval: 10 }, export_config: { btf_type_id: 3 } }],
      progs: [{ name: 'p', attach: 'tc', link: true, tchook: { attach_point: 'BPF_TC_EGRESS' } }],
    },
    export_types: [{ name: 'e', members: [{ name: 'a', type: 'int', offset: 0 }], size: 4, type_id: 3 }],
  };
  return seedFrom('synthetic.json', JSON.stringify({ ...encodeBpfObject(elf), meta }), false);
}

function loadSeeds(): { seeds: Seed[]; note: string } {
  const fixtures = fixturesDir;
  const seeds = [syntheticSeed()];
  if (!existsSync(fixtures)) return { seeds, note: `fixtures not found at ${fixtures}; fuzzing a synthetic package only` };
  for (const name of readdirSync(fixtures).filter((n) => n.endsWith('.json'))) {
    seeds.push(seedFrom(name, readFileSync(path.join(fixtures, name), 'utf8'), name === 'arg_builder_skel.json'));
  }
  return { seeds, note: `fuzzing ${seeds.length} seed packages` };
}

/** The whole load pipeline; returns 'ok' or the error code, rethrowing anything that is not an EcliError. */
function load(seed: Seed, input: { text: string } | { json: unknown }): string {
  try {
    const json = 'text' in input ? parsePackageText(input.text, seed.name) : input.json;
    if (seed.metaOnly) validateMeta(json, seed.name);
    else decodeBpfObject(validatePackage(json, seed.name), seed.name);
    return 'ok';
  } catch (error) {
    if (!(error instanceof EcliError)) throw error;
    assert.equal(error.code, 'PACKAGE_INVALID');
    assert.ok(!/[\n\r]/.test(error.message), `multi-line message: ${error.message}`);
    return error.code;
  }
}

/** Returns a copy of `root` with `change` applied at `at`, copying only the containers on the way. */
function changeAt(root: Json, at: JsonPath, change: (value: Json) => Json | undefined): Json | undefined {
  if (at.length === 0) return change(root);
  if (root === null || typeof root !== 'object') return root;
  const [key, ...rest] = at;
  const current = (root as Record<string | number, Json>)[key!];
  if (current === undefined) return root;
  const next = changeAt(current, rest, change);
  if (Array.isArray(root)) {
    const copy = [...root];
    if (next === undefined) copy.splice(key as number, 1);
    else copy[key as number] = next;
    return copy;
  }
  const copy = { ...root };
  if (next === undefined) delete copy[key as string];
  else copy[key as string] = next;
  return copy;
}

function insertInto(container: Json, key: string, value: Json): Json {
  if (Array.isArray(container)) return [...container, value];
  if (container === null || typeof container !== 'object') return container;
  const copy = { ...container };
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

const structuralEdit = fc.record({
  path: fc.nat(),
  op: fc.constantFrom('delete', 'replace', 'insert'),
  key: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'bpf_skel', 'maps', 'progs', 'sample', 'type')),
  value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
});

const objectEdit = fc.record({
  op: fc.constantFrom('truncate', 'replaceChar', 'insertChar', 'setSize', 'nudgeSize', 'swapObject'),
  position: fc.nat(),
  char: fc.constantFrom(...BASE64_CHARS),
  size: fc.oneof(fc.integer({ min: -10, max: 70_000 }), fc.constantFrom(MAX_BPF_OBJECT_SIZE, MAX_BPF_OBJECT_SIZE + 1, 2 ** 53, 1.5, -0)),
  delta: fc.integer({ min: -3, max: 3 }),
  other: fc.nat(),
});

const textEdit = fc.record({
  position: fc.nat(),
  deleteCount: fc.nat({ max: 40 }),
  insert: fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom(...JSON_TOKENS)),
});

test('mutated packages load or fail with a one-line EcliError', async (t) => {
  const { seeds, note } = loadSeeds();
  t.diagnostic(note);
  const packages = seeds.filter((s) => !s.metaOnly);
  const seedIndex = fc.nat({ max: seeds.length - 1 });
  const outcomes = new Map<string, number>();
  const count = (outcome: string) => outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  const started = performance.now();

  await t.test('structure: delete, replace and insert values at random paths', () => {
    fc.assert(
      fc.property(seedIndex, fc.array(structuralEdit, { minLength: 1, maxLength: 3 }), (index, edits) => {
        const seed = seeds[index]!;
        let json: Json | undefined = seed.json;
        for (const edit of edits) {
          const at = seed.paths[edit.path % seed.paths.length]!;
          if (json === undefined) break;
          if (edit.op === 'delete') json = changeAt(json, at, () => undefined);
          else if (edit.op === 'replace') json = changeAt(json, at, () => edit.value);
          else json = changeAt(json, at, (container) => insertInto(container, edit.key, edit.value));
        }
        count(load(seed, { json }));
      }),
      { numRuns: 10_000 },
    );
  });

  await t.test('object: damaged base64, zlib data and sizes', () => {
    fc.assert(
      fc.property(fc.nat({ max: packages.length - 1 }), objectEdit, (index, edit) => {
        const seed = packages[index]!;
        const pkg = seed.json as { bpf_object: string; bpf_object_size: number };
        const object = pkg.bpf_object;
        const at = edit.position % (object.length + 1);
        let changed = { ...pkg };
        if (edit.op === 'truncate') changed.bpf_object = object.slice(0, at);
        else if (edit.op === 'replaceChar') changed.bpf_object = object.slice(0, at) + edit.char + object.slice(at + 1);
        else if (edit.op === 'insertChar') changed.bpf_object = object.slice(0, at) + edit.char + object.slice(at);
        else if (edit.op === 'setSize') changed.bpf_object_size = edit.size;
        else if (edit.op === 'nudgeSize') changed.bpf_object_size += edit.delta;
        else changed = { ...changed, bpf_object: (packages[edit.other % packages.length]!.json as typeof pkg).bpf_object };
        count(load(seed, { json: changed }));
      }),
      { numRuns: 5000 },
    );
  });

  await t.test('text: raw edits of the package text', () => {
    fc.assert(
      fc.property(seedIndex, fc.array(textEdit, { minLength: 1, maxLength: 4 }), (index, edits) => {
        const seed = seeds[index]!;
        let text = seed.text;
        for (const edit of edits) {
          const at = edit.position % (text.length + 1);
          text = text.slice(0, at) + edit.insert + text.slice(at + edit.deleteCount);
        }
        count(load(seed, { text }));
      }),
      { numRuns: 5000 },
    );
  });

  const elapsed = performance.now() - started;
  const runs = [...outcomes.values()].reduce((a, b) => a + b, 0);
  t.diagnostic(`${runs} packages in ${elapsed.toFixed(0)} ms: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  assert.ok(runs >= 10_000, `only ${runs} runs`);
  assert.ok((outcomes.get('ok') ?? 0) > 0, 'no mutation kept a valid package: the generators are too destructive');
  assert.ok(elapsed < TIME_BUDGET_MS, `fuzzing took ${elapsed.toFixed(0)} ms`);
});
