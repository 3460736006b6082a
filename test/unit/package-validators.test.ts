import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../helpers/env.js';

test('src/package/schema-validators.ts is what scripts/gen-validators.mjs makes of the schema', () => {
  const check = spawnSync(process.execPath, [path.join(repoRoot, 'scripts/gen-validators.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
});
