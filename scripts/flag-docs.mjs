#!/usr/bin/env node
// npm run docs:flags: rewrites docs/cli.md's flag reference from ecli's flag table
// (src/cli/flags.ts, as built into dist/ by npm run build:dev).
import { readFileSync, writeFileSync } from 'node:fs';
import { withFlagReference } from '../dist/src/cli/flag-docs.js';

const path = new URL('../docs/cli.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = withFlagReference(before);
if (after !== before) writeFileSync(path, after);
console.error(after === before ? 'docs/cli.md: the flag reference is up to date' : 'docs/cli.md: flag reference rewritten');
