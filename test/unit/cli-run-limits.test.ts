import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChunkSize, parseCount, parseDuration } from '../../src/cli/run-limits.js';
import { EcliError } from '../../src/errors.js';

test('--duration: a number with ms, s, m or h; a bare number is seconds', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('10'), 10_000);
  assert.equal(parseDuration('1.5m'), 90_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.equal(parseDuration('0.001s'), 1);
});

test('--duration refuses what is not a duration, zero, and what a timer cannot wait for', () => {
  for (const text of ['', 's', '10x', '-1s', '0', '0.0001s', '1e3', '10 s', '597h']) {
    assert.throws(
      () => parseDuration(text),
      (e) => e instanceof EcliError && e.code === 'USAGE' && e.message.includes('is not a duration'),
      text,
    );
  }
});

test('--count: a positive whole number', () => {
  assert.equal(parseCount('1'), 1);
  assert.equal(parseCount('1000000'), 1_000_000);
  for (const text of ['0', '-3', '2.5', 'ten', '', '1e3', '99999999999999999999']) {
    assert.throws(
      () => parseCount(text),
      (e) => e instanceof EcliError && e.code === 'USAGE',
      text,
    );
  }
});

test('--chunk-size: a positive whole number of bytes', () => {
  assert.equal(parseChunkSize('4096'), 4096);
  for (const text of ['0', '-1', '1.5', '4k', '', '9007199254740993']) {
    assert.throws(
      () => parseChunkSize(text),
      (e) => e instanceof EcliError && e.code === 'USAGE' && e.message === `--chunk-size ${JSON.stringify(text)} is not a positive whole number`,
      text,
    );
  }
});
