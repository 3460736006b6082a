/**
 * The profile example: software cpu-clock samples with bpf_get_stack into a ring buffer, printed
 * by the stack_trace interpreter with symbols: user frames from the sampled process's mappings
 * and ELF symbols, kernel frames from /proc/kallsyms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { haveRoot } from '../helpers/env.js';
import { repoRoot } from '../helpers/env.js';
import { startEcliFor, stopAndCheckUnloaded } from '../helpers/ecli-checks.js';
import { runTool } from '../helpers/ecli-process.js';
import { compileExample, haveCommands, haveToolchain, startHelper, tempDir } from '../helpers/examples.js';

/** `  3 [<ffffffff8224d116>] do_syscall_64+0x46`: a kernel frame with its symbol. */
const KERNEL_FRAME = /^ {2}\d+ \[<(ffff[0-9a-f]{12})>\] ([\w.$]+)\+0x[0-9a-f]+$/;

test('profile prints symbolised stacks: a function of the busy test binary and kernel symbols', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t) || !haveCommands(t, ['cc'])) return;
  const example = compileExample(t, 'profile');
  const busyPath = path.join(tempDir(t), 'busy');
  // A PIE (Debian's default) with frame pointers, so the user stack unwinds through main.
  const cc = runTool('cc', ['-O1', '-g', '-fno-omit-frame-pointer', '-o', busyPath, path.join(repoRoot, 'examples/profile/busy.c')]);
  assert.equal(cc.status, 0, cc.stderr);
  const busy = startHelper(t, busyPath, ['20'], { stdio: 'ignore' });

  const ecli = await startEcliFor(t, ['run', example.packagePath, '--pid', String(busy.pid)]);
  await ecli.waitForLine((line) => / spin_in_user\+0x[0-9a-f]+$/.test(line), 10_000);
  const kernelLine = await ecli.waitForLine((line) => KERNEL_FRAME.test(line), 10_000);
  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);

  const blocks = ecli.lines
    .join('\n')
    .split('\n\n')
    .filter((b) => b.startsWith('COMM: '));
  assert.ok(blocks.length > 0);
  for (const block of blocks) assert.match(block, new RegExp(`^COMM: busy \\(pid=${busy.pid}\\) @ CPU \\d+\\n(Kernel:|No Kernel Stack)`), block);
  assert.ok(
    blocks.some((b) => /^Userspace:\n(?: {2}\d+ \[<[0-9a-f]{16}>\].*\n)*? {2}\d+ \[<[0-9a-f]{16}>\] main\+0x[0-9a-f]+$/m.test(b)),
    'the user stack unwinds to main',
  );
  // The kernel symbol is one kallsyms has at or below the frame's address.
  const [, address, name] = KERNEL_FRAME.exec(kernelLine)!;
  const symbol = readFileSync('/proc/kallsyms', 'utf8')
    .split('\n')
    .find((line) => line.endsWith(` ${name}`) || line.includes(` ${name}\t`));
  assert.ok(symbol, `${name} is in /proc/kallsyms`);
  assert.ok(BigInt(`0x${symbol.split(' ')[0]}`) <= BigInt(`0x${address}`), kernelLine);
});

test('profile with "with_symbols": false prints addresses only', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t)) return;
  const example = compileExample(t, 'profile');
  const pkg = JSON.parse(readFileSync(example.packagePath, 'utf8')) as { meta: { bpf_skel: { maps: { name: string; intepreter?: unknown }[] } } };
  pkg.meta.bpf_skel.maps.find((m) => m.name === 'events')!.intepreter = { stack_trace: { with_symbols: false } };
  writeFileSync(example.packagePath, JSON.stringify(pkg));
  const busy = startHelper(t, process.execPath, ['-e', 'const end = Date.now() + 20000; while (Date.now() < end);'], { stdio: 'ignore' });

  const ecli = await startEcliFor(t, ['run', example.packagePath, '--pid', String(busy.pid)]);
  await ecli.waitForLine((line) => /^ {2}\d+ \[<[0-9a-f]{16}>\]/.test(line), 10_000);
  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
  const frames = ecli.lines.filter((line) => /^ {2}\d+ \[</.test(line));
  assert.deepEqual(
    frames.filter((line) => !/^ {2}\d+ \[<[0-9a-f]{16}>\]$/.test(line)),
    [],
    'no frame has a symbol',
  );
});
