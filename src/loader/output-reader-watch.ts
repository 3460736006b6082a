/**
 * Notices when nobody reads stdout any more (`ecli run pkg | head -1` after head exits) without
 * writing to it: a quiet tracepoint may print nothing for minutes, and only a write would get
 * EPIPE. The kernel marks a pipe's write end with POLLERR once its last reader is gone, and a
 * socket with POLLHUP once its peer closed; poll(2) with no events asked reports both.
 */
import { fstatSync } from 'node:fs';
import { native } from './ffi/libbpf.js';
import type { Native } from './ffi/native.js';

/** How often the read end is checked: `| head` exits well within a second of its last line. */
export const OUTPUT_WATCH_INTERVAL_MS = 100;

/**
 * Calls `onGone` once, within OUTPUT_WATCH_INTERVAL_MS of the reader of `fd` going away; returns
 * what stops watching. Files and terminals have no reader to lose: nothing is watched for them.
 */
export function watchOutputReader(fd: number, onGone: () => void, sys: Native = native()): () => void {
  if (!isPipeOrSocket(fd)) return () => undefined;
  const timer = setInterval(() => {
    if (!sys.hungUp(fd)) return;
    clearInterval(timer);
    onGone();
  }, OUTPUT_WATCH_INTERVAL_MS);
  // The run keeps node alive by itself; this check alone must not.
  timer.unref();
  return () => clearInterval(timer);
}

function isPipeOrSocket(fd: number): boolean {
  try {
    const stat = fstatSync(fd);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}
