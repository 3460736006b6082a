import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runInspect } from '../../src/cli/commands/inspect.js';
import { inspectPackage, renderInspect, type InspectReport } from '../../src/cli/commands/inspect.js';
import { mapTypeName } from '../../src/model/map-types.js';
import { resolvePackageSource } from '../../src/inputs/source.js';
import { fixturesDir } from '../helpers/env.js';

async function report(name: string): Promise<InspectReport> {
  return inspectPackage(await resolvePackageSource(join(fixturesDir, name)));
}

/** The cells of the table row whose first cell is `first`, under the title line `title`. */
function row(text: string, title: string, first: string): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf(title);
  assert.notEqual(start, -1, `no "${title}" table in:\n${text}`);
  const end = lines.indexOf('', start);
  for (const line of lines.slice(start + 1, end)) {
    const cells = line
      .split('│')
      .slice(1, -1)
      .map((cell) => cell.trim());
    if (cells[0] === first) return cells;
  }
  assert.fail(`no row "${first}" in table "${title}":\n${lines.slice(start, end).join('\n')}`);
}

test('map type numbers have bpftool-style names', () => {
  assert.equal(mapTypeName(1), 'hash');
  assert.equal(mapTypeName(4), 'perf_event_array');
  assert.equal(mapTypeName(27), 'ringbuf');
  assert.equal(mapTypeName(999), 'type 999');
  assert.equal(mapTypeName(undefined), 'unknown');
});

test('inspect of bootstrap.json: programs, maps, options and the export layout', async () => {
  const r = await report('bootstrap.json');
  assert.equal(r.objName, 'client_bpf');
  assert.deepEqual(r.programs, [
    { name: 'handle_exec', section: 'tp/sched/sched_process_exec', attachKind: 'tracepoint', target: 'sched/sched_process_exec' },
    { name: 'handle_exit', section: 'tp/sched/sched_process_exit', attachKind: 'tracepoint', target: 'sched/sched_process_exit' },
  ]);
  const rb = r.maps.find((m) => m.name === 'rb');
  assert.equal(rb?.kind, 'ringbuf');
  assert.equal(rb?.output, 'events as struct event');
  const execStart = r.maps.find((m) => m.name === 'exec_start');
  assert.deepEqual(execStart && { kind: execStart.kind, key: execStart.key, value: execStart.value, output: execStart.output }, {
    kind: 'hash',
    key: 'pid_t',
    value: 'u64',
    output: undefined,
  });
  assert.deepEqual(
    r.maps.find((m) => m.ident === 'rodata'),
    { name: 'client_b.rodata', ident: 'rodata', kind: 'array', key: 'int', value: '.rodata', maxEntries: 1 },
  );
  assert.deepEqual(r.options, [
    {
      name: 'min_duration_ns',
      variable: 'min_duration_ns',
      section: '.rodata',
      type: 'unsigned long long',
      default: '0',
      initial: '0',
      help: 'Set value of `unsigned long long` variable min_duration_ns',
    },
  ]);
  assert.equal(r.exportStructs.length, 1);
  const event = r.exportStructs[0]!;
  assert.deepEqual([event.name, event.size, event.typeId], ['event', 176, 613]);
  assert.deepEqual(
    event.members.find((m) => m.member === 'comm'),
    { member: 'comm', offset: 24, size: 16, type: 'char[16]' },
  );
  assert.deepEqual(
    event.members.find((m) => m.member === 'et'),
    { member: 'et', offset: 168, size: 4, type: 'enum event_type' },
  );
});

test('inspect text of bootstrap.json has the expected tables and rows', async () => {
  const text = renderInspect(await report('bootstrap.json'), { json: false });
  assert.doesNotMatch(text, /\u001b\[/, 'no colour escapes');
  assert.deepEqual(row(text, 'Programs', 'handle_exec'), ['handle_exec', 'tp/sched/sched_process_exec', 'tracepoint', 'sched/sched_process_exec']);
  assert.deepEqual(row(text, 'Maps', 'rb').slice(0, 3), ['rb', 'rb', 'ringbuf']);
  assert.deepEqual(row(text, 'Options', '--min_duration_ns').slice(0, 5), ['--min_duration_ns', '.rodata', 'unsigned long long', '0', '0']);
  assert.deepEqual(row(text, 'Export struct event (176 bytes)', 'comm'), ['comm', '24', '16', 'char[16]']);
  assert.ok(!text.includes('__eunomia_dummy'), 'dummy variables are not options');
  assert.match(text, /^Prints {2}rb: events as struct event \(the only one of the ring buffers, perf event arrays and sampled maps\)$/m);
  assert.match(text, /^Needs {3}the kernel's BTF, for CO-RE relocations$/m);
});

test("inspect says which ecc built the package: the reference's, or ours in the reference's format", async () => {
  const reference = await report('runqlat.json');
  assert.match(renderInspect(reference, { json: false }), /^Built by eunomia-bpf ecc 0\.3\.0$/m);
  const ours = { ...reference, builtBy: 'ecli-ts 0.1.0', eunomiaVersion: '0.3.4' };
  assert.match(renderInspect(ours, { json: false }), /^Built by ecli-ts 0\.1\.0's ecc \(the package format of eunomia-bpf ecc 0\.3\.4\)$/m);
});

test('inspect of runqlat.json shows the sampled histogram map and its options', async () => {
  const r = await report('runqlat.json');
  const hists = r.maps.find((m) => m.name === 'hists');
  assert.deepEqual(hists && [hists.kind, hists.value, hists.output], ['hash', 'struct hist', 'sampled every 1000 ms as log2_hist']);
  assert.deepEqual(
    r.programs.map((p) => p.attachKind),
    ['raw_tracepoint', 'raw_tracepoint', 'raw_tracepoint'],
  );
  assert.ok(r.options.some((o) => o.name === 'targ_tgid' && o.type === 'pid_t'));
  assert.deepEqual(r.exports, [
    { map: 'hists', output: 'sampled every 1000 ms as log2_hist', reason: 'the only one of the ring buffers, perf event arrays and sampled maps' },
  ]);
  assert.deepEqual(
    r.exportStructs[0]?.members.map((m) => [m.member, m.offset, m.size, m.type]),
    [
      ['slots', 0, 104, '__u32[26]'],
      ['comm', 104, 16, 'char[16]'],
    ],
  );
});

test('inspect --json is the report as pretty JSON', async () => {
  const r = await report('bootstrap.json');
  const text = renderInspect(r, { json: true });
  assert.ok(text.startsWith('{\n  "source": '));
  const parsed = JSON.parse(text);
  assert.deepEqual(parsed, JSON.parse(JSON.stringify(r)));
  assert.deepEqual(Object.keys(parsed), [
    'source',
    'objName',
    'btfFiles',
    'programs',
    'maps',
    'exports',
    'iterators',
    'kernelBtfNeededFor',
    'options',
    'exportStructs',
  ]);
  assert.deepEqual(parsed.exportStructs[0].members[4], { member: 'comm', offset: 24, size: 16, type: 'char[16]' });
});

test('runInspect writes to the given stdout', async () => {
  let out = '';
  const stdout = new Writable({ write: (chunk, _enc, done) => ((out += String(chunk)), done()) });
  const stderr = new Writable({ write: (_chunk, _enc, done) => done() });
  await runInspect(join(fixturesDir, 'simple_prog_5_xdp.json'), { json: true }, { stdout, stderr });
  const parsed = JSON.parse(out);
  assert.deepEqual(parsed.programs, [{ name: 'xdp_pass', section: 'xdp', attachKind: 'xdp', target: 'lo (ifindex 1), BPF link' }]);
  assert.deepEqual(parsed.options, []);
});
