/**
 * The run engine without a kernel: a fake kernel hands it readers and maps fed by the test, and
 * a fake clock drives the poll loop and the samplers. Through the CLI's stdout output (what
 * `ecli run` prints, the notices, the summary) and the library's queues.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Btf } from '../../src/btf/btf.js';
import { EcliError } from '../../src/errors.js';
import type { EunomiaObjectMeta, MapMeta } from '../../src/package/types.js';
import { planExports } from '../../src/model/exports.js';
import { MAP_TYPE, mapTypeName } from '../../src/model/map-types.js';
import type { MapSpec } from '../../src/model/maps.js';
import type { PackageSpec } from '../../src/model/spec.js';
import { Session } from '../../src/api/session.js';
import { zeroCounters, type RunCounters } from '../../src/runner/counters.js';
import {
  RunEngine,
  type LoadedRunObject,
  type RecordHandlers,
  type RunKernel,
  type RunLimits,
  type RunOutput,
  type RunSettings,
} from '../../src/runner/engine.js';
import { NOTICE_INTERVAL_MS } from '../../src/runner/event-notices.js';
import type { RunObserver } from '../../src/runner/observer.js';
import { MAX_HELD_RECORDS, NO_CONTEXT, type RecordContext, type StageFactory } from '../../src/runner/stages.js';
import { POLL_INTERVAL_MS, type Poller } from '../../src/runner/poll-loop.js';
import { OUTPUT_GRACE_MS, StdoutOutput, type OutputWatcher } from '../../src/runner/print.js';
import type { SampleSource } from '../../src/runner/sampler.js';
import { RunStop } from '../../src/runner/stop.js';
import type { LineReaderHandlers } from '../../src/runner/trace-relay.js';
import { BtfBuilder } from '../helpers/btf-builder.js';
import type { ContainerLookup, ContainerSource } from '../../src/containers/resolver.js';
import type { ContainerInfo } from '../../src/format/container.js';
import type { OutputSettings } from '../../src/format/event.js';
import { parseFields } from '../../src/format/fields.js';
import { loadRegexCompiler } from '../../src/filter/regex.js';
import { parseFilterRules, shorthandRule } from '../../src/filter/rules.js';
import { stageFactory, type StageChoices } from '../../src/runner/event-stages.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** `struct event { unsigned int pid; unsigned int seq; }`, exported through a ring buffer, or sampled from a hash map. */
function eventBtf() {
  const b = new BtfBuilder();
  const u32 = b.int('unsigned int', 4);
  const event = b.struct('event', [
    { name: 'pid', type: u32 },
    { name: 'seq', type: u32 },
  ]);
  return { btf: Btf.parse(b.build()), u32, event };
}

const HASH_MAP = 1;
const EVENTS: MapMeta = { name: 'events', ident: 'events' };
const counts = (clearMap: boolean, interval = 1000): MapMeta => ({
  name: 'counts',
  ident: 'counts',
  sample: { interval, type: 'default_kv', clear_map: clearMap },
});

/** A package spec with the given maps exported (a ring buffer named `events`, a sampled hash map `counts`); no exports: a bpf_printk package. */
function specOf(maps: MapMeta[], iterators: string[] = []): PackageSpec {
  const { btf, u32, event } = eventBtf();
  const meta = {
    bpf_skel: { obj_name: 'test_bpf', maps, progs: [], data_sections: [] },
    enable_multiple_export_types: maps.length > 1 || undefined,
    export_types: [
      {
        name: 'event',
        members: [
          { name: 'pid', type: 'unsigned int' },
          { name: 'seq', type: 'unsigned int' },
        ],
        size: 8,
        type_id: event,
      },
    ],
  } as unknown as EunomiaObjectMeta;
  const mapSpecs = maps.map((map): MapSpec => {
    const type = map.sample ? HASH_MAP : MAP_TYPE.ringbuf;
    return {
      name: map.name,
      ident: map.ident,
      type,
      kind: mapTypeName(type),
      transport: map.sample ? 'other' : 'ringbuf',
      perCpu: false,
      btfKeyTypeId: u32,
      btfValueTypeId: event,
      valueSize: 8,
      meta: maps.length > 1 ? { ...map, export_config: map.sample ? 'default' : { btf_type_id: event } } : map,
    };
  });
  const { exports, warnings } = planExports(meta, btf, mapSpecs);
  return {
    source: 'test.json',
    objectName: 'test_bpf',
    meta,
    btf,
    programs: [{ name: 'handle', kind: 'tracepoint' }],
    maps: mapSpecs,
    exports,
    iterators: iterators.map((program) => ({ program, section: 'iter/task', target: 'task' })),
    warnings,
    options: [],
    dataSections: [],
    perfBufferPages: 64,
  } as unknown as PackageSpec;
}

function record(pid: number, seq: number): Buffer {
  const data = Buffer.alloc(8);
  data.writeUInt32LE(pid, 0);
  data.writeUInt32LE(seq, 4);
  return data;
}

/** A buffer reader fed by the test: poll() hands queued records to the engine, at most `batch` per poll. */
class FakeReader implements Poller {
  readonly queue: (Buffer | { lost: number } | Error)[] = [];
  handlers: RecordHandlers | undefined;
  closed = false;
  polls = 0;
  constructor(private readonly batch = 100) {}
  poll(): number {
    this.polls++;
    const items = this.queue.splice(0, this.batch);
    for (const item of items) {
      if (item instanceof Error) throw item;
      if (Buffer.isBuffer(item)) this.handlers!.onRecord(item, 0, item.length);
      else this.handlers!.onLost(item.lost);
    }
    return items.length;
  }
  close(): void {
    this.closed = true;
  }
}

/** The kernel side: what the engine opens, loads and reads, all fed by the test. */
class FakeKernel implements RunKernel {
  readonly reader: FakeReader;
  source: SampleSource = { entries: () => [], take: () => [] };
  /** What each iterator program's passes read, chunk by chunk: the next pass takes the next entry (the last one repeats). */
  iteratorPasses = new Map<string, (string | Uint8Array | Error)[][]>();
  readonly passesRead = new Map<string, number>();
  tracePipe: LineReaderHandlers | undefined;
  tracePipeClosed = false;
  steps: string[] = [];
  failAt: string | undefined;
  detachFailure: Error | undefined;

  constructor(batch?: number) {
    this.reader = new FakeReader(batch);
  }

  open: RunKernel['open'] = () => {
    this.step('open');
    return {
      checkHost: () => this.step('check'),
      close: () => this.steps.push('close opened'),
      load: (): LoadedRunObject => {
        this.step('load');
        return {
          attachAll: () => this.step('attach'),
          recordReader: () => (handlers) => {
            this.reader.handlers = handlers;
            return this.reader;
          },
          sampleSource: () => this.source,
          readIterator: (program, onChunk) => {
            const passes = this.iteratorPasses.get(program) ?? [[]];
            const read = this.passesRead.get(program) ?? 0;
            this.passesRead.set(program, read + 1);
            for (const chunk of passes[Math.min(read, passes.length - 1)]!) {
              if (chunk instanceof Error) throw chunk;
              onChunk(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
            }
          },
          close: () => {
            this.steps.push('close loaded');
            return this.detachFailure;
          },
        };
      },
    };
  };

  openTracePipe: RunKernel['openTracePipe'] = (handlers) => {
    this.tracePipe = handlers;
    return { close: () => (this.tracePipeClosed = true) };
  };

  private step(name: string): void {
    this.steps.push(name);
    if (this.failAt === name) throw new Error(`${name} failed`);
  }
}

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: (error?: Error | null) => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

interface CliRunOptions {
  maps?: MapMeta[];
  /** Iterator programs of the package. */
  iterators?: string[];
  iteratorIntervalMs?: number;
  format?: 'plain' | 'json';
  limits?: RunLimits;
  tracePipe?: boolean;
  watchOutput?: OutputWatcher;
  stdout?: Writable;
  kernel?: FakeKernel;
  observer?: RunObserver;
  /** `--filter` and its shorthands, and the containers (as ecli run's flags give them). */
  choices?: Partial<StageChoices>;
  fields?: OutputSettings['fields'];
}

/** `ecli run` over the fake kernel: the engine with the stdout output, as runner/run.ts puts them together. */
function cliRun(options: CliRunOptions = {}) {
  const clock = new FakeClock();
  const stdout = options.stdout ?? new Capture();
  const notices: string[] = [];
  const kernel = options.kernel ?? new FakeKernel();
  const spec = specOf(options.maps ?? [EVENTS], options.iterators);
  const stop = new RunStop();
  // eslint-disable-next-line prefer-const -- the output reads the counters of the engine made after it
  let engine: RunEngine | undefined;
  const format = options.format ?? 'json';
  const output = new StdoutOutput(spec, {
    stdout,
    notice: (message) => notices.push(message),
    output: {
      format,
      ...(format === 'json' ? { time: 'none' as const } : {}),
      ...(options.fields ? { fields: options.fields } : {}),
      containers: options.choices?.containers !== undefined,
    },
    clock,
    stop,
    counters: () => engine?.counters ?? zeroCounters(),
    ...(options.watchOutput ? { watchOutput: options.watchOutput } : {}),
    repeatedSnapshots: options.iteratorIntervalMs !== undefined,
  });
  const stages = options.choices
    ? stageFactory(spec, { rules: [], regex: undefined, containers: undefined, ...options.choices }, (message) => notices.push(message))
    : undefined;
  const settings: RunSettings = {
    images: [],
    verbose: false,
    btfCustomPath: undefined,
    limits: options.limits ?? {},
    tracePipe: options.tracePipe ?? false,
    lastIntervalOnStop: true,
    ...(stages ? { stages } : {}),
    iteratorIntervalMs: options.iteratorIntervalMs,
  };
  engine = RunEngine.start(spec, settings, output, { kernel, clock, stop, ...(options.observer ? { observer: options.observer } : {}) });
  const end = async (forced?: Promise<unknown>) => {
    const failure = engine.close();
    output.close();
    await output.finish(forced);
    return failure;
  };
  return { clock, stdout: stdout as Capture, notices, kernel, reader: kernel.reader, engine, output, end, forever: new Promise<string>(() => undefined) };
}

const rows = (text: string) => text.split('\n').filter(Boolean);

test('open → check → load → attach, then the header; records fed by the reader are written after each poll', async () => {
  const { clock, stdout, kernel, reader, end } = cliRun({ format: 'plain' });
  assert.deepEqual(kernel.steps, ['open', 'check', 'load', 'attach']);
  assert.match(stdout.text, /^TIME +PID +SEQ +\n$/);
  reader.queue.push(record(42, 1), record(43, 2));
  clock.advance(POLL_INTERVAL_MS);
  const lines = rows(stdout.text).slice(1);
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d +42 +1 *$/);
  assert.match(lines[1]!, /^\d\d:\d\d:\d\d +43 +2 *$/);
  await end();
  assert.deepEqual(kernel.steps.slice(4), ['close loaded']);
});

test('a failure while opening, checking or loading leaves nothing open; one while attaching detaches what was attached', () => {
  for (const failAt of ['open', 'check', 'load', 'attach']) {
    const kernel = new FakeKernel();
    kernel.failAt = failAt;
    assert.throws(() => cliRun({ kernel }), new RegExp(`${failAt} failed`));
    const closes = kernel.steps.filter((s) => s.startsWith('close'));
    assert.deepEqual(closes, failAt === 'open' ? [] : failAt === 'attach' ? ['close loaded'] : ['close opened'], failAt);
  }
});

test('a busy reader is polled again at once; an idle one after the poll interval', async () => {
  const { clock, stdout, reader, end } = cliRun({ kernel: new FakeKernel(1) });
  for (let i = 0; i < 5; i++) reader.queue.push(record(1, i));
  clock.advance(POLL_INTERVAL_MS);
  // The fake clock does not move inside a burst, so the whole backlog goes in one burst.
  assert.equal(rows(stdout.text).length, 5);
  const polls = reader.polls;
  clock.advance(POLL_INTERVAL_MS - 1);
  assert.equal(reader.polls, polls, 'idle: no poll before the interval');
  clock.advance(1);
  assert.equal(reader.polls, polls + 1);
  await end();
});

test('malformed records are counted and reported at most once per notice interval, and once more at the end', async () => {
  const { clock, notices, reader, engine, end } = cliRun();
  reader.queue.push(Buffer.alloc(4), Buffer.alloc(2));
  clock.advance(POLL_INTERVAL_MS);
  assert.equal(notices.length, 1);
  assert.match(notices[0]!, /^skipped 2 malformed events: event of \d+ bytes is too short for struct event/);
  reader.queue.push(Buffer.alloc(4));
  clock.advance(POLL_INTERVAL_MS);
  assert.equal(notices.length, 1, 'rate-limited');
  clock.advance(NOTICE_INTERVAL_MS);
  assert.equal(notices.length, 2);
  assert.match(notices[1]!, /^skipped 1 malformed events/);
  reader.queue.push(Buffer.alloc(1));
  clock.advance(POLL_INTERVAL_MS);
  assert.equal(engine.counters.malformed, 4);
  await end();
  assert.match(notices.at(-1)!, /^skipped 1 malformed events/);
});

test('lost events reported by the reader are announced on stderr', async () => {
  const { clock, notices, reader, engine, end } = cliRun();
  reader.queue.push({ lost: 7 }, record(1, 1), { lost: 3 });
  clock.advance(POLL_INTERVAL_MS);
  assert.deepEqual(notices, ['lost 10 events (perf buffer full; raise perf_buffer_pages in the package)']);
  assert.equal(engine.counters.lost, 10);
  await end();
});

test('close drains what is still queued, then closes every reader', async () => {
  const { stdout, reader, end } = cliRun({ kernel: new FakeKernel(2) });
  for (let i = 0; i < 5; i++) reader.queue.push(record(9, i));
  await end();
  assert.equal(reader.closed, true);
  assert.equal(rows(stdout.text).length, 5);
});

test('a reader that fails ends the run with its error; the buffers are not drained after a failure', async () => {
  const { clock, reader, engine, end, forever } = cliRun({ kernel: new FakeKernel(1) });
  const stopped = engine.wait(forever);
  reader.queue.push(new Error('ring buffer gone'), record(1, 1));
  clock.advance(POLL_INTERVAL_MS);
  await assert.rejects(stopped, /ring buffer gone/);
  const polls = reader.polls;
  await end();
  assert.equal(reader.polls, polls);
  assert.equal(reader.closed, true);
});

test('a stop signal resolves the run with status 0, and close cancels every timer', async () => {
  const { clock, engine, end } = cliRun({ maps: [EVENTS, counts(false)] });
  assert.equal(await engine.wait(Promise.resolve('SIGTERM')), 0);
  await end(Promise.resolve());
  assert.equal(clock.pending, 0);
});

test('when stdout breaks (its reader went away) the run stops with status 0', async () => {
  const { stdout, engine, end, forever } = cliRun();
  const stopped = engine.wait(forever);
  stdout.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
  assert.equal(await stopped, 0);
  await end();
});

test('--count 3: the run ends after the third event printed; the rest is not printed and not drained', async () => {
  const { clock, stdout, reader, engine, output, end, forever } = cliRun({ limits: { count: 3 } });
  const stopped = engine.wait(forever);
  for (let i = 0; i < 5; i++) reader.queue.push(record(7, i));
  clock.advance(POLL_INTERVAL_MS);
  assert.equal(await stopped, 0);
  reader.queue.push(record(7, 9));
  await end();
  assert.deepEqual(
    rows(stdout.text).map((l) => (JSON.parse(l) as { seq: number }).seq),
    [0, 1, 2],
  );
  assert.equal(reader.queue.length, 1, 'not drained after the count');
  assert.equal(output.summary(engine.elapsedMs), 'printed 3 events in 0.010 s; 0 lost, 0 malformed, 0 dropped');
});

test('--count 2 of a sampled map counts intervals: the first is read one interval after the start, the second one interval later', async () => {
  const kernel = new FakeKernel();
  kernel.source = { entries: () => [[record(5, 0).subarray(0, 4), record(5, 6)]], take: () => [] };
  const { clock, engine, output, end, forever } = cliRun({ maps: [counts(false)], kernel, limits: { count: 2 } });
  let done = false;
  const stopped = engine.wait(forever).then((status) => ((done = true), status));
  clock.advance(1999);
  await Promise.resolve();
  assert.equal(done, false);
  clock.advance(1);
  assert.equal(await stopped, 0);
  await end();
  assert.equal(output.summary(engine.elapsedMs), 'printed 2 intervals in 2.000 s; 0 lost, 0 malformed, 0 dropped');
});

test('an iterator package prints one pass of each iterator after attaching, escaped, and the run ends by itself', async () => {
  const kernel = new FakeKernel();
  const euro = Buffer.from('€');
  // A line and a UTF-8 character split across reads, a control character from the program's data, no final newline.
  kernel.iteratorPasses.set('dump_task', [
    ['PID COMM\n1 ini', 't\n2 \x1b[31mevil\n3 ', euro.subarray(0, 1), Buffer.concat([euro.subarray(1), Buffer.from('x')])],
  ]);
  kernel.iteratorPasses.set('dump_file', [['fd 0\n']]);
  const { stdout, engine, output, end, forever } = cliRun({ maps: [], iterators: ['dump_task', 'dump_file'], format: 'plain', kernel });
  assert.equal(stdout.text, 'PID COMM\n1 init\n2 \\e[31mevil\n3 €x\nfd 0\n');
  assert.equal(engine.hasEnded, true, 'nothing else to read: the run ends after the pass');
  assert.equal(await engine.wait(forever), 0);
  await end();
  assert.match(output.summary(engine.elapsedMs), /^printed 1 iterator snapshot in /);
});

test('--interval repeats the iterators every interval, with a time line before each snapshot; --count counts snapshots', async () => {
  const kernel = new FakeKernel();
  kernel.iteratorPasses.set('dump_task', [['first\n'], ['second\n'], ['third\n']]);
  const { clock, stdout, engine, output, end, forever } = cliRun({
    maps: [],
    iterators: ['dump_task'],
    format: 'plain',
    kernel,
    iteratorIntervalMs: 1000,
    limits: { count: 3 },
  });
  assert.match(stdout.text, /^\d\d:\d\d:\d\d\nfirst\n$/);
  assert.equal(engine.hasEnded, false);
  clock.advance(1000);
  assert.match(stdout.text, /^\d\d:\d\d:\d\d\nfirst\n\d\d:\d\d:\d\d\nsecond\n$/);
  clock.advance(1000);
  assert.equal(await engine.wait(forever), 0);
  await end();
  assert.equal(
    rows(stdout.text)
      .filter((l) => !/^\d\d:/.test(l))
      .join(','),
    'first,second,third',
  );
  assert.match(output.summary(engine.elapsedMs), /^printed 3 iterator snapshots in 2\.000 s/);
});

test('iterator lines in JSON name their iterator; a failed read fails the run', async () => {
  const kernel = new FakeKernel();
  kernel.iteratorPasses.set('dump_task', [['a "quoted"\n\x01b\n']]);
  const { stdout, end } = cliRun({ maps: [], iterators: ['dump_task'], kernel });
  assert.deepEqual(
    rows(stdout.text).map((l) => JSON.parse(l)),
    [
      { iterator: 'dump_task', line: 'a "quoted"' },
      { iterator: 'dump_task', line: '\x01b' },
    ],
  );
  await end();

  const failing = new FakeKernel();
  failing.iteratorPasses.set('dump_task', [['x\n', new EcliError('RUNTIME', 'cannot read the iterator')]]);
  const run = cliRun({ maps: [], iterators: ['dump_task'], kernel: failing });
  await assert.rejects(run.engine.wait(run.forever), /cannot read the iterator/);
  await run.end();
});

test('--interval on a package without iterators is a usage error before anything is opened', () => {
  const kernel = new FakeKernel();
  assert.throws(() => cliRun({ kernel, iteratorIntervalMs: 1000 }), { code: 'USAGE', message: /--interval: package test_bpf has no iterator/ });
  assert.deepEqual(kernel.steps, []);
});

test('--count on a package without exports is a usage error before anything is opened', () => {
  const kernel = new FakeKernel();
  assert.throws(() => cliRun({ maps: [], kernel, limits: { count: 1 } }), { code: 'USAGE', message: /--count 1: package test_bpf exports no map/ });
  assert.deepEqual(kernel.steps, []);
});

test('--duration: the run ends with status 0 once the time is over, and the summary says how long it ran', async () => {
  const { clock, reader, engine, output, end, forever } = cliRun({ limits: { durationMs: 2500 } });
  reader.queue.push(record(1, 1), Buffer.alloc(2), { lost: 4 });
  const stopped = engine.wait(forever);
  clock.advance(2499);
  let done = false;
  void stopped.then(() => (done = true));
  await Promise.resolve();
  assert.equal(done, false);
  clock.advance(1);
  assert.equal(await stopped, 0);
  await end();
  assert.equal(clock.pending, 0);
  assert.equal(output.summary(engine.elapsedMs), 'printed 1 event in 2.500 s; 4 lost, 1 malformed, 0 dropped');
});

test("the output watcher ends the run when stdout's reader goes away, with nothing written; close stops watching", async () => {
  let gone: (() => void) | undefined;
  let watching = false;
  const { engine, end, forever } = cliRun({
    watchOutput: (onGone) => {
      gone = onGone;
      watching = true;
      return () => (watching = false);
    },
  });
  const stopped = engine.wait(forever);
  gone!();
  assert.equal(await stopped, 0);
  await end();
  assert.equal(watching, false);
});

test('sampling reads the map one interval after the start and every interval, and takes the entries out of it only with clear_map (#28.2: not at once)', async () => {
  for (const clearMap of [false, true]) {
    const kernel = new FakeKernel();
    const entries = new Map<string, [Uint8Array, Uint8Array]>([['k', [record(5, 0).subarray(0, 4), record(5, 6)]]]);
    const reads: string[] = [];
    kernel.source = {
      entries: () => (reads.push('entries'), entries.values()),
      take: () => (reads.push('take'), entries.values()),
    };
    const { clock, stdout, end } = cliRun({ maps: [counts(clearMap)], kernel });
    clock.advance(999);
    assert.equal(stdout.text, '', 'not sampled before one interval');
    clock.advance(1);
    assert.equal(rows(stdout.text).length, 1);
    clock.advance(2000);
    const lines = rows(stdout.text);
    assert.equal(lines.length, 3);
    // Key columns without an export type are named after their type, as the reference names them.
    assert.deepEqual(JSON.parse(lines[0]!), { key: { 'unsigned int': 5 }, value: { pid: 5, seq: 6 } });
    assert.deepEqual(reads, Array(3).fill(clearMap ? 'take' : 'entries'), 'clear_map takes the entries out of the map as it reads them');
    await end();
  }
});

test('a stop signal between two reads prints the partial interval, as runqlat does on Ctrl-C; not after --count, nor at a read', async () => {
  const sampled = () => {
    const kernel = new FakeKernel();
    kernel.source = { entries: () => [[record(5, 0).subarray(0, 4), record(5, 6)]], take: () => [] };
    return kernel;
  };
  const stopped = cliRun({ maps: [counts(false)], kernel: sampled() });
  stopped.clock.advance(1400);
  assert.equal(await stopped.engine.wait(Promise.resolve('SIGINT')), 0);
  await stopped.end();
  assert.equal(rows(stopped.stdout.text).length, 2, 'the full interval and the partial one');
  assert.equal(stopped.output.summary(stopped.engine.elapsedMs), 'printed 2 intervals in 1.400 s; 0 lost, 0 malformed, 0 dropped');

  const atRead = cliRun({ maps: [counts(false)], kernel: sampled() });
  atRead.clock.advance(1000);
  assert.equal(await atRead.engine.wait(Promise.resolve('SIGINT')), 0);
  await atRead.end();
  assert.equal(rows(atRead.stdout.text).length, 1, 'no second read of the same moment');

  const counted = cliRun({ maps: [counts(false)], kernel: sampled(), limits: { count: 1 } });
  const done = counted.engine.wait(counted.forever);
  counted.clock.advance(1000);
  assert.equal(await done, 0);
  counted.clock.advance(300);
  await counted.end();
  assert.equal(rows(counted.stdout.text).length, 1, '--count 1 prints one interval');
});

test('the summary counts the intervals that printed something: an empty map prints nothing and is not counted', async () => {
  const kernel = new FakeKernel();
  let reads = 0;
  kernel.source = { entries: () => (++reads === 2 ? [[record(5, 0).subarray(0, 4), record(5, 6)]] : []), take: () => [] };
  const { clock, engine, output, stdout, end } = cliRun({ maps: [counts(false)], kernel, limits: { count: 3 } });
  const done = engine.wait(new Promise(() => {}));
  clock.advance(3000);
  assert.equal(await done, 0);
  await end();
  assert.equal(reads, 3, '--count counts every interval read');
  assert.equal(rows(stdout.text).length, 1);
  assert.equal(output.summary(engine.elapsedMs), 'printed 1 interval in 3.000 s; 0 lost, 0 malformed, 0 dropped');

  const quiet = new FakeKernel();
  quiet.source = { entries: () => [], take: () => [] };
  const empty = cliRun({ maps: [counts(false)], kernel: quiet });
  empty.clock.advance(2000);
  assert.equal(await empty.engine.wait(Promise.resolve('SIGINT')), 0);
  await empty.end();
  assert.equal(empty.stdout.text, '');
  assert.equal(
    empty.output.summary(empty.engine.elapsedMs),
    'printed 0 intervals in 2.000 s; 0 lost, 0 malformed, 0 dropped',
    'a package of sampled maps counts intervals, even none',
  );
});

test('a map that cannot be read ends the run with the error', async () => {
  const kernel = new FakeKernel();
  kernel.source = {
    entries: () => {
      throw new Error('cannot read map counts: EPERM');
    },
    take: () => [],
  };
  const { clock, engine, end, forever } = cliRun({ maps: [counts(false)], kernel });
  const stopped = engine.wait(forever);
  clock.advance(1000);
  await assert.rejects(stopped, /cannot read map counts/);
  await end();
});

test('trace pipe lines are relayed to stdout one by one (escaped); a read error ends the run; the summary counts the lines', async () => {
  const { stdout, kernel, engine, output, end, forever } = cliRun({ maps: [], tracePipe: true });
  kernel.tracePipe!.onLine('bash-1 [000] BPF triggered from PID 1.');
  kernel.tracePipe!.onLine('second \x1b[2J');
  assert.equal(stdout.text, 'bash-1 [000] BPF triggered from PID 1.\nsecond \\e[2J\n');
  const stopped = engine.wait(forever);
  kernel.tracePipe!.onError(new Error('trace_pipe: EIO'));
  await assert.rejects(stopped, /EIO/);
  await end();
  assert.equal(kernel.tracePipeClosed, true);
  assert.match(output.summary(engine.elapsedMs), /^printed 2 trace pipe lines in /);
});

/** A stdout whose reader stopped reading: nothing written ever completes. */
class Stalled extends Writable {
  constructor() {
    super({ highWaterMark: 16 });
  }
  override _write(): void {}
}

function stalledRun(records: number) {
  const run = cliRun({ stdout: new Stalled() });
  for (let i = 0; i < records; i++) run.reader.queue.push(record(7, i));
  run.clock.advance(POLL_INTERVAL_MS);
  return run;
}

test('a stdout that stopped reading holds the exit for OUTPUT_GRACE_MS at most; the unwritten lines are reported, and none counted as printed', async () => {
  const { clock, notices, engine, output, end } = stalledRun(5);
  let finished = false;
  const finishing = end().then(() => {
    finished = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(finished, false, 'still waiting for stdout');
  clock.advance(OUTPUT_GRACE_MS);
  await finishing;
  assert.deepEqual(notices, ['dropped 5 lines because stdout could not keep up (5 of them still waiting for stdout when ecli stopped)']);
  assert.match(output.summary(engine.elapsedMs), /^printed 0 events in .*; 0 lost, 0 malformed, 5 dropped$/);
});

test('a second stop signal ends the wait for a stalled stdout at once', async () => {
  const { notices, end } = stalledRun(1);
  await end(Promise.resolve('SIGINT'));
  assert.deepEqual(notices, ['dropped 1 line because stdout could not keep up (1 of them still waiting for stdout when ecli stopped)']);
});

test("each export's counters count every record received, the malformed ones and the lost ones; observers get them before anything is opened", async () => {
  const observed: [string, Readonly<RunCounters>][] = [];
  const kernel = new FakeKernel();
  const observer: RunObserver = {
    events: (exported, counters) => void observed.push([exported.map.name, counters]),
    sampled: () => ({ connect: () => undefined, intervalRead: () => undefined }),
    detach: () => void observed.push(['detached', zeroCounters()]),
  };
  const { clock, reader, end } = cliRun({ kernel, observer });
  assert.deepEqual(
    observed.map(([name]) => name),
    ['events'],
  );
  reader.queue.push(record(1, 1), Buffer.alloc(2), { lost: 5 }, record(1, 2));
  clock.advance(POLL_INTERVAL_MS);
  assert.deepEqual(observed[0]![1], { received: 3, lost: 5, malformed: 1, filtered: 0, dropped: 0 });
  await end();
  assert.equal(observed.at(-1)![0], 'detached');
});

test('the library: records decode into the events() queue, samples into samples(), the first one interval after the start (#28.2); stats are the engine counters; close ends both loops', async () => {
  const kernel = new FakeKernel();
  kernel.source = { entries: () => [[record(5, 0).subarray(0, 4), record(5, 6)]], take: () => [] };
  const interval = 50;
  const spec = specOf([EVENTS, counts(false, interval)]);
  const settings: RunSettings = { images: [], verbose: false, btfCustomPath: undefined, limits: {}, tracePipe: false };
  const started = Date.now();
  const session = new Session(spec, settings, { queueLimits: { records: 2, bytes: 1 << 20 }, signal: undefined, warn: () => undefined, kernel });
  kernel.reader.queue.push(record(1, 1), Buffer.alloc(3), record(1, 2), record(1, 3));
  const samples = session.samples()[Symbol.asyncIterator]();
  const first = await samples.next();
  assert.ok(first.value!.time.getTime() - started >= interval - 1, `first sample after ${first.value!.time.getTime() - started} ms`);
  assert.deepEqual(first.value!.entries, [{ key: { 'unsigned int': 5 }, value: { pid: 5, seq: 6 } }]);
  assert.deepEqual(session.stats, { received: 4, lost: 0, malformed: 1, filtered: 0, dropped: 1 });
  const events = session.events();
  await session.close();
  const got: unknown[] = [];
  for await (const event of events) got.push(event);
  assert.deepEqual(got, [
    { pid: 1, seq: 1 },
    { pid: 1, seq: 2 },
  ]);
  assert.deepEqual(kernel.steps.at(-1), 'close loaded');
});

/** The engine with an output that records what reaches the sinks: each record's seq and context, each interval's entries. */
function stagedRun(stages: StageFactory, options: { maps?: MapMeta[]; observer?: RunObserver; limits?: RunLimits; kernel?: FakeKernel } = {}) {
  const clock = new FakeClock();
  const kernel = options.kernel ?? new FakeKernel();
  const delivered: { seq: number; context: RecordContext }[] = [];
  const intervals: number[][] = [];
  let flushes = 0;
  const output: RunOutput = {
    events: () => (data, offset, _length, context) => {
      delivered.push({ seq: data.readUInt32LE(offset + 4), context });
      return 'delivered';
    },
    samples: () => (entries) => {
      intervals.push(entries.map(([key]) => Buffer.from(key).readUInt32LE(0)));
      return 0;
    },
    flush: () => void flushes++,
    warn: () => undefined,
  };
  const settings: RunSettings = { images: [], verbose: false, btfCustomPath: undefined, limits: options.limits ?? {}, tracePipe: false, stages };
  const engine = RunEngine.start(specOf(options.maps ?? [EVENTS]), settings, output, {
    kernel,
    clock,
    ...(options.observer ? { observer: options.observer } : {}),
  });
  return { clock, kernel, reader: kernel.reader, engine, delivered, intervals, flushes: () => flushes };
}

const seqOf = (data: Buffer, offset: number) => data.readUInt32LE(offset + 4);

test('a filter stage drops records before the sink, counted as filtered; it sees the enrichment', async () => {
  const stages: StageFactory = () => ({
    enrich: (data, offset) => (seqOf(data, offset) % 2 === 0 ? { container: { id: 'c0ffee', runtime: 'podman' } } : NO_CONTEXT),
    keep: (_data, _offset, _length, context) => context.container !== undefined,
  });
  const { clock, reader, engine, delivered } = stagedRun(stages);
  for (let i = 0; i < 5; i++) reader.queue.push(record(1, i));
  clock.advance(POLL_INTERVAL_MS);
  assert.deepEqual(
    delivered.map((d) => [d.seq, d.context.container?.id]),
    [
      [0, 'c0ffee'],
      [2, 'c0ffee'],
      [4, 'c0ffee'],
    ],
  );
  assert.deepEqual(engine.counters, { received: 5, lost: 0, malformed: 0, filtered: 2, dropped: 0 });
  engine.close();
});

test('an enrichment that is not known yet holds its record and the later ones, in order, until it settles; close hands on what still waits', async () => {
  const answers = new Map<number, (context: RecordContext) => void>();
  const stages: StageFactory = () => ({
    enrich: (data, offset) => {
      const seq = seqOf(data, offset);
      if (seq !== 1 && seq !== 3) return { container: { id: `c${seq}`, runtime: 'docker' } };
      return new Promise<RecordContext>((resolve) => answers.set(seq, resolve));
    },
  });
  const { clock, reader, engine, delivered, flushes } = stagedRun(stages);
  for (let i = 0; i < 5; i++) reader.queue.push(record(1, i));
  clock.advance(POLL_INTERVAL_MS);
  assert.deepEqual(
    delivered.map((d) => d.seq),
    [0],
    'held behind record 1',
  );
  const before = flushes();
  answers.get(1)!({ container: { id: 'late', runtime: 'docker' } });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(
    delivered.map((d) => [d.seq, d.context.container?.id]),
    [
      [0, 'c0'],
      [1, 'late'],
      [2, 'c2'],
    ],
  );
  assert.ok(flushes() > before, 'released records are flushed');
  engine.close();
  assert.deepEqual(
    delivered.map((d) => [d.seq, d.context.container?.id]),
    [
      [0, 'c0'],
      [1, 'late'],
      [2, 'c2'],
      [3, undefined],
      [4, 'c4'],
    ],
  );
  assert.equal(engine.counters.received, 5);
});

test('at most MAX_HELD_RECORDS wait behind an enrichment; later ones are dropped and counted', () => {
  const stages: StageFactory = () => ({ enrich: () => new Promise<RecordContext>(() => undefined) });
  const { clock, reader, engine } = stagedRun(stages);
  reader.queue.push(...Array.from({ length: MAX_HELD_RECORDS + 3 }, (_, i) => record(1, i)));
  const handled = reader.queue.length;
  while (reader.queue.length > 0) clock.advance(POLL_INTERVAL_MS);
  assert.deepEqual(engine.counters, { received: handled, lost: 0, malformed: 0, filtered: 0, dropped: 3 });
  engine.close();
});

test('observers see the context of each delivered record of an enriched export (labels per container)', () => {
  const seen: string[] = [];
  const observer: RunObserver = {
    events: () => undefined,
    enriched: (exported, context) => void seen.push(`${exported.map.name}:${context.container?.name ?? '-'}`),
    sampled: () => ({ connect: () => undefined, intervalRead: () => undefined }),
    detach: () => undefined,
  };
  const stages: StageFactory = () => ({
    enrich: (data, offset) => (seqOf(data, offset) === 0 ? { container: { id: 'a', runtime: 'podman', name: 'web' } } : NO_CONTEXT),
  });
  const { clock, reader, engine } = stagedRun(stages, { observer });
  reader.queue.push(record(1, 0), record(1, 1));
  clock.advance(POLL_INTERVAL_MS);
  assert.deepEqual(seen, ['events:web', 'events:-']);
  engine.close();
});

test("a sampled map's entries go through keepEntry before the sink, the others counted as filtered", () => {
  const kernel = new FakeKernel();
  const key = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
  const stages: StageFactory = (exported) => (exported.kind === 'sample' ? { keepEntry: ([k]) => Buffer.from(k).readUInt32LE(0) > 1 } : undefined);
  kernel.source = { entries: () => [1, 2, 3].map((n) => [key(n), record(n, n)] as [Uint8Array, Uint8Array]), take: () => [] };
  const run = stagedRun(stages, { maps: [counts(false)], kernel });
  run.clock.advance(1000);
  assert.deepEqual(run.intervals.at(-1), [2, 3]);
  assert.equal(run.engine.counters.filtered, 1);
  run.engine.close();
});

test('--filter on a sampled map whose key is one number names it key, as --fields and --sort do', () => {
  const kernel = new FakeKernel();
  const key = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
  kernel.source = { entries: () => [1, 2, 3].map((n) => [key(n), record(n, n)] as [Uint8Array, Uint8Array]), take: () => [] };
  const run = cliRun({ maps: [counts(false)], kernel, choices: { rules: parseFilterRules('key>=2') } });
  run.clock.advance(1000);
  assert.equal(run.engine.counters.filtered, 1, 'the entry of key 1 is filtered');
  run.engine.close();
  assert.throws(() => cliRun({ maps: [counts(false)], choices: { rules: parseFilterRules('kye==1') } }), /has no field kye \(did you mean key\?\)/);
});

/** Containers by pid: known ones at once, `pending` ones when the test settles them. */
class FakeContainers implements ContainerSource {
  readonly known = new Map<number, ContainerInfo>();
  readonly pending = new Map<number, { info: ContainerInfo; settle: () => void; settled: Promise<ContainerInfo> }>();
  lookups = 0;
  byCgroupId(): ContainerLookup {
    throw new Error('the test struct has no cgroup id');
  }
  byPid(pid: number): ContainerLookup {
    this.lookups++;
    const waiting = this.pending.get(pid);
    if (waiting) return { provisional: { id: waiting.info.id, runtime: waiting.info.runtime }, settled: waiting.settled };
    return this.known.get(pid);
  }
  ask(pid: number, info: ContainerInfo): void {
    let settle!: () => void;
    const settled = new Promise<ContainerInfo>((resolve) => {
      settle = () => {
        this.pending.delete(pid);
        this.known.set(pid, info);
        resolve(info);
      };
    });
    this.pending.set(pid, { info, settle, settled });
  }
}

const WEB: ContainerInfo = { id: 'a'.repeat(64), runtime: 'podman', name: 'web', image: 'localhost/web:1' };
const DB: ContainerInfo = { id: 'b'.repeat(64), runtime: 'docker', name: 'db', image: 'postgres:16' };

test('--filter keeps the records whose members match; --pid compares the pid member; rules are checked before anything is opened', async () => {
  const regex = await loadRegexCompiler();
  const { clock, stdout, reader, end } = cliRun({ choices: { rules: [...parseFilterRules('seq>=2,seq!=3'), shorthandRule('pid', '7')], regex } });
  reader.queue.push(record(7, 1), record(7, 2), record(8, 2), record(7, 3), record(7, 4));
  clock.advance(POLL_INTERVAL_MS);
  assert.deepEqual(rows(stdout.text), ['{"pid":7,"seq":2}', '{"pid":7,"seq":4}']);
  await end();
  const kernel = new FakeKernel();
  assert.throws(() => cliRun({ kernel, choices: { rules: parseFilterRules('seqq>1') } }), /struct event has no field seqq \(did you mean seq\?\)/);
  assert.deepEqual(kernel.steps, [], 'nothing opened');
});

test('events carry their container: JSON gains it for container processes only, plain text shows it with +container', async () => {
  const containers = new FakeContainers();
  containers.known.set(42, WEB);
  const json = cliRun({ choices: { containers } });
  json.reader.queue.push(record(42, 1), record(43, 2));
  json.clock.advance(POLL_INTERVAL_MS);
  assert.deepEqual(rows(json.stdout.text), [
    `{"container":{"id":"${WEB.id}","image":"localhost/web:1","name":"web","runtime":"podman"},"pid":42,"seq":1}`,
    '{"pid":43,"seq":2}',
  ]);
  await json.end();
  const plain = cliRun({ format: 'plain', fields: parseFields('+container'), choices: { containers } });
  plain.reader.queue.push(record(42, 1), record(43, 2));
  plain.clock.advance(POLL_INTERVAL_MS);
  const [header, web, host] = rows(plain.stdout.text);
  assert.match(header!, /^TIME {5}CONTAINER {9}PID +SEQ +$/);
  assert.match(web!, /^\d\d:\d\d:\d\d {2}web {14}42 +1$/);
  assert.match(host!, /^\d\d:\d\d:\d\d {19}43 +2$/);
  await plain.end();
});

test('a container the runtime is asked about holds its record and the later ones, in order, until the answer comes', async () => {
  const containers = new FakeContainers();
  containers.known.set(42, WEB);
  containers.ask(43, DB);
  const { clock, stdout, reader, engine, end } = cliRun({ choices: { containers } });
  reader.queue.push(record(42, 1), record(43, 2), record(42, 3), record(44, 4));
  clock.advance(POLL_INTERVAL_MS);
  assert.equal(rows(stdout.text).length, 1, 'only the record before the pending one');
  containers.pending.get(43)!.settle();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(
    rows(stdout.text).map((line) => [JSON.parse(line).seq, JSON.parse(line).container?.name]),
    [
      [1, 'web'],
      [2, 'db'],
      [3, 'web'],
      [4, undefined],
    ],
  );
  assert.equal(engine.counters.received, 4);
  await end();
});

test('at the end of a run, held records go out (without the container still being asked about)', async () => {
  const containers = new FakeContainers();
  containers.ask(43, DB);
  const { clock, stdout, reader, end } = cliRun({ choices: { containers } });
  reader.queue.push(record(43, 1), record(44, 2));
  clock.advance(POLL_INTERVAL_MS);
  assert.equal(stdout.text, '');
  await end();
  assert.deepEqual(rows(stdout.text), ['{"pid":43,"seq":1}', '{"pid":44,"seq":2}']);
});

test('container rules keep the events of one container (or of the host); member rules run first and spare the lookup', async () => {
  const containers = new FakeContainers();
  containers.known.set(42, WEB);
  containers.known.set(43, DB);
  const only = cliRun({ choices: { containers, rules: [shorthandRule('container', 'db')] } });
  only.reader.queue.push(record(42, 1), record(43, 2), record(44, 3));
  only.clock.advance(POLL_INTERVAL_MS);
  assert.deepEqual(
    rows(only.stdout.text).map((line) => JSON.parse(line).seq),
    [2],
  );
  await only.end();
  const host = cliRun({ choices: { containers, rules: parseFilterRules('container==') } });
  host.reader.queue.push(record(42, 1), record(43, 2), record(44, 3));
  host.clock.advance(POLL_INTERVAL_MS);
  assert.deepEqual(
    rows(host.stdout.text).map((line) => JSON.parse(line).seq),
    [3],
  );
  await host.end();
  containers.lookups = 0;
  const members = cliRun({ choices: { containers, rules: parseFilterRules('seq==2') } });
  members.reader.queue.push(record(42, 1), record(43, 2), record(44, 3));
  members.clock.advance(POLL_INTERVAL_MS);
  assert.equal(containers.lookups, 1);
  await members.end();
});
