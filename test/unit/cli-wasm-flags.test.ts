/** `--wasm-memory` sizes and `--wasm-dir` preopens as ecli run parses them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWasmDir, parseWasmMemory } from '../../src/cli/wasm-flags.js';
import { errorWith } from '../helpers/assertions.js';

test('--wasm-memory takes a size with an optional K, M or G (KiB, MiB, GiB), in 64 KiB pages', () => {
  assert.equal(parseWasmMemory('1G'), 16384);
  assert.equal(parseWasmMemory('256M'), 4096);
  assert.equal(parseWasmMemory('256MiB'), 4096);
  assert.equal(parseWasmMemory('64k'), 1);
  assert.equal(parseWasmMemory('4G'), 65536);
  assert.equal(parseWasmMemory('131072'), 2);
  assert.equal(parseWasmMemory('1.5M'), 24);
  for (const bad of ['', '0', '32K', '5G', 'lots', '-1M', '1T']) {
    assert.throws(() => parseWasmMemory(bad), errorWith('USAGE', /^--wasm-memory ".*" is not a size between 64K and 4G$/), bad);
  }
});

test('--wasm-dir HOST or HOST:GUEST, repeatable; a guest path given twice is refused', () => {
  const first = parseWasmDir('./data', undefined);
  assert.deepEqual(first, { './data': './data' });
  assert.deepEqual(parseWasmDir('/var/log/app:/logs', first), { './data': './data', '/logs': '/var/log/app' });
  assert.throws(() => parseWasmDir('/tmp:/logs', { '/logs': '/var/log' }), errorWith('USAGE', /two directories for the guest path \/logs/));
  assert.throws(() => parseWasmDir(':/x', undefined), errorWith('USAGE', /give a directory/));
  assert.throws(() => parseWasmDir('/x:', undefined), errorWith('USAGE', /give a directory/));
});
