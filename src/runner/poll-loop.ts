/**
 * Drives the event readers (perf/ring buffers): drains them in bounded bursts, flushing the
 * output after each round, then yields to the event loop; at close, drains what is left for a
 * bounded time.
 */
import { nothingToCancel, type Cancel, type Clock } from './clock.js';

/** A buffer reader: poll() runs the record callbacks synchronously and returns how many it handled. */
export interface Poller {
  poll(timeoutMs: number): number;
  close(): void;
}

/** How often buffers are drained when idle. A busy buffer is drained again at once. */
export const POLL_INTERVAL_MS = 10;
/** Longest stretch of back-to-back polls before the event loop (signals, timers) gets a turn. */
export const POLL_BURST_MS = 50;
/** At stop, what is still in the buffers is drained for at most this long. */
export const CLOSE_DRAIN_MS = 2000;

export interface PollLoopHooks {
  /** After each round of polls: write what the records produced. */
  flush(): void;
  /** After each burst (rate-limited notices). */
  afterBurst(): void;
  /** A poll or a hook threw; the loop has stopped. */
  onError(error: unknown): void;
}

export class PollLoop {
  private readonly pollers: Poller[] = [];
  private cancel: Cancel = nothingToCancel;

  constructor(
    private readonly clock: Clock,
    private readonly hooks: PollLoopHooks,
  ) {}

  /** Adds a reader; the first one starts the loop. */
  add(poller: Poller): void {
    this.pollers.push(poller);
    if (this.pollers.length === 1) this.schedule(POLL_INTERVAL_MS);
  }

  private schedule(delayMs: number): void {
    this.cancel = this.clock.after(delayMs, () => this.burst());
  }

  /**
   * Drains the buffers in rounds (each reader hands back a bounded batch per poll), for up to
   * POLL_BURST_MS; a busy burst is followed at once by the next, an idle one after POLL_INTERVAL_MS.
   */
  private burst(): void {
    const deadline = this.clock.now() + POLL_BURST_MS;
    let handled: number;
    try {
      do {
        handled = 0;
        for (const poller of this.pollers) handled += poller.poll(0);
        this.hooks.flush();
      } while (handled > 0 && this.clock.now() < deadline);
      this.hooks.afterBurst();
    } catch (error) {
      this.hooks.onError(error);
      return;
    }
    if (handled > 0) this.cancel = this.clock.soon(() => this.burst());
    else this.schedule(POLL_INTERVAL_MS);
  }

  /** Stops the loop and closes every reader, draining each first (for at most CLOSE_DRAIN_MS) when `drain`. */
  close(drain: boolean): void {
    this.cancel();
    const deadline = this.clock.now() + CLOSE_DRAIN_MS;
    for (const poller of this.pollers) {
      try {
        if (drain) while (poller.poll(0) > 0 && this.clock.now() < deadline);
      } catch {
        // Already stopping; the buffer's remaining events are lost, which the notices report.
      }
      poller.close();
    }
    this.pollers.length = 0;
  }
}
