/** Where a command writes, so that tests can capture it. */
import type { Writable } from 'node:stream';

export interface CommandIo {
  stdout: Writable;
  stderr: Writable;
}
