/**
 * ecli's flag table (src/cli/flags.ts) is the one place its flags are declared: commander's
 * set-up is built from it (checked on the real `ecli <command> --help`), docs/cli.md's flag
 * reference is generated from it, and every flag is explained on the page its row points at.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Option } from 'commander';
import { ECLI_COMMANDS, ECLI_FLAGS, flagsOf, flagWords, switchWords } from '../../src/cli/flags.js';
import { FLAG_REFERENCE_BEGIN, FLAG_REFERENCE_END, renderFlagReference, withFlagReference } from '../../src/cli/flag-docs.js';
import { repoRoot } from '../helpers/env.js';
import { ecliPath, runTool } from '../helpers/ecli-process.js';

const docsPath = path.join(repoRoot, 'docs/cli.md');

test("docs/cli.md's flag reference is the one the table generates (npm run docs:flags rewrites it)", () => {
  const markdown = readFileSync(docsPath, 'utf8');
  assert.equal(withFlagReference(markdown), markdown, 'docs/cli.md is out of date: run npm run build:dev && npm run docs:flags');
});

test('the generated reference changes when the table does, and needs its markers', () => {
  const stale = `# x\n${FLAG_REFERENCE_BEGIN}\n| \`--gone\` | a flag no more |\n${FLAG_REFERENCE_END}\n`;
  const fresh = withFlagReference(stale);
  assert.notEqual(fresh, stale);
  assert.ok(fresh.includes('| `-j`, `--json` | print events and sampled maps as JSON lines. |'), fresh);
  assert.ok(!fresh.includes('--gone'));
  assert.throws(() => withFlagReference('# no markers\n'), /markers of the flag reference are missing/);
  // `<list>` is text, not an HTML tag, outside code.
  assert.ok(renderFlagReference().includes('(default: &lt;name>.tar.gz)'));
});

test("each row's key is where commander stores the flag's value", () => {
  for (const [key, row] of Object.entries(ECLI_FLAGS)) {
    assert.equal(new Option(row.flags).attributeName(), key, row.flags);
  }
});

test('ecli --help and each command --help list exactly the flags of the table', () => {
  for (const command of ECLI_COMMANDS) {
    const result = runTool(ecliPath, command === 'ecli' ? ['--help'] : [...command.split(' '), '--help']);
    assert.equal(result.status, 0, result.stderr);
    const options = /\nOptions:\n([^]*?)(?:\n\n|$)/.exec(result.stdout)?.[1] ?? '';
    assert.ok(options !== '', `${command} --help has an Options section:\n${result.stdout}`);
    const listed = [...options.matchAll(/^ {2}(-[^ ].*?)(?: {2,}|$)/gm)].flatMap((m) => m[1]!.split(/, | /).filter((w) => w.startsWith('-')));
    const table = flagsOf(command).flatMap(([, row]) => flagWords(row));
    assert.deepEqual(listed.sort(), table.sort(), command);
  }
});

test("ecli's leading switches come from the table", () => {
  assert.deepEqual(switchWords('ecli'), ['-v', '--verbose', '--debug']);
});

/** The prose of a docs page, without the generated reference. */
function prose(page: string): string {
  const text = readFileSync(path.join(repoRoot, 'docs', page), 'utf8');
  const begin = text.indexOf(FLAG_REFERENCE_BEGIN);
  return begin < 0 ? text : text.slice(0, begin) + text.slice(text.indexOf(FLAG_REFERENCE_END));
}

test('every flag is explained in the prose of the page its row points at', () => {
  const missing: string[] = [];
  for (const [key, row] of Object.entries(ECLI_FLAGS)) {
    if ('builtin' in row) continue;
    const page = row.docs.startsWith('#') ? 'cli.md' : row.docs.split('#')[0]!;
    const long = flagWords(row).find((w) => w.startsWith('--'))!;
    if (!prose(page).includes(long)) missing.push(`${key}: ${long} is not in docs/${page}`);
  }
  assert.deepEqual(missing, []);
});
