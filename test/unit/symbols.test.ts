import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readElfSymbols } from '../../src/symbols/elf-symbols.js';
import { parseKallsyms } from '../../src/symbols/kallsyms.js';
import { fileOffsetOf, mappingOf, parseProcMaps } from '../../src/symbols/proc-maps.js';
import { createProcSymbolizer } from '../../src/symbols/proc-symbolizer.js';
import { formatSymbolHit } from '../../src/symbols/symbol-index.js';
import { buildElf } from '../helpers/elf-builder.js';

/** A PIE-style binary: its code segment starts at file offset 0x1000 but link address 0x2000. */
const PIE = {
  segmentOffset: 0x1000,
  segmentVaddr: 0x2000,
  textSize: 0x200,
  symbols: [
    { name: 'spin_in_user', value: 0x2010, size: 0x30 },
    { name: 'main', value: 0x2040, size: 0x80 },
    { name: 'helper', value: 0x2100, size: 0x10 },
  ],
};

const named = (hit: ReturnType<NonNullable<ReturnType<typeof readElfSymbols>>['lookupFileOffset']>) => hit && formatSymbolHit(hit);

test('ELF function symbols are found by file offset through the loadable segment', () => {
  const symbols = readElfSymbols(buildElf(PIE))!;
  assert.equal(named(symbols.lookupFileOffset(0x1010n)), 'spin_in_user+0x0');
  assert.equal(named(symbols.lookupFileOffset(0x101cn)), 'spin_in_user+0xc');
  assert.equal(named(symbols.lookupFileOffset(0x1051n)), 'main+0x11');
  // Past a sized symbol's end (padding between functions), before the first, outside any segment.
  assert.equal(symbols.lookupFileOffset(0x10f0n), undefined);
  assert.equal(symbols.lookupFileOffset(0x1004n), undefined);
  assert.equal(symbols.lookupFileOffset(0x5000n), undefined);
});

test('a stripped binary is read from .dynsym; what is not an ELF, or has no functions, gives no symbols', () => {
  const stripped = readElfSymbols(buildElf({ ...PIE, dynamic: true }))!;
  assert.equal(named(stripped.lookupFileOffset(0x1104n)), 'helper+0x4');
  assert.equal(readElfSymbols(new TextEncoder().encode('#!/bin/sh\necho hi\n')), undefined);
  assert.equal(readElfSymbols(buildElf({ ...PIE, symbols: [] })), undefined);
  assert.equal(readElfSymbols(buildElf(PIE).subarray(0, 100)), undefined, 'truncated');
});

test('kallsyms: text symbols only, module names dropped, zeroed addresses (no CAP_SYSLOG) mean no table', () => {
  const kallsyms = [
    'ffffffff81000000 T _stext',
    'ffffffff81000100 t do_one_thing',
    'ffffffff81000200 D some_data',
    'ffffffff81000300 T do_other_thing',
    'ffffffffc0001000 t nf_hook_fn\t[nf_tables]',
  ].join('\n');
  const index = parseKallsyms(kallsyms)!;
  assert.equal(formatSymbolHit(index.lookup(0xffffffff81000180n)!), 'do_one_thing+0x80');
  assert.equal(formatSymbolHit(index.lookup(0xffffffff81000250n)!), 'do_one_thing+0x150', 'data symbols never hold code');
  assert.equal(formatSymbolHit(index.lookup(0xffffffffc0001008n)!), 'nf_hook_fn+0x8');
  assert.equal(index.lookup(0xffffffff80000000n), undefined);
  assert.equal(parseKallsyms('0000000000000000 T _stext\n0000000000000000 t do_one_thing\n'), undefined);
});

const MAPS = [
  '55d0c0a00000-55d0c0a01000 r--p 00000000 fe:01 1234                       /tmp/busy',
  '55d0c0a01000-55d0c0a02000 r-xp 00001000 fe:01 1234                       /tmp/busy',
  '55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0                          [heap]',
  '7f0000000000-7f0000001000 r-xp 00000000 fe:01 99                         /tmp/old lib.so (deleted)',
  '7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]',
].join('\n');

test('proc maps: file-backed mappings only, and the file offset of an address', () => {
  const maps = parseProcMaps(MAPS);
  assert.deepEqual(
    maps.map((m) => [m.path, m.fileId, m.range]),
    [
      ['/tmp/busy', 'fe:01:1234', '55d0c0a00000-55d0c0a01000'],
      ['/tmp/busy', 'fe:01:1234', '55d0c0a01000-55d0c0a02000'],
      ['/tmp/old lib.so', 'fe:01:99', '7f0000000000-7f0000001000'],
    ],
  );
  const code = mappingOf(maps, 0x55d0c0a0101cn)!;
  assert.equal(fileOffsetOf(code, 0x55d0c0a0101cn), 0x101cn);
  assert.equal(mappingOf(maps, 0x55d0c1000010n), undefined, 'the heap has no file');
});

function fakeProc(t: TestContext): string {
  const proc = mkdtempSync(path.join(tmpdir(), 'ecli-proc-'));
  t.after(() => rmSync(proc, { recursive: true, force: true }));
  writeFileSync(path.join(proc, 'kallsyms'), 'ffffffff81000000 T _stext\nffffffff81000100 T __do_sys_getppid\n');
  mkdirSync(path.join(proc, '42', 'map_files'), { recursive: true });
  writeFileSync(path.join(proc, '42', 'maps'), MAPS);
  writeFileSync(path.join(proc, '42', 'map_files', '55d0c0a01000-55d0c0a02000'), buildElf(PIE));
  return proc;
}

test('the /proc symbolizer names kernel and user frames, and leaves addresses it cannot name', (t) => {
  const proc = fakeProc(t);
  const symbolizer = createProcSymbolizer(proc);
  assert.equal(symbolizer.kernel(0xffffffff81000126n), '__do_sys_getppid+0x26');
  assert.equal(symbolizer.user(42, 0x55d0c0a0101cn), 'spin_in_user+0xc');
  assert.equal(symbolizer.user(42, 0x55d0c1000010n), undefined, 'heap');
  assert.equal(symbolizer.user(43, 0x55d0c0a0101cn), undefined, 'a process that has exited');

  // Each binary is read once: with its file gone, the cached symbols still answer.
  rmSync(path.join(proc, '42', 'map_files'), { recursive: true });
  assert.equal(symbolizer.user(42, 0x55d0c0a01051n), 'main+0x11');
});
