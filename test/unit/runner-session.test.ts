import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Btf } from '../../src/btf/btf.js';
import type { EunomiaObjectMeta, MapMeta } from '../../src/package/types.js';
import { planExports } from '../../src/model/exports.js';
import { MAP_TYPE, mapTypeName } from '../../src/model/map-types.js';
import type { MapSpec } from '../../src/model/maps.js';
import { buildConsumers, type EventConsumerSpec, type SampleConsumerSpec } from '../../src/runner/consumers.js';
import { NOTICE_INTERVAL_MS } from '../../src/runner/event-notices.js';
import { POLL_INTERVAL_MS, type Poller } from '../../src/runner/poll-loop.js';
import { OUTPUT_GRACE_MS, Session, type RecordHandlers, type SessionOptions } from '../../src/runner/session.js';
import type { LineReaderHandlers } from '../../src/runner/trace-relay.js';
import { BtfBuilder } from '../helpers/btf-builder.js';
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

function consumerOf(map: MapMeta, transport: 'ringbuf' | 'other', format: 'plain' | 'json' = 'json') {
  const { btf, u32, event } = eventBtf();
  const meta = {
    bpf_skel: { obj_name: 'test_bpf', maps: [map], progs: [], data_sections: [] },
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
  const type = transport === 'ringbuf' ? MAP_TYPE.ringbuf : 1;
  const mapSpec: MapSpec = {
    name: map.name,
    ident: map.ident,
    type,
    kind: mapTypeName(type),
    transport,
    perCpu: false,
    btfKeyTypeId: u32,
    btfValueTypeId: event,
    valueSize: 8,
    meta: map,
  };
  return buildConsumers(btf, planExports(meta, btf, [mapSpec]).exports, { format, ...(format === 'json' ? { time: 'none' as const } : {}) })[0]!;
}

const eventConsumer = (format: 'plain' | 'json' = 'json') => consumerOf({ name: 'events', ident: 'events' }, 'ringbuf', format) as EventConsumerSpec;
const sampleConsumer = (clearMap: boolean) =>
  consumerOf({ name: 'counts', ident: 'counts', sample: { interval: 1000, type: 'default_kv', clear_map: clearMap } }, 'other') as SampleConsumerSpec;

function record(pid: number, seq: number): Buffer {
  const data = Buffer.alloc(8);
  data.writeUInt32LE(pid, 0);
  data.writeUInt32LE(seq, 4);
  return data;
}

/** A buffer reader fed by the test: poll() hands queued records to the session, at most `batch` per poll. */
class FakeReader implements Poller {
  readonly queue: (Buffer | { lost: number } | Error)[] = [];
  handlers: RecordHandlers | undefined;
  closed = false;
  polls = 0;
  constructor(private readonly batch = 100) {}
  open = (handlers: RecordHandlers): Poller => {
    this.handlers = handlers;
    return this;
  };
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

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: (error?: Error | null) => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

function session(options: Partial<Pick<SessionOptions, 'limits' | 'watchOutput'>> = {}) {
  const clock = new FakeClock();
  const stdout = new Capture();
  const notices: string[] = [];
  const run = new Session({ stdout, notice: (message) => notices.push(message), clock, ...options });
  return { clock, stdout, notices, run };
}

test('records fed by the reader are formatted and written after each poll, header first', () => {
  const { clock, stdout, run } = session();
  const reader = new FakeReader();
  run.startEvents(eventConsumer('plain'), reader.open);
  assert.match(stdout.text, /^TIME +PID +SEQ +\n$/);
  reader.queue.push(record(42, 1), record(43, 2));
  clock.advance(POLL_INTERVAL_MS);
  const rows = stdout.text.split('\n').slice(1, -1);
  assert.equal(rows.length, 2);
  assert.match(rows[0]!, /^\d\d:\d\d:\d\d +42 +1 *$/);
  assert.match(rows[1]!, /^\d\d:\d\d:\d\d +43 +2 *$/);
  run.close();
});

test('a busy reader is polled again at once; an idle one after the poll interval', () => {
  const { clock, stdout, run } = session();
  const reader = new FakeReader(1);
  run.startEvents(eventConsumer(), reader.open);
  for (let i = 0; i < 5; i++) reader.queue.push(record(1, i));
  clock.advance(POLL_INTERVAL_MS);
  // The fake clock does not move inside a burst, so the whole backlog goes in one burst.
  assert.equal(stdout.text.split('\n').filter(Boolean).length, 5);
  const polls = reader.polls;
  clock.advance(POLL_INTERVAL_MS - 1);
  assert.equal(reader.polls, polls, 'idle: no poll before the interval');
  clock.advance(1);
  assert.equal(reader.polls, polls + 1);
  run.close();
});

test('malformed records are counted and reported at most once per notice interval, and once more at the end', async () => {
  const { clock, notices, run } = session();
  const reader = new FakeReader();
  run.startEvents(eventConsumer(), reader.open);
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
  assert.equal(run.counts.malformed, 4);
  run.close();
  await run.finish();
  assert.match(notices.at(-1)!, /^skipped 1 malformed events/);
});

test('lost events reported by the reader are announced on stderr', () => {
  const { clock, notices, run } = session();
  const reader = new FakeReader();
  run.startEvents(eventConsumer(), reader.open);
  reader.queue.push({ lost: 7 }, record(1, 1), { lost: 3 });
  clock.advance(POLL_INTERVAL_MS);
  assert.deepEqual(notices, ['lost 10 events (perf buffer full; raise perf_buffer_pages in the package)']);
  assert.equal(run.counts.lost, 10);
  run.close();
});

test('close drains what is still queued, then closes every reader', async () => {
  const { stdout, run } = session();
  const reader = new FakeReader(2);
  run.startEvents(eventConsumer(), reader.open);
  for (let i = 0; i < 5; i++) reader.queue.push(record(9, i));
  run.close();
  assert.equal(reader.closed, true);
  await run.finish();
  assert.equal(stdout.text.split('\n').filter(Boolean).length, 5);
});

test('a reader that fails ends the run with its error; the buffers are not drained after a failure', async () => {
  const { clock, run } = session();
  const reader = new FakeReader(1);
  run.startEvents(eventConsumer(), reader.open);
  const stopped = run.runUntil(new Promise(() => undefined));
  reader.queue.push(new Error('ring buffer gone'), record(1, 1));
  clock.advance(POLL_INTERVAL_MS);
  await assert.rejects(stopped, /ring buffer gone/);
  const polls = reader.polls;
  run.close();
  assert.equal(reader.polls, polls);
  assert.equal(reader.closed, true);
});

test('a stop signal resolves the run with status 0, and close cancels every timer', async () => {
  const { clock, run } = session();
  run.startEvents(eventConsumer(), new FakeReader().open);
  run.startSampling(sampleConsumer(false), { entries: () => [], clear: () => undefined });
  const status = await run.runUntil(Promise.resolve('SIGTERM'));
  assert.equal(status, 0);
  run.close();
  assert.equal(clock.pending, 0);
});

test('when stdout breaks (its reader went away) the run stops with status 0', async () => {
  const { stdout, run } = session();
  const stopped = run.runUntil(new Promise(() => undefined));
  stdout.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
  assert.equal(await stopped, 0);
  run.close();
});

test('--count 3: the run ends after the third event printed; the rest is not printed and not drained', async () => {
  const { clock, stdout, run } = session({ limits: { count: 3, countOf: 'events' } });
  const reader = new FakeReader();
  run.startEvents(eventConsumer(), reader.open);
  const stopped = run.runUntil(new Promise(() => undefined));
  for (let i = 0; i < 5; i++) reader.queue.push(record(7, i));
  clock.advance(POLL_INTERVAL_MS);
  assert.equal(await stopped, 0);
  reader.queue.push(record(7, 9));
  run.close();
  await run.finish();
  assert.deepEqual(
    stdout.text
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { seq: number }).seq),
    [0, 1, 2],
  );
  assert.equal(reader.queue.length, 1, 'not drained after the count');
  assert.equal(run.summary(), 'printed 3 events in 0.010 s; 0 lost, 0 malformed, 0 dropped');
});

test('--count 2 of a sampled map counts intervals: the first is read at once, the second one interval later', async () => {
  const { clock, run } = session({ limits: { count: 2, countOf: 'intervals' } });
  run.startSampling(sampleConsumer(false), { entries: () => [], clear: () => undefined });
  let done = false;
  const stopped = run.runUntil(new Promise(() => undefined)).then((status) => ((done = true), status));
  await Promise.resolve();
  assert.equal(done, false);
  clock.advance(1000);
  assert.equal(await stopped, 0);
  run.close();
  await run.finish();
  assert.equal(run.summary(), 'printed 2 intervals in 1.000 s; 0 lost, 0 malformed, 0 dropped');
});

test('--duration: the run ends with status 0 once the time is over, and the summary says how long it ran', async () => {
  const { clock, run } = session({ limits: { durationMs: 2500 } });
  const reader = new FakeReader();
  run.startEvents(eventConsumer(), reader.open);
  reader.queue.push(record(1, 1), Buffer.alloc(2), { lost: 4 });
  const stopped = run.runUntil(new Promise(() => undefined));
  clock.advance(2499);
  let done = false;
  void stopped.then(() => (done = true));
  await Promise.resolve();
  assert.equal(done, false);
  clock.advance(1);
  assert.equal(await stopped, 0);
  run.close();
  await run.finish();
  assert.equal(clock.pending, 0);
  assert.equal(run.summary(), 'printed 1 event in 2.500 s; 4 lost, 1 malformed, 0 dropped');
});

test("the output watcher ends the run when stdout's reader goes away, with nothing written; close stops watching", async () => {
  let gone: (() => void) | undefined;
  let watching = false;
  const { run } = session({
    watchOutput: (onGone) => {
      gone = onGone;
      watching = true;
      return () => (watching = false);
    },
  });
  const stopped = run.runUntil(new Promise(() => undefined));
  gone!();
  assert.equal(await stopped, 0);
  run.close();
  assert.equal(watching, false);
});

test('sampling reads the map at once and every interval, and clears it only with clear_map', () => {
  for (const clearMap of [false, true]) {
    const { clock, stdout, run } = session();
    const entries = new Map<string, [Uint8Array, Uint8Array]>([['k', [record(5, 0).subarray(0, 4), record(5, 6)]]]);
    let clears = 0;
    run.startSampling(sampleConsumer(clearMap), {
      entries: () => entries.values(),
      clear: () => {
        clears++;
      },
    });
    assert.equal(stdout.text.split('\n').filter(Boolean).length, 1, 'sampled at once');
    clock.advance(999);
    assert.equal(stdout.text.split('\n').filter(Boolean).length, 1);
    clock.advance(1);
    clock.advance(1000);
    const lines = stdout.text.split('\n').filter(Boolean);
    assert.equal(lines.length, 3);
    // Key columns without an export type are named after their type, as the reference names them.
    assert.deepEqual(JSON.parse(lines[0]!), { key: { 'unsigned int': 5 }, value: { pid: 5, seq: 6 } });
    assert.equal(clears, clearMap ? 3 : 0);
    run.close();
  }
});

test('a map that cannot be read ends the run with the error', async () => {
  const { run } = session();
  const failing = () => {
    throw new Error('cannot read map counts: EPERM');
  };
  run.startSampling(sampleConsumer(false), { entries: failing, clear: () => undefined });
  await assert.rejects(run.runUntil(new Promise(() => undefined)), /cannot read map counts/);
  run.close();
});

test('trace pipe lines are relayed to stdout one by one; a read error ends the run', async () => {
  const { stdout, run } = session();
  let handlers: LineReaderHandlers | undefined;
  let closed = false;
  run.relayTracePipe((h) => {
    handlers = h;
    return { close: () => (closed = true) };
  });
  handlers!.onLine('bash-1 [000] BPF triggered from PID 1.');
  handlers!.onLine('second');
  assert.equal(stdout.text, 'bash-1 [000] BPF triggered from PID 1.\nsecond\n');
  const stopped = run.runUntil(new Promise(() => undefined));
  handlers!.onError(new Error('trace_pipe: EIO'));
  await assert.rejects(stopped, /EIO/);
  run.close();
  assert.equal(closed, true);
});

/** A stdout whose reader stopped reading: nothing written ever completes. */
class Stalled extends Writable {
  constructor() {
    super({ highWaterMark: 16 });
  }
  override _write(): void {}
}

function stalledSession(records: number) {
  const clock = new FakeClock();
  const notices: string[] = [];
  const run = new Session({ stdout: new Stalled(), notice: (message) => notices.push(message), clock });
  const reader = new FakeReader();
  run.startEvents(eventConsumer(), reader.open);
  for (let i = 0; i < records; i++) reader.queue.push(record(7, i));
  clock.advance(POLL_INTERVAL_MS);
  run.close();
  return { clock, notices, run };
}

test('a stdout that stopped reading holds the exit for OUTPUT_GRACE_MS at most; the unwritten lines are reported', async () => {
  const { clock, notices, run } = stalledSession(5);
  let finished = false;
  const finishing = run.finish().then(() => {
    finished = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(finished, false, 'still waiting for stdout');
  clock.advance(OUTPUT_GRACE_MS);
  await finishing;
  assert.deepEqual(notices, ['dropped 5 lines because stdout could not keep up (5 of them still waiting for stdout when ecli stopped)']);
});

test('a second stop signal ends the wait for a stalled stdout at once', async () => {
  const { notices, run } = stalledSession(3);
  await run.finish(Promise.resolve('SIGINT'));
  assert.deepEqual(notices, ['dropped 3 lines because stdout could not keep up (3 of them still waiting for stdout when ecli stopped)']);
});

test("an export's tally counts every record received, the malformed ones and the lost ones (for --metrics)", () => {
  const { clock, run } = session();
  const reader = new FakeReader();
  const tally = { received: 0, lost: 0 as number | undefined, malformed: 0, dropped: 0 };
  run.startEvents(eventConsumer(), reader.open, tally);
  reader.queue.push(record(1, 1), Buffer.alloc(2), { lost: 5 }, record(1, 2));
  clock.advance(POLL_INTERVAL_MS);
  assert.deepEqual(tally, { received: 3, lost: 5, malformed: 1, dropped: 0 });
  run.close();
});
