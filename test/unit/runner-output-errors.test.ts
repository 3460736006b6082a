/** The line sink tells a reader that went away (EPIPE, a clean stop) from output being lost (ENOSPC, EIO...: RUNTIME). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { EcliError, exitCodeFor } from '../../src/errors.js';
import { createLineSink } from '../../src/runner/output.js';

/** Takes `good` writes, then fails every write with `code`. */
function failingAfter(good: number, code: string): Writable {
  let writes = 0;
  return new Writable({
    write(_chunk, _encoding, callback) {
      if (writes++ < good) callback();
      else callback(Object.assign(new Error(`${code}: write failed`), { code }));
    },
  });
}

function endOf(stream: Writable, batches: number[]): Promise<{ closed: boolean; error?: EcliError }> {
  return new Promise((resolve) => {
    const sink = createLineSink(stream, { closed: () => resolve({ closed: true }), failed: (error) => resolve({ closed: false, error }) });
    for (const lines of batches) {
      for (let i = 0; i < lines; i++) sink.writeLine(`line ${i}`);
      sink.flush();
    }
  });
}

test('ENOSPC after two batches fails the run with the lines written and not written', async () => {
  const end = await endOf(failingAfter(2, 'ENOSPC'), [3, 4, 5]);
  assert.equal(end.closed, false);
  assert.equal(end.error?.code, 'RUNTIME');
  assert.equal(exitCodeFor(end.error), 9);
  assert.equal(end.error?.message, 'writing to stdout failed (ENOSPC) after 7 lines; 5 lines were not written');
  assert.equal(end.error?.hint, 'free space where stdout goes, or send it elsewhere');
});

test('one line is one line (#28.8: "1 lines were not written")', async () => {
  const end = await endOf(failingAfter(1, 'ENOSPC'), [1, 1]);
  assert.equal(end.error?.message, 'writing to stdout failed (ENOSPC) after 1 line; 1 line was not written');
});

test('EIO and EBADF fail too; EPIPE is a clean stop', async () => {
  for (const code of ['EIO', 'EBADF']) {
    const end = await endOf(failingAfter(0, code), [2]);
    assert.equal(end.error?.message, `writing to stdout failed (${code}) after 0 lines; 2 lines were not written`);
    assert.match(end.error!.hint!, /check where stdout goes/);
  }
  assert.deepEqual(await endOf(failingAfter(1, 'EPIPE'), [1, 1]), { closed: true });
});
