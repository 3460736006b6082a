/**
 * When a run ends: on a stop signal, when stdout's reader went away, when `--duration` is over or
 * `--count` is reached (exit status 0), or on the first failure of polling or sampling (the run
 * rejects with it).
 */
import { nothingToCancel, type Cancel, type Clock } from './clock.js';

export class RunStop {
  private failure: unknown;
  private failed = false;
  private ended = false;
  private reject: ((error: unknown) => void) | undefined;
  private resolveEarly: (() => void) | undefined;
  private cancelKeepAlive: Cancel = nothingToCancel;
  private cancelDuration: Cancel = nothingToCancel;

  /** Records the first failure; later ones are ignored. */
  abort(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.failure = error;
    this.reject?.(error);
  }

  /** True once abort() was called: buffers are then not drained at close. */
  get hasFailed(): boolean {
    return this.failed;
  }

  /**
   * The run is over without a signal: nobody reads our output any more (`ecli run pkg | head`,
   * stopping like a killed pipeline would), or `--count` was reached.
   */
  end(): void {
    this.ended = true;
    this.resolveEarly?.();
  }

  /** True once end() was called. */
  get hasEnded(): boolean {
    return this.ended;
  }

  /**
   * Resolves with exit status 0 on a stop signal, on end(), or after `durationMs` (when given);
   * rejects when the run failed.
   */
  wait(stopRequested: Promise<unknown>, clock: Clock, options: { keepAlive: boolean; durationMs?: number | undefined }): Promise<number> {
    const { durationMs } = options;
    // Signal handlers do not keep node running: without this timer a package with nothing to
    // poll would let the process exit at once, skipping the detach (TC filters would stay).
    if (options.keepAlive) this.cancelKeepAlive = clock.every(1 << 30, () => undefined);
    return new Promise<number>((resolve, reject) => {
      if (this.failed) {
        reject(this.failure);
        return;
      }
      if (this.ended) {
        resolve(0);
        return;
      }
      this.reject = reject;
      this.resolveEarly = () => resolve(0);
      if (durationMs !== undefined) this.cancelDuration = clock.after(durationMs, () => resolve(0));
      stopRequested.then(() => resolve(0), reject);
    });
  }

  close(): void {
    this.cancelKeepAlive();
    this.cancelDuration();
  }
}
