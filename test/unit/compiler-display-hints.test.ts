import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Btf } from '../../src/btf/btf.js';
import { AstDeclScanner } from '../../src/compiler/ast-scan.js';
import { memberDisplayHints } from '../../src/compiler/doc-comments.js';
import { buildExportTypes } from '../../src/compiler/export-types.js';
import { repoRoot } from '../helpers/env.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

/** clang 14's JSON AST of test/unit/fixtures/ecc-display/display.bpf.c (how to regenerate: see that file). */
const astText = readFileSync(path.join(repoRoot, 'test/unit/fixtures/ecc-display/ast.json'), 'utf8');

function scan(chunkSize: number, isHeader: (file: string) => boolean = (file) => file === './display.h') {
  const scanner = new AstDeclScanner('display.bpf.c', isHeader);
  for (let at = 0; at < astText.length; at += chunkSize) scanner.push(astText.slice(at, at + chunkSize));
  return scanner;
}

test('the scanner reads the header structs and their members, whatever the chunking', () => {
  const scanner = scan(1 << 16);
  assert.deepEqual(
    scanner.records.map((r) => `${r.name}: ${r.fields.map((f) => `${f.name}${f.comment ? '*' : ''}`).join(' ')}`),
    ['nested: inner*', 'event: pid argv* secret* bad_value* other_key* anon'],
  );
  // Main-file declarations are unchanged: the header's structs are not among them.
  assert.deepEqual(
    scanner.decls.map((d) => `${d.kind} ${d.name}`),
    ['VarDecl last_event', 'VarDecl LICENSE'],
  );
  assert.deepEqual(scan(7).records, scanner.records);
  assert.deepEqual(scan(4093).records, scanner.records);
  assert.deepEqual(scan(1 << 16, () => false).records, []);
});

test('member comments become display hints; other values and keys are warned about', () => {
  const { hints, warnings } = memberDisplayHints(scan(1 << 16).records);
  assert.deepEqual(
    [...hints].map(([name, members]) => [name, Object.fromEntries(members)]),
    [
      ['nested', { inner: 'hidden' }],
      ['event', { argv: 'args', secret: 'hidden' }],
    ],
  );
  assert.deepEqual(warnings, [
    '@display "loud" of member bad_value of struct event is ignored: use one of "args", "hidden", "errno", "signal", "hex", "flags", "duration", "boot_ns", "ipv4", "ipv6", "port"',
    '@unit of member other_key of struct event is ignored: struct members take only @display and @container',
  ]);
});

test('export_types members carry the hints that fit their type', () => {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const char = b.int('char', 1, { signed: true });
  b.struct('event', [
    { name: 'pid', type: int },
    { name: 'argv', type: b.array(b.array(char, 8), 4) },
    { name: 'comm', type: b.array(char, 8) },
  ]);
  const btf = Btf.parse(b.build());
  const hints = new Map([
    [
      'event',
      new Map([
        ['pid', 'hidden'],
        ['argv', 'args'],
        ['comm', 'args'],
      ] as const),
    ],
  ]);
  const { types, warnings } = buildExportTypes(btf, ['event'], { header: 'e.h', source: 'e.bpf.c' }, hints);
  assert.deepEqual(
    types[0]!.members.map((m) => [m.name, m.display]),
    [
      ['pid', 'hidden'],
      ['argv', 'args'],
      ['comm', undefined],
    ],
  );
  assert.deepEqual(warnings, ['@display of member comm of struct event is ignored: display "args" needs an array of strings (char[N][M]), not char[8]']);
  // Without hints, members have no display key at all (the reference's JSON shape plus offset/size/kind).
  assert.ok(buildExportTypes(btf, ['event'], { header: 'e.h', source: 'e.bpf.c' }).types[0]!.members.every((m) => !('display' in m)));
});

test('@container marks a cgroup id (8 bytes) or pid (4 or 8 bytes) member; other types are warned about', () => {
  const b = new BtfBuilder();
  const char = b.int('char', 1, { signed: true });
  b.struct('event', [
    { name: 'cg', type: b.int('unsigned long long', 8) },
    { name: 'task', type: b.int('unsigned int', 4) },
    { name: 'comm', type: b.array(char, 8) },
  ]);
  const btf = Btf.parse(b.build());
  const marks = new Map([
    [
      'event',
      new Map([
        ['cg', 'cgroup_id'],
        ['task', 'pid'],
        ['comm', 'pid'],
      ] as const),
    ],
  ]);
  const { types, warnings } = buildExportTypes(btf, ['event'], { header: 'e.h', source: 'e.bpf.c' }, new Map(), marks);
  assert.deepEqual(
    types[0]!.members.map((m) => [m.name, m.container]),
    [
      ['cg', 'cgroup_id'],
      ['task', 'pid'],
      ['comm', undefined],
    ],
  );
  assert.deepEqual(warnings, ['@container of member comm of struct event is ignored: a pid is an integer of 4 or 8 bytes']);
});
