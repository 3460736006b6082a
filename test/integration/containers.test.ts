/**
 * Container enrichment and filters through `ecli run`, against real podman containers (their
 * own storage under a temp dir, an image made from busybox-static) and real execs of the host:
 * the seed execsnoop (a pid member) and execsnoop-full (a cgroup id member).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { jsonOf, startEcliFor, stopAndCheckUnloaded } from '../helpers/ecli-checks.js';
import { haveRoot } from '../helpers/env.js';
import { compileExample, haveToolchain, jsonRows, sleep, startHelper } from '../helpers/examples.js';
import { havePodman, startPodman } from '../helpers/podman.js';

/** Time for events of processes that already exited to reach ecli, before a test checks what is absent. */
const SETTLE_MS = 500;

function ready(t: TestContext): boolean {
  return haveRoot(t) && haveToolchain(t) && havePodman(t);
}

/** A copy of /bin/true at a path short enough for the seed's comm (15 characters), removed after the test. */
function hostProgram(t: TestContext, name: string): string {
  const dir = mkdtempSync('/tmp/');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const program = path.join(dir, name);
  assert.ok(program.length <= 15, program);
  copyFileSync('/bin/true', program);
  return program;
}

/** Runs `program` on the host and resolves with its pid once it exited. */
async function runOnHost(t: TestContext, program: string): Promise<number> {
  const helper = startHelper(t, program, [], { stdio: 'ignore' });
  assert.equal(await helper.exited, 0);
  return helper.pid;
}

const row = (line: string) => jsonOf(line) as { pid: number; comm: string; container?: Record<string, string> } | undefined;

test('execsnoop -j: an exec in a podman container carries its id, name, image and runtime; a host exec carries none', async (t) => {
  if (!ready(t)) return;
  const example = compileExample(t, 'execsnoop');
  const podman = startPodman(t);
  const ecli = await startEcliFor(t, ['run', '-j', example.packagePath]);
  const name = `ecli-enrich-${process.pid}`;
  const id = podman.startContainer(name, ['sleep', '2']);
  const inContainer = row(await ecli.waitForLine((line) => row(line)?.container?.name === name))!;
  assert.deepEqual(inContainer.container, { id, image: podman.image, name, runtime: 'podman' });
  assert.match(inContainer.comm, /sleep$/);

  const program = hostProgram(t, 'h');
  const pid = await runOnHost(t, program);
  const onHost = row(await ecli.waitForLine((line) => row(line)?.pid === pid))!;
  assert.equal(onHost.comm, program);
  assert.equal('container' in onHost, false, JSON.stringify(onHost));
  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});

test('execsnoop-full (a cgroup id member) names the container of a process that exited at once, through the API socket', async (t) => {
  if (!ready(t)) return;
  const example = compileExample(t, 'execsnoop-full');
  const podman = startPodman(t);
  const socket = await podman.startService();
  const ecli = await startEcliFor(t, ['run', '-j', '--container-socket', `podman=${socket}`, example.packagePath]);
  const name = `ecli-short-${process.pid}`;
  const id = podman.startContainer(name, ['true']);
  const event = row(await ecli.waitForLine((line) => row(line)?.container?.name === name))!;
  assert.deepEqual(event.container, { id, image: podman.image, name, runtime: 'podman' });
  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});

test('--filter container==NAME keeps exactly the rows of that container (execsnoop-full: by cgroup id, so short-lived processes count)', async (t) => {
  if (!ready(t)) return;
  const example = compileExample(t, 'execsnoop-full');
  const podman = startPodman(t);
  const [wanted, other] = [`ecli-want-${process.pid}`, `ecli-other-${process.pid}`];
  const ecli = await startEcliFor(t, ['run', '-j', '--filter', `container==${wanted}`, example.packagePath]);
  // busybox's sh runs its sleep applet without an exec: one exec (the shell's) per container.
  podman.startContainer(other, ['sh', '-c', 'sleep 1']);
  podman.startContainer(wanted, ['sh', '-c', 'sleep 1']);
  await runOnHost(t, hostProgram(t, 'h'));
  await ecli.waitForLine((line) => row(line)?.comm === 'sh');
  podman.run(['wait', other, wanted]);
  await sleep(SETTLE_MS);
  const rows = jsonRows(ecli) as Array<{ comm: string; container?: { name?: string } }>;
  assert.deepEqual(
    rows.filter((r) => r.container?.name !== wanted),
    [],
    'nothing from the other container or the host',
  );
  // runc's own init steps run in the container's cgroup before they exec its shell: they are its rows too.
  assert.ok(
    rows.some((r) => r.comm === 'sh'),
    JSON.stringify(rows.map((r) => r.comm)),
  );
  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});

test('--filter comm~RE keeps exactly the execs whose comm matches, and --pid those of one process', async (t) => {
  if (!ready(t)) return;
  const example = compileExample(t, 'execsnoop');
  const keep = hostProgram(t, 'k1');
  const drop = hostProgram(t, 'd1');
  const matching = await startEcliFor(t, ['run', '-j', '--filter', `comm~^${path.dirname(keep)}/k[0-9]$`, example.packagePath]);
  await runOnHost(t, drop);
  const kept = await runOnHost(t, keep);
  await matching.waitForLine((line) => row(line)?.pid === kept);
  await sleep(SETTLE_MS);
  assert.deepEqual(
    jsonRows(matching).map((r) => r.comm),
    [keep],
  );
  await stopAndCheckUnloaded(matching, 'SIGINT', example.programNames);

  // The shell waits for a line, then becomes the program (same pid): the exec ecli sees.
  const target = startHelper(t, 'sh', ['-c', 'read go; exec "$0"', keep], { stdio: ['pipe', 'ignore', 'inherit'] });
  const byPid = await startEcliFor(t, ['run', '-j', '--pid', String(target.pid), example.packagePath]);
  await runOnHost(t, keep);
  target.child.stdin!.end('go\n');
  assert.equal(await target.exited, 0);
  await byPid.waitForLine((line) => row(line)?.pid === target.pid);
  await sleep(SETTLE_MS);
  assert.deepEqual(
    jsonRows(byPid).map((r) => [r.pid, r.comm]),
    [[target.pid, keep]],
  );
  await stopAndCheckUnloaded(byPid, 'SIGINT', example.programNames);
});

test('--metrics-labels container counts the events of a container under its name, image and runtime', async (t) => {
  if (!ready(t)) return;
  const example = compileExample(t, 'execsnoop-full');
  const podman = startPodman(t);
  const ecli = await startEcliFor(t, ['run', '-j', '--metrics', '127.0.0.1:0', '--metrics-labels', 'container', example.packagePath]);
  const url = /serving metrics at (http:\/\/\S+)/.exec(ecli.stderr())?.[1];
  assert.ok(url, ecli.stderr());
  const name = `ecli-metrics-${process.pid}`;
  podman.startContainer(name, ['true']);
  await ecli.waitForLine((line) => row(line)?.container?.name === name);
  const text = await (await fetch(url)).text();
  const series = new RegExp(
    `^ecli_container_events_total\\{export="rb",container="${name}",image="${podman.image}",runtime="podman",pod="",namespace=""\\} ([1-9]\\d*)$`,
    'm',
  );
  assert.match(text, series);
  assert.match(text, /^ecli_container_events_total\{export="rb",container="",image="",runtime="",pod="",namespace=""\} [1-9]\d*$/m, 'host processes');
  await stopAndCheckUnloaded(ecli, 'SIGINT', example.programNames);
});
