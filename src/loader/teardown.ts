/**
 * Detaching however the process ends. BPF links go away with the process that holds them, but a
 * netlink TC filter or a netlink XDP program stays on its interface: whoever holds a loaded
 * object registers its close() here, and it runs when the process exits, and on SIGINT, SIGTERM,
 * SIGHUP or SIGQUIT when the process has no handler of its own for that signal (then the signal
 * is raised again, so the process ends as it would have: killed by that signal). A process with
 * its own handler decides itself; its handler should close what it opened.
 *
 * `ecli run` handles the signals itself; this is for the library and for loaders without a
 * package (a Wasm guest's objects).
 */
import { escapeControls } from '../terminal.js';

/** The signals whose default action ends the process. */
const ENDING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

const closers = new Set<() => void>();

/** Runs `close` when the process ends (see above), unless the returned function was called first. */
export function closeOnProcessEnd(close: () => void): () => void {
  closers.add(close);
  if (closers.size === 1) listen();
  return () => {
    if (closers.delete(close) && closers.size === 0) stopListening();
  };
}

function listen(): void {
  process.on('exit', closeAll);
  // First in line: a `process.once` listener of the program's own is still registered then, and counted.
  for (const signal of ENDING_SIGNALS) process.prependListener(signal, onSignal);
}

function stopListening(): void {
  process.removeListener('exit', closeAll);
  for (const signal of ENDING_SIGNALS) process.removeListener(signal, onSignal);
}

function onSignal(signal: NodeJS.Signals): void {
  // Listening took the default action away; with another listener the process chose what to do.
  if (process.listenerCount(signal) > 1) return;
  closeAll();
  stopListening();
  process.kill(process.pid, signal);
}

/** Nobody is left to see a failure but the user: it goes to stderr. */
function closeAll(): void {
  for (const close of [...closers]) {
    closers.delete(close);
    try {
      close();
    } catch (error) {
      process.stderr.write(`ecli-ts: ${escapeControls(error instanceof Error ? error.message : String(error))}\n`);
    }
  }
}
