/**
 * ecli's flag table (src/cli/flags.ts) is the one place its flags are declared: commander's
 * set-up is built from it (checked on the real `ecli <command> --help`), docs/cli.md's flag
 * reference is generated from it, and every flag is explained on the page its row points at.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Option } from 'commander';
import { ECLI_COMMANDS, ECLI_FLAGS, flagsOf, flagWords, runFlagsOnlyFor, switchWords } from '../../src/cli/flags.js';
import { FLAG_REFERENCE_BEGIN, FLAG_REFERENCE_END, renderFlagReference, withFlagReference } from '../../src/cli/flag-docs.js';
import { fixturesDir, repoRoot } from '../helpers/env.js';
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

test("ecli run's flags for one kind of input are named from the table: given ones only, a --no- flag when it is given", () => {
  assert.deepEqual(runFlagsOnlyFor('package', { json: true, widen: true, containers: false, filter: 'pid==1', duration: 5000 }), [
    '-j',
    '--filter',
    '--no-containers',
  ]);
  assert.deepEqual(runFlagsOnlyFor('package', { widen: false, containers: true }), ['--no-widen']);
  assert.deepEqual(runFlagsOnlyFor('wasm', { raw: true, json: true }), ['--raw']);
});

test("ecli run refuses a package's flags with a Wasm module (filters and containers too), and a Wasm module's with a package", () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ecli-flags-'));
  try {
    // Refused before the module is even compiled: its first bytes make it a Wasm module.
    const module = path.join(dir, 'm.wasm');
    writeFileSync(module, Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
    const filtered = runTool(ecliPath, ['run', '--filter', 'comm==sh', '--pid', '1', '--interval', '1s', '--wide', '--no-containers', module]);
    assert.equal(filtered.status, 2, filtered.stderr);
    assert.match(filtered.stderr, /^ecli: error: --wide, --filter, --pid, --no-containers, --interval apply to packages; \S+ is a Wasm module/);
    const raw = runTool(ecliPath, ['run', '--raw', path.join(fixturesDir, 'bootstrap.json')]);
    assert.equal(raw.status, 2, raw.stderr);
    assert.match(raw.stderr, /^ecli: error: --raw applies to Wasm modules, not to packages\n/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
