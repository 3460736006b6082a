/**
 * Capabilities, not the uid: root whose capabilities are dropped (setpriv, as a container or
 * capsh would) gets a PERMISSION error naming what it lacks, before anything is loaded; root with
 * just the capabilities the package needs runs it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { watchProgramNames } from '../helpers/ecli-checks.js';
import { ecliPath, runTool } from '../helpers/ecli-process.js';
import { haveRoot } from '../helpers/env.js';
import { compileExample, haveCommands, haveToolchain } from '../helpers/examples.js';
import { prepareExecsnoop, runAndSeeExec } from '../helpers/execsnoop-run.js';
import { privateNetns } from '../helpers/netns.js';

/** Exec'd by root, a program gets the bounding set as its effective capabilities. */
const onlyCapabilities = (caps: string): string[] => ['setpriv', '--inh-caps=-all', `--bounding-set=-all${caps}`];

test('root with every capability dropped: PERMISSION (exit 5) naming CAP_BPF and CAP_PERFMON, nothing loaded', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t) || !haveCommands(t, ['setpriv'])) return;
  const example = compileExample(t, 'execsnoop');
  const watch = watchProgramNames(example.programNames);
  const [setpriv, ...setprivArgs] = onlyCapabilities('');
  const result = runTool(setpriv!, [...setprivArgs, ecliPath, 'run', example.packagePath]);
  assert.equal(
    result.stderr,
    'ecli: error: loading BPF needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN); this process (uid 0) lacks CAP_BPF and CAP_PERFMON\n' +
      "hint: root's capabilities are dropped here; grant them (for example docker run --cap-add BPF --cap-add PERFMON)\n",
  );
  assert.equal(result.status, 5);
  await watch.assertNoneAdded();
});

test('root with only CAP_BPF and CAP_PERFMON runs a tracepoint package', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t) || !haveCommands(t, ['setpriv'])) return;
  const packed = prepareExecsnoop(t);
  await runAndSeeExec(t, packed.exe, [packed.packagePath], { prefix: onlyCapabilities(',+bpf,+perfmon') });
});

test('an XDP package without CAP_NET_ADMIN: PERMISSION naming CAP_NET_ADMIN, nothing attached', async (t) => {
  if (!haveRoot(t) || !haveToolchain(t) || !haveCommands(t, ['setpriv', 'unshare', 'nsenter', 'ip'])) return;
  const example = compileExample(t, 'xdp');
  const netns = await privateNetns(t);
  const watch = watchProgramNames(example.programNames);
  const result = netns.run('setpriv', ['--bounding-set=-net_admin,-sys_admin', ecliPath, 'run', example.packagePath]);
  assert.equal(
    result.stderr,
    'ecli: error: loading XDP and TC programs needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (or CAP_SYS_ADMIN); this process (uid 0) lacks CAP_NET_ADMIN\n' +
      "hint: root's capabilities are dropped here; grant them (for example docker run --cap-add NET_ADMIN)\n",
  );
  assert.equal(result.status, 5);
  assert.doesNotMatch(netns.run('ip', ['link', 'show', 'lo']).stdout, /xdp/);
  await watch.assertNoneAdded();
});
