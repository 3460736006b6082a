/** `--metrics HOST:PORT` and `--metrics-labels` parsing, and the HTTP server on real sockets (127.0.0.1 and [::]): streaming, connection limit, timeouts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { EcliError } from '../../src/errors.js';
import { parseConstantLabels, parseListenAddress } from '../../src/metrics/flags.js';
import { startMetricsServer } from '../../src/metrics/server.js';

/** A scrape of the given slices (or one that fails after them). */
async function* slices(texts: string[], failure?: Error): AsyncIterable<string> {
  for (const text of texts) yield text;
  if (failure) throw failure;
}

function usageError(message: string) {
  return (e: unknown) => e instanceof EcliError && e.code === 'USAGE' && e.message === message;
}

test('--metrics takes HOST:PORT, with IPv6 addresses in brackets', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(parseListenAddress('localhost:0'), { host: 'localhost', port: 0 });
  assert.deepEqual(parseListenAddress('[::]:9464'), { host: '::', port: 9464 });
  assert.deepEqual(parseListenAddress('[::1]:65535'), { host: '::1', port: 65535 });
  assert.throws(() => parseListenAddress('9464'), usageError('--metrics 9464: no port'));
  assert.throws(() => parseListenAddress(':9464'), usageError('--metrics :9464: no host'));
  assert.throws(() => parseListenAddress('::1:9464'), usageError('--metrics ::1:9464: an IPv6 address must be in brackets'));
  assert.throws(() => parseListenAddress('[nope]:1'), usageError('--metrics [nope]:1: nope is not an IPv6 address'));
  assert.throws(() => parseListenAddress('127.0.0.1:65536'), usageError('--metrics 127.0.0.1:65536: port 65536 is not a number from 0 to 65535'));
  assert.throws(() => parseListenAddress('127.0.0.1:http'), usageError('--metrics 127.0.0.1:http: port http is not a number from 0 to 65535'));
  assert.throws(() => parseListenAddress('127.0.0.1:'), usageError('--metrics 127.0.0.1:: port (empty) is not a number from 0 to 65535'));
});

test('--metrics-labels takes NAME=VALUE pairs', () => {
  assert.deepEqual(parseConstantLabels('host=web1,role=db'), { host: 'web1', role: 'db' });
  assert.deepEqual(parseConstantLabels('zone='), { zone: '' });
  assert.throws(() => parseConstantLabels('host'), usageError('--metrics-labels host: "host" has no ='));
  assert.throws(() => parseConstantLabels('a=1,a=2'), usageError('--metrics-labels a=1,a=2: label a is given twice'));
  assert.throws(
    () => parseConstantLabels('1a=x'),
    usageError('--metrics-labels 1a=x: "1a" is not a label name (letters, digits and _, not starting with a digit or __)'),
  );
  assert.throws(() => parseConstantLabels('__name__=x'), /"__name__" is not a label name/);
});

test('the server: 503 until it has something to serve, then GET /metrics; 404 and 405 elsewhere', async () => {
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0 });
  try {
    const url = `http://127.0.0.1:${server.address.port}`;
    assert.equal((await fetch(`${url}/metrics`)).status, 503);
    let scrapes = 0;
    server.serve({
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      scrape: () => slices([`up ${++scrapes}\n`]),
    });
    const response = await fetch(`${url}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(await response.text(), 'up 1\n');
    assert.equal(await (await fetch(`${url}/metrics?x=1`)).text(), 'up 2\n');
    assert.equal((await fetch(`${url}/`)).status, 404);
    assert.equal((await fetch(`${url}/metrics`, { method: 'POST' })).status, 405);
    server.serve({ contentType: 'text/plain', scrape: () => slices([], new Error('cannot read map hists: EBADF')) });
    const failed = await fetch(`${url}/metrics`);
    assert.equal(failed.status, 500);
    assert.equal(await failed.text(), 'cannot read map hists: EBADF\n');
  } finally {
    await server.close();
  }
});

test('[::]:PORT listens on IPv6 and IPv4 alike', async () => {
  const server = await startMetricsServer({ host: '::', port: 0 });
  try {
    server.serve({ contentType: 'text/plain', scrape: () => slices(['ok\n']) });
    assert.equal(await (await fetch(`http://127.0.0.1:${server.address.port}/metrics`)).text(), 'ok\n');
    assert.equal(await (await fetch(`http://[::1]:${server.address.port}/metrics`)).text(), 'ok\n');
  } finally {
    await server.close();
  }
});

test('bind errors are one-line usage errors: a port in use, an address of no interface', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as AddressInfo).port;
  try {
    await assert.rejects(startMetricsServer({ host: '127.0.0.1', port }), (e: unknown) => {
      assert.ok(e instanceof EcliError && e.code === 'USAGE');
      assert.equal(e.message, `cannot serve metrics on 127.0.0.1:${port}: the port is in use`);
      assert.equal(e.hint, 'choose another port, or stop what listens there');
      return true;
    });
  } finally {
    taken.close();
  }
  // 192.0.2.0/24 is reserved for documentation: no interface has it, and binding sends nothing.
  await assert.rejects(
    startMetricsServer({ host: '192.0.2.1', port: 0 }),
    usageError('cannot serve metrics on 192.0.2.1:0: no network interface of this machine has that address'),
  );
});

/** Opens `count` connections to 127.0.0.1:port, each sending half a request; resolves once all are connected. */
async function halfSentRequests(port: number, count: number): Promise<Socket[]> {
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1', () => {
            socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
            resolve(socket);
          });
          socket.on('error', () => undefined);
          socket.once('error', reject);
        }),
    ),
  );
  return sockets;
}

const closedCount = (sockets: Socket[]): number => sockets.filter((s) => s.destroyed || s.readableEnded).length;

test('slowloris: 200 half-sent requests keep at most maxConnections open (the oldest idle ones close), and a real scrape still gets in', async () => {
  const limits = { maxConnections: 16, headersTimeoutMs: 60_000, responseTimeoutMs: 60_000 };
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, limits);
  const sockets: Socket[] = [];
  try {
    server.serve({ contentType: 'text/plain', scrape: () => slices(['up 1\n']) });
    sockets.push(...(await halfSentRequests(server.address.port, 200)));
    await waitUntil(() => closedCount(sockets) >= 200 - 16, 'the server to close the connections beyond its limit');
    await sleep(200);
    assert.equal(closedCount(sockets), 200 - 16, 'exactly the newest 16 stay open');
    assert.ok(
      sockets.slice(-16).every((s) => !s.destroyed && !s.readableEnded),
      'the oldest were closed first',
    );
    const response = await fetch(`http://127.0.0.1:${server.address.port}/metrics`);
    assert.equal(await response.text(), 'up 1\n');
  } finally {
    sockets.forEach((s) => s.destroy());
    await server.close();
  }
});

test('a request not sent whole within headersTimeoutMs, or a connection that says nothing, is closed', async () => {
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, { maxConnections: 16, headersTimeoutMs: 400, responseTimeoutMs: 60_000 });
  const sockets: Socket[] = [];
  try {
    server.serve({ contentType: 'text/plain', scrape: () => slices(['up 1\n']) });
    const started = Date.now();
    sockets.push(...(await halfSentRequests(server.address.port, 3)));
    sockets.push(
      await new Promise<Socket>((resolve) => {
        const silent = connect(server.address.port, '127.0.0.1', () => resolve(silent));
        silent.on('error', () => undefined);
      }),
    );
    await waitUntil(() => closedCount(sockets) === 4, 'the server to close the slow connections');
    const took = Date.now() - started;
    assert.ok(took >= 350 && took < 3000, `closed after ${took} ms`);
  } finally {
    sockets.forEach((s) => s.destroy());
    await server.close();
  }
});

test('a scrape is written as it is made, and one the client does not take is cut after responseTimeoutMs (the scrape stops)', async () => {
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, { maxConnections: 16, headersTimeoutMs: 5000, responseTimeoutMs: 500 });
  try {
    let release: () => void = () => undefined;
    const second = new Promise<void>((resolve) => (release = resolve));
    server.serve({
      contentType: 'text/plain',
      async *scrape() {
        yield 'first\n';
        await second;
        yield 'second\n';
      },
    });
    const response = await fetch(`http://127.0.0.1:${server.address.port}/metrics`);
    const reader = response.body!.getReader();
    assert.equal(Buffer.from((await reader.read()).value!).toString(), 'first\n', 'the first slice arrives before the second is made');
    release();
    assert.equal(Buffer.from((await reader.read()).value!).toString(), 'second\n');

    let made = 0;
    let stopped = false;
    server.serve({
      contentType: 'text/plain',
      async *scrape() {
        try {
          for (;;) {
            made++;
            yield 'x'.repeat(64 * 1024);
            await sleep(1);
          }
        } finally {
          stopped = true;
        }
      },
    });
    // A client that sends its request and never reads.
    const lazy = connect(server.address.port, '127.0.0.1', () => lazy.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'));
    lazy.pause();
    lazy.on('error', () => undefined);
    const started = Date.now();
    await waitUntil(() => stopped, 'the scrape to stop');
    const took = Date.now() - started;
    assert.ok(took < 3000, `cut after ${took} ms`);
    assert.ok(made < 1000, `${made} slices were made for a client that read none: back-pressure held them`);
    lazy.destroy();
  } finally {
    await server.close();
  }
});

async function waitUntil(done: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!done()) {
    assert.ok(Date.now() < until, `timed out waiting for ${what}`);
    await sleep(20);
  }
}
