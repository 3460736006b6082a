/** `--metrics HOST:PORT` and `--metrics-labels` parsing, and the HTTP server on real sockets (127.0.0.1 and [::]). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { EcliError } from '../../src/errors.js';
import { parseConstantLabels, parseListenAddress } from '../../src/metrics/flags.js';
import { startMetricsServer } from '../../src/metrics/server.js';

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
      scrape: () => Promise.resolve(`up ${++scrapes}\n`),
    });
    const response = await fetch(`${url}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(await response.text(), 'up 1\n');
    assert.equal(await (await fetch(`${url}/metrics?x=1`)).text(), 'up 2\n');
    assert.equal((await fetch(`${url}/`)).status, 404);
    assert.equal((await fetch(`${url}/metrics`, { method: 'POST' })).status, 405);
    server.serve({ contentType: 'text/plain', scrape: () => Promise.reject(new Error('cannot read map hists: EBADF')) });
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
    server.serve({ contentType: 'text/plain', scrape: () => Promise.resolve('ok\n') });
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
