/**
 * The guest's WASI: writes to stdout/stderr gathered from their iovecs into the GuestOutput,
 * clock waits that a stop request cuts short, and the guest's output on its way to a file:
 * bytes as they are, or escaped for a terminal across writes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GuestStopped } from '../../src/wasm/channel.js';
import { GuestMemory } from '../../src/wasm/guest-memory.js';
import { FdOutput } from '../../src/wasm/guest-output.js';
import { createGuestWasi, type StopWaiter } from '../../src/wasm/wasi-imports.js';

const WASI_EFAULT = 21;
const SUBSCRIPTION = 48;

function setup(stop: StopWaiter = { sleep: () => undefined, check: () => undefined }) {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const written: [number, string][] = [];
  const wasi = createGuestWasi({
    args: ['guest'],
    preopens: {},
    output: {
      write: (fd, bytes) => {
        written.push([fd, Buffer.from(bytes).toString()]);
        return 0;
      },
    },
    stop,
    memory: new GuestMemory(() => memory),
    waitReadable: () => 0,
  });
  const call = wasi.imports as Record<string, (...args: number[]) => number>;
  const view = new DataView(memory.buffer);
  return { call, view, memory, written };
}

test('fd_write on stdout and stderr gathers the iovecs into one write and sets nwritten; an iovec outside memory is EFAULT', () => {
  const { call, view, memory, written } = setup();
  new Uint8Array(memory.buffer).set(Buffer.from('hello, world'), 1000);
  view.setUint32(100, 1000, true);
  view.setUint32(104, 7, true);
  view.setUint32(108, 1007, true);
  view.setUint32(112, 5, true);
  assert.equal(call['fd_write']!(1, 100, 2, 200), 0);
  assert.equal(view.getUint32(200, true), 12);
  assert.equal(call['fd_write']!(2, 100, 1, 200), 0);
  assert.deepEqual(written, [
    [1, 'hello, world'],
    [2, 'hello, '],
  ]);
  view.setUint32(104, 70_000, true);
  assert.equal(call['fd_write']!(1, 100, 1, 200), WASI_EFAULT);
  assert.equal(call['fd_write']!(1, 65_530, 1, 200), WASI_EFAULT);
  assert.equal(written.length, 2);
});

test('poll_oneoff on a clock sleeps through the StopWaiter (so a stop cuts it short), and reports the clock event', () => {
  const slept: number[] = [];
  const { call, view } = setup({ sleep: (ms) => void slept.push(ms), check: () => undefined });
  const subscription = 100;
  view.setBigUint64(subscription, 0xabcn, true); // userdata
  view.setUint8(subscription + 8, 0); // clock
  view.setUint32(subscription + 16, 1, true); // monotonic
  view.setBigUint64(subscription + 24, 250_000_000n, true); // 250 ms, relative
  assert.equal(call['poll_oneoff']!(subscription, 500, 1, 600), 0);
  assert.equal(slept.length, 1);
  assert.ok(slept[0]! > 240 && slept[0]! <= 250, `slept ${slept[0]} ms`);
  assert.equal(view.getUint32(600, true), 1);
  assert.equal(view.getBigUint64(500, true), 0xabcn);
  assert.equal(view.getUint8(510), 0);

  const stopping = setup({
    sleep: () => {
      throw new GuestStopped();
    },
    check: () => undefined,
  });
  stopping.view.setUint8(subscription + 8, 0);
  stopping.view.setBigUint64(subscription + 24, 10n ** 12n, true);
  assert.throws(
    () => stopping.call['poll_oneoff']!(subscription, 500, 1, 600),
    (error) => error instanceof GuestStopped,
  );
  assert.equal(call['poll_oneoff']!(subscription, 500, 0, 600), 28, 'no subscription: EINVAL');
  assert.equal(call['poll_oneoff']!(65_536 - SUBSCRIPTION / 2, 500, 1, 600), WASI_EFAULT);
});

test("the guest's output: bytes to a file as they are; escaped for a terminal, UTF-8 decoded across writes", () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ecli-guest-output-'));
  try {
    const files = (escape: boolean) => {
      const stdout = openSync(path.join(dir, `out-${escape}`), 'w');
      const stderr = openSync(path.join(dir, `err-${escape}`), 'w');
      const output = new FdOutput({ escape: { stdout: escape, stderr: escape }, sleep: () => undefined, fds: { stdout, stderr } });
      return { output, close: () => [stdout, stderr].forEach((fd) => closeSync(fd)) };
    };
    const text = Buffer.from('é\x1b[2J\ttab\u0085next\r\n', 'utf8');
    for (const escape of [false, true]) {
      const { output, close } = files(escape);
      // The é split across two writes.
      assert.equal(output.write(1, text.subarray(0, 1)), 0);
      assert.equal(output.write(1, text.subarray(1)), 0);
      assert.equal(output.write(2, Buffer.from('\x07bell\n')), 0);
      close();
    }
    assert.ok(readFileSync(path.join(dir, 'out-false')).equals(text));
    assert.equal(readFileSync(path.join(dir, 'out-true'), 'utf8'), 'é\\e[2J\ttab\\x85next\\r\n');
    assert.equal(readFileSync(path.join(dir, 'err-true'), 'utf8'), '\\x07bell\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
