/** The library API without a kernel: openPackage on the reference packages, option checks before loading, record decoding, the bounded queue. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BoundedQueue } from '../../src/api/queue.js';
import { eventDecoder } from '../../src/api/decode.js';
import { EcliError, exitCodeFor, openPackage, type EventExportSpec } from '../../src/api/index.js';
import { fixturesDir } from '../helpers/env.js';

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

test('the bounded queue: one reader, drops (counted, never made) when full, drains after end, rejects after fail', async () => {
  const queue = new BoundedQueue<number>(2, 'numbers');
  let made = 0;
  const make = (n: number) => () => {
    made++;
    return n;
  };
  assert.equal(
    queue.offer(() => undefined),
    false,
  );
  assert.equal(queue.dropped, 0, 'nothing to queue is not a drop');
  assert.equal(queue.offer(make(1)), true);
  assert.equal(queue.offer(make(2)), true);
  assert.equal(queue.offer(make(3)), false);
  assert.deepEqual([queue.dropped, made], [1, 2]);
  const iterator = queue[Symbol.asyncIterator]();
  assert.throws(() => queue[Symbol.asyncIterator](), isEcliError('USAGE', /only once/));
  assert.deepEqual(await iterator.next(), { value: 1, done: false });
  const waiting = iterator.next();
  queue.offer(make(9));
  queue.end();
  assert.deepEqual(await waiting, { value: 2, done: false });
  assert.deepEqual(await iterator.next(), { value: 9, done: false });
  assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  assert.equal(queue.offer(make(4)), false);
  assert.equal(queue.dropped, 2, 'after the end, an item is dropped');

  const failing = new BoundedQueue<number>(2, 'numbers');
  const reader = failing[Symbol.asyncIterator]();
  const next = reader.next();
  failing.fail(new Error('boom'));
  await assert.rejects(next, /boom/);
  assert.deepEqual(await reader.next(), { value: undefined, done: true });
});
