/** Time as the run session sees it: the system's timers, or a fake one that tests advance by hand. */

/** Cancels what a Clock scheduled; calling it twice is harmless. */
export type Cancel = () => void;

export interface Clock {
  now(): number;
  /** Runs `fn` once after `ms` milliseconds. */
  after(ms: number, fn: () => void): Cancel;
  /** Runs `fn` every `ms` milliseconds. */
  every(ms: number, fn: () => void): Cancel;
  /** Runs `fn` once the event loop has had a turn (I/O, signals). */
  soon(fn: () => void): Cancel;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
  soon(fn) {
    const immediate = setImmediate(fn);
    return () => clearImmediate(immediate);
  },
};

export const nothingToCancel: Cancel = () => undefined;
