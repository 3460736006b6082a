/** The library API without a kernel: openPackage on the reference packages and a silent loopback registry, option and queue checks before loading, record decoding, the bounded queue. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BoundedQueue } from '../../src/api/queue.js';
import { eventDecoder } from '../../src/api/decode.js';
import { EcliError, exitCodeFor, openPackage, type EventExportSpec } from '../../src/api/index.js';
import { fixturesDir } from '../helpers/env.js';
import { silentServer } from '../helpers/silent-server.js';

const bootstrap = (): string => path.join(fixturesDir, 'bootstrap.json');

function isEcliError(code: string, message: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof EcliError && error.code === code && message.test(error.message);
}

test('openPackage: a path, a file URL and bytes give the same frozen spec, with no root needed', async () => {
  const fromPath = await openPackage(bootstrap());
  const fromUrl = await openPackage(pathToFileURL(bootstrap()));
  const fromBytes = await openPackage(readFileSync(bootstrap()));
  for (const pkg of [fromPath, fromUrl, fromBytes]) {
    assert.equal(pkg.spec.objectName, 'client_bpf');
    assert.deepEqual(
      pkg.spec.programs.map((p) => [p.name, p.kind]),
      [
        ['handle_exec', 'tracepoint'],
        ['handle_exit', 'tracepoint'],
      ],
    );
    assert.deepEqual(
      pkg.spec.exports.map((e) => [e.kind, e.map.name]),
      [['events', 'rb']],
    );
    assert.deepEqual(
      pkg.spec.options.map((o) => o.variable),
      ['min_duration_ns'],
    );
    assert.equal(pkg.manifest, undefined);
    assert.ok(Object.isFrozen(pkg.spec) && Object.isFrozen(pkg.spec.programs) && Object.isFrozen(pkg));
  }
  assert.equal(fromPath.spec.source, bootstrap());
  assert.equal(fromBytes.spec.source, '<buffer>');
  assert.throws(() => {
    (fromPath.spec as { objectName: string }).objectName = 'x';
  }, TypeError);
});

test('openPackage refuses with the CLI typed errors (code, exit status)', async () => {
  await assert.rejects(openPackage('/nonexistent/package.json'), isEcliError('INPUT_NOT_FOUND', /nonexistent/));
  await assert.rejects(openPackage(Buffer.from('{"bpf_object": 1}')), (error: unknown) => error instanceof EcliError && exitCodeFor(error) === 4);
  await assert.rejects(openPackage('http://127.0.0.1:1/p.json'), isEcliError('USAGE', /unpinned URL/));
  await assert.rejects(openPackage(readFileSync(bootstrap()), { sha256: '0'.repeat(64) }), isEcliError('INTEGRITY', /sha256/));
});

test('run() checks program options before anything is loaded (no root needed to be refused)', async () => {
  const pkg = await openPackage(bootstrap());
  await assert.rejects(pkg.run({ options: { min_duration_n: 5 } }), isEcliError('USAGE', /has no option min_duration_n \(did you mean min_duration_ns\?\)/));
  await assert.rejects(pkg.run({ options: { min_duration_ns: -1 } }), isEcliError('OPTION_INVALID', /min_duration_ns: -1 does not fit/));
  await assert.rejects(pkg.run({ options: { min_duration_ns: 1.5 } }), isEcliError('OPTION_INVALID', /not an integer/));
  const aborted = AbortSignal.abort();
  await assert.rejects(pkg.run({ signal: aborted }), (error: unknown) => error === aborted.reason);
});

test('records decode to objects keyed by the export struct members; short records are RUNTIME errors', async () => {
  const { spec } = await openPackage(bootstrap());
  const exported = spec.exports[0] as EventExportSpec;
  const decode = eventDecoder(spec.btf, exported.columns);
  const record = Buffer.alloc(exported.columns.size);
  const at = (name: string): number => exported.columns.members.find((m) => m.name === name)!.offset;
  record.writeInt32LE(4242, at('pid'));
  record.writeBigUInt64LE(2n ** 40n + 7n, at('duration_ns'));
  record.write('true', at('comm'));
  record.writeUInt8(1, at('exit_event'));
  const event = decode(record);
  assert.deepEqual(Object.keys(event).sort(), ['comm', 'duration_ns', 'et', 'exit_code', 'exit_event', 'filename', 'pid', 'ppid']);
  assert.equal(event['pid'], 4242);
  assert.equal(event['duration_ns'], 2 ** 40 + 7);
  assert.equal(event['comm'], 'true');
  assert.equal(event['exit_event'], true);
  assert.throws(() => decode(record.subarray(0, 10)), isEcliError('RUNTIME', /too short/));
});

/** A queue of u32 records, decoded to their number plus their tag. */
function numberQueue(limits = { records: 2, bytes: 1 << 20 }) {
  const decoded: number[] = [];
  const queue = new BoundedQueue<number>(limits, 'numbers', (tag, record) => {
    const n = record.readUInt32LE(0);
    decoded.push(n);
    return n + tag;
  });
  const offer = (n: number, tag = 0): boolean => {
    const record = Buffer.alloc(4);
    record.writeUInt32LE(n >>> 0);
    return queue.offer(tag, record);
  };
  return { queue, offer, decoded };
}

test('the bounded queue: one reader, drops (counted, never decoded) when full, decodes as the reader takes, drains after end, rejects after fail', async () => {
  const { queue, offer, decoded } = numberQueue();
  assert.equal(offer(1), true);
  assert.equal(offer(2, 100), true);
  assert.equal(offer(3), false);
  assert.deepEqual([queue.dropped, decoded], [1, []], 'queued records are not decoded yet; the dropped one never is');
  const iterator = queue[Symbol.asyncIterator]();
  assert.throws(() => queue[Symbol.asyncIterator](), isEcliError('USAGE', /only once/));
  assert.deepEqual(await iterator.next(), { value: 1, done: false });
  assert.deepEqual(await iterator.next(), { value: 102, done: false }, 'the tag reaches the decoder');
  const waiting = iterator.next();
  assert.equal(offer(9), true);
  assert.deepEqual(await waiting, { value: 9, done: false }, 'a waiting reader gets the record at once');
  offer(10);
  queue.end();
  assert.deepEqual(await iterator.next(), { value: 10, done: false }, 'the queued records are taken after the end');
  assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  assert.equal(offer(4), false);
  assert.equal(queue.dropped, 2, 'after the end, a record is dropped');

  const failing = numberQueue();
  const reader = failing.queue[Symbol.asyncIterator]();
  const next = reader.next();
  failing.queue.fail(new Error('boom'));
  await assert.rejects(next, /boom/);
  assert.deepEqual(await reader.next(), { value: undefined, done: true });
});

test('the bounded queue counts bytes: records of any size up to the byte limit, in order, across chunks', async () => {
  const queue = new BoundedQueue<string>({ records: 1_000_000, bytes: 10 * 1032 }, 'blobs', (_tag, record) => record.toString('latin1'));
  const blob = (i: number, size: number) => Buffer.alloc(size, 65 + (i % 26));
  for (let i = 0; i < 20; i++) queue.offer(0, blob(i, 1024));
  assert.deepEqual([queue.held, queue.dropped], [{ records: 10, bytes: 10 * 1032 }, 10], 'ten 1 KiB records and their 8-byte frames fill 10,320 bytes');
  const big = new BoundedQueue<string>({ records: 100, bytes: 1 << 20 }, 'blobs', (_tag, record) => record.toString('latin1'));
  const sizes = [5, 70_000, 0, 65_520, 65_536, 3];
  sizes.forEach((size, i) => assert.equal(big.offer(i, blob(i, size)), true));
  big.end();
  const taken: string[] = [];
  for await (const text of big) taken.push(text);
  assert.deepEqual(
    taken.map((t) => t.length),
    sizes,
  );
  taken.forEach((text, i) => assert.equal(text, blob(i, sizes[i]!).toString('latin1')));
});

test('the bounded queue holds what its byte limit says: 200,000 unread records cost at most the limit and two chunks', () => {
  const LIMIT = 1 << 20;
  const queue = new BoundedQueue<unknown>({ records: 1_000_000, bytes: LIMIT }, 'records', () => ({}));
  const record = Buffer.alloc(64, 1);
  const held = (): number => {
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    return heapUsed + arrayBuffers;
  };
  const before = held();
  for (let i = 0; i < 200_000; i++) queue.offer(0, record);
  const grown = held() - before;
  assert.equal(queue.held.bytes, Math.floor(LIMIT / 72) * 72);
  assert.equal(queue.dropped, 200_000 - Math.floor(LIMIT / 72));
  // The records live in 64 KiB chunks outside the JS heap: the limit plus slack, not 200,000 objects.
  assert.ok(grown < LIMIT + 2 * 65536 + 512 * 1024, `memory grew by ${grown} bytes`);
});

test('run() refuses queue limits that are not whole numbers of 1 or more, before loading', async () => {
  const pkg = await openPackage(bootstrap());
  for (const [name, value] of [
    ['queueLimit', Number.NaN],
    ['queueLimit', -1],
    ['queueLimit', 0],
    ['queueLimit', 1.5],
    ['queueLimit', Infinity],
    ['queueBytes', Number.NaN],
    ['queueBytes', -1],
    ['queueBytes', '100' as unknown as number],
  ] as const) {
    await assert.rejects(
      pkg.run({ [name]: value }),
      isEcliError('USAGE', new RegExp(`^run\\(\\): ${name} \\S+ is not a whole number of 1 or more$`)),
      `${name} ${value}`,
    );
  }
});

test('openPackage: one deadline for a whole registry pull (https, then http, of a silent loopback registry), and a signal that stops it', async (t) => {
  const port = await silentServer(t);
  const reference = `127.0.0.1:${port}/tools/silent:1`;
  let started = Date.now();
  await assert.rejects(
    openPackage(reference, { timeoutMs: 800 }),
    isEcliError('NETWORK', new RegExp(`^pulling ${reference}: no complete answer within 800 ms$`)),
  );
  const deadline = Date.now() - started;
  assert.ok(deadline >= 750 && deadline < 1400, `the deadline took ${deadline} ms (each of two tries getting its own would take 1,600)`);

  const controller = new AbortController();
  const reason = new Error('the caller gave up');
  setTimeout(() => controller.abort(reason), 200);
  started = Date.now();
  await assert.rejects(openPackage(reference, { timeoutMs: 5000, signal: controller.signal }), (error: unknown) => error === reason);
  const cancelled = Date.now() - started;
  assert.ok(cancelled < 1000, `the abort took ${cancelled} ms to stop the pull`);
  await assert.rejects(
    openPackage(`http://127.0.0.1:${port}/p.json`, { insecure: true, signal: AbortSignal.abort(reason) }),
    (error: unknown) => error === reason,
  );
});
