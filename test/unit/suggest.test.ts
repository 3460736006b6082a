import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closestName, didYouMean } from '../../src/suggest.js';

test('two neighbouring letters swapped count as one typo, so short names get their suggestion', () => {
  assert.equal(closestName('pdi', ['pid', 'comm', 'path']), 'pid');
  assert.equal(closestName('--pdi', ['--pid', '--help']), '--pid');
  assert.equal(closestName('cmom', ['pid', 'comm']), 'comm');
  assert.equal(didYouMean('rnu', ['run', 'inspect']), ' (did you mean run?)');
});

test('names that are not close get no suggestion', () => {
  assert.equal(closestName('xyz', ['pid', 'comm']), undefined);
  // Two swaps are two edits: too many for a three-letter name.
  assert.equal(closestName('dip', ['pid']), undefined);
  assert.equal(closestName('pid', []), undefined);
});

test('the usual Levenshtein typos still get the closest name', () => {
  assert.equal(closestName('pidd', ['pid', 'ppid', 'comm']), 'pid');
  assert.equal(closestName('jsn', ['json', 'time']), 'json');
  assert.equal(closestName('PID', ['pid']), 'pid');
});
