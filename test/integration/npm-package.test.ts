/**
 * The npm package as its users get it: `npm pack`, then (1) installed into a fresh project with
 * TypeScript, where examples/api and a test program type-check against the shipped declarations
 * and the program, run as root outside the repository, sees its own exec through `for await`
 * and closes with nothing left loaded, and both examples run and show what the test did; (2) installed globally into a temporary prefix, whose
 * `ecc` and `ecli run` work from another directory. npm resolves the dependencies with
 * --prefer-offline (its cache first, the registry for what the cache lacks).
 */
import { execFile } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { assertGoneWithin } from '../helpers/ecli-checks.js';
import { loadedPrograms, programIdsHeldBy, runTool } from '../helpers/ecli-process.js';
import { haveRoot, repoRoot } from '../helpers/env.js';
import { compileExample, haveToolchain, sleep, startHelper, tempDir, type Helper } from '../helpers/examples.js';
import { runAndSeeExec } from '../helpers/execsnoop-run.js';

const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

function devVersion(name: string): string {
  return (JSON.parse(readFileSync(path.join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

function npm(args: string[], cwd: string): string {
  const result = runTool('npm', args, { cwd });
  assert.equal(result.status, 0, `npm ${args.join(' ')}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/**
 * `npm pack` of the repository into a temporary folder; returns the tarball's path. The tests
 * run from the build that is packed, so prepack (a rebuild) must not run under them.
 */
function pack(t: TestContext): string {
  const dir = tempDir(t, 'ecli-npm-');
  const name = npm(['pack', '--ignore-scripts', '--pack-destination', dir, '--loglevel=error', repoRoot], dir).trim().split('\n').pop()!;
  return path.join(dir, name);
}

/** A copy of /bin/true at a path that fits in comm (15 characters). */
function shortExe(t: TestContext): string {
  const exe = path.join(tempDir(t, 'n'), 't');
  assert.ok(exe.length <= 15, exe);
  copyFileSync('/bin/true', exe);
  return exe;
}

async function untilLine(helper: Helper, match: (line: string) => boolean, what: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const line = helper.stdout().split('\n').find(match);
    if (line !== undefined) return line;
    assert.ok(Date.now() < deadline, `no ${what} line within 20 s; stdout:\n${helper.stdout()}`);
    await sleep(50);
  }
}

test('npm pack: the tarball holds the built code, its declarations and the schema, but no tests or examples', (t) => {
  const files = runTool('tar', ['tzf', pack(t)])
    .stdout.trim()
    .split('\n')
    .map((f) => f.replace(/^package\//, ''));
  for (const needed of [
    'package.json',
    'README.md',
    'schemas/package.schema.json',
    'dist/src/api/index.js',
    'dist/src/api/index.d.ts',
    'bin/ecli.cjs',
    'bin/ecc.cjs',
    'bin/run-bundle.cjs',
    'dist/bundle/ecli.cjs',
    'dist/bundle/ecli.cjs.cache',
    'dist/bundle/ecc.cjs',
    'dist/bundle/ecc.cjs.cache',
  ]) {
    assert.ok(files.includes(needed), `${needed} is in the tarball`);
  }
  assert.deepEqual(
    files.filter((f) => /^(dist\/(test|bench)|test|examples|src|bench)\//.test(f)),
    [],
    'nothing but what users need',
  );
});

test('installed into a fresh project: the examples type-check and run, and a program sees its own exec, closes, and nothing stays loaded', async (t) => {
  const tarball = pack(t);
  const project = tempDir(t, 'ecli-consumer-');
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'out', rootDir: 'src', types: ['node'] },
    }),
  );
  mkdirSync(path.join(project, 'src'));
  const sources = [
    ...readdirSync(path.join(repoRoot, 'examples/api'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => path.join(repoRoot, 'examples/api', f)),
    path.join(repoRoot, 'test/package-consumer/see-exec.ts'),
  ];
  assert.equal(sources.length, 3, 'two examples and the test program');
  for (const source of sources) copyFileSync(source, path.join(project, 'src', path.basename(source)));
  // Without install scripts: koffi loads its prebuilt binary without its own (the README says so).
  npm(['install', ...NPM_FLAGS, '--ignore-scripts', tarball, `typescript@${devVersion('typescript')}`, `@types/node@${devVersion('@types/node')}`], project);
  const tsc = runTool(path.join(project, 'node_modules/.bin/tsc'), ['-p', project], { cwd: project });
  assert.equal(tsc.status, 0, `tsc against the shipped declarations:\n${tsc.stdout}${tsc.stderr}`);

  if (!haveRoot(t) || !haveToolchain(t)) return;
  const { packagePath, programNames } = compileExample(t, 'execsnoop');
  const exe = shortExe(t);
  const program = startHelper(t, process.execPath, [path.join(project, 'out/see-exec.js'), packagePath, exe], { cwd: project });
  await untilLine(program, (l) => l === 'attached', 'attached');
  const ours = programIdsHeldBy(program.pid);
  const held = new Set(
    loadedPrograms()
      .filter((p) => ours.includes(p.id))
      .map((p) => p.name),
  );
  assert.deepEqual(
    programNames.filter((name) => !held.has(name)),
    [],
    'the package is attached',
  );
  program.child.stdin!.write('go\n');
  const seen = JSON.parse(await untilLine(program, (l) => l.startsWith('{"seen"'), 'seen')) as { seen: { comm: string; ppid: number } };
  assert.deepEqual([seen.seen.comm, seen.seen.ppid], [exe, program.pid]);
  const closed = JSON.parse(await untilLine(program, (l) => l.startsWith('{"closed"'), 'closed')) as {
    closed: boolean;
    stats: { received: number; malformed: number };
  };
  assert.equal(closed.closed, true);
  assert.ok(closed.stats.received >= 1 && closed.stats.malformed === 0, JSON.stringify(closed.stats));
  // The program still runs: only close() can have detached its programs.
  assert.deepEqual(programIdsHeldBy(program.pid), [], 'no program fd left open after close()');
  await assertGoneWithin(() => loadedPrograms().filter((p) => ours.includes(p.id)), 3000, 'programs still loaded after close()');
  program.child.stdin!.end();
  assert.equal(await program.exited, 0);

  await runExamples(t, project);
});

/** The two examples, run as their comments say: each shows what this process did, and stops on Ctrl-C. */
async function runExamples(t: TestContext, project: string): Promise<void> {
  const execsnoop = compileExample(t, 'execsnoop').packagePath;
  const exe = shortExe(t);
  const parents = startExample(t, project, 'exec-parents', execsnoop);
  await untilText(() => parents.stderr, /counting execs/, 'exec-parents to start');
  for (let i = 0; i < 3; i++) await new Promise((resolve) => execFile(exe, resolve));
  await sleep(300);
  parents.helper.child.kill('SIGINT');
  assert.equal(await parents.helper.exited, 0, parents.stderr);
  const row = parents.helper
    .stdout()
    .split('\n')
    .find((line) => line.trim().split(/\s+/)[0] === String(process.pid));
  assert.ok(row !== undefined && Number(row.trim().split(/\s+/)[1]) >= 3, `this process's three execs:\n${parents.helper.stdout()}`);

  const opensnoop = compileExample(t, 'opensnoop').packagePath;
  const opened = path.join(tempDir(t, 'ecli-opens-'), 'opened-by-the-test');
  writeFileSync(opened, '');
  const top = startExample(t, project, 'top-opens', opensnoop);
  await untilLine(top.helper, (line) => line.startsWith('--- '), 'first top-ten');
  for (let i = 0; i < 50; i++) readFileSync(opened);
  await untilLine(top.helper, (line) => line.endsWith(`  ${opened}`) && Number(line.trim().split(/\s+/)[0]) >= 50, 'top-ten line of our file');
  top.helper.child.kill('SIGINT');
  assert.equal(await top.helper.exited, 0, top.stderr);
}

function startExample(t: TestContext, project: string, name: string, packagePath: string): { helper: Helper; readonly stderr: string } {
  const helper = startHelper(t, process.execPath, [path.join(project, `out/${name}.js`), packagePath], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  helper.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return {
    helper,
    get stderr() {
      return stderr;
    },
  };
}

async function untilText(text: () => string, pattern: RegExp, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!pattern.test(text())) {
    assert.ok(Date.now() < deadline, `waited 20 s for ${what}:\n${text()}`);
    await sleep(50);
  }
}

test('installed globally into a prefix: ecc and ecli run work from outside the repository', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const tarball = pack(t);
  const prefix = tempDir(t, 'ecli-global-');
  // As the README says to: allowing koffi's install script leaves npm nothing to warn about.
  const installed = runTool(
    'npm',
    ['install', '--global', '--prefix', prefix, '--allow-scripts=koffi', ...NPM_FLAGS.filter((f) => !f.startsWith('--loglevel')), tarball],
    {
      cwd: prefix,
    },
  );
  assert.equal(installed.status, 0, installed.stderr);
  assert.doesNotMatch(installed.stderr, /install-scripts|allowScripts/);
  const work = tempDir(t, 'ecli-outside-');
  for (const file of ['execsnoop.bpf.c', 'execsnoop.h']) copyFileSync(path.join(repoRoot, 'examples/execsnoop', file), path.join(work, file));
  const version = runTool(path.join(prefix, 'bin/ecli'), ['--version'], { cwd: work });
  assert.match(version.stdout, /0\.\d+\.\d+/, version.stderr);
  const compiled = runTool(path.join(prefix, 'bin/ecc'), ['execsnoop.bpf.c', 'execsnoop.h'], { cwd: work });
  assert.equal(compiled.status, 0, `installed ecc:\n${compiled.stderr}`);
  await runAndSeeExec(t, shortExe(t), [path.join(work, 'package.json')], { ecli: path.join(prefix, 'bin/ecli'), cwd: work });
});
