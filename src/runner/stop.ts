/**
 * When a run ends: on a stop signal or when stdout's reader went away (exit status 0), or on the
 * first failure of polling or sampling (the run rejects with it).
 */
import { nothingToCancel, type Cancel, type Clock } from './clock.js';

export class RunStop {
  private failure: unknown;
  private failed = false;
  private outputClosed = false;
  private reject: ((error: unknown) => void) | undefined;
  private resolveEarly: (() => void) | undefined;
  private cancelKeepAlive: Cancel = nothingToCancel;

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

  /** Nobody reads our output any more (`ecli run pkg | head`): stop like a killed pipeline would. */
  outputGone(): void {
    this.outputClosed = true;
    this.resolveEarly?.();
  }

  /** Resolves with exit status 0 on a stop signal or when stdout is closed; rejects when the run failed. */
  wait(stopRequested: Promise<string>, clock: Clock): Promise<number> {
    // Signal handlers do not keep node running: without this timer a package with nothing to
    // poll would let the process exit at once, skipping the detach (TC filters would stay).
    this.cancelKeepAlive = clock.every(1 << 30, () => undefined);
    return new Promise<number>((resolve, reject) => {
      if (this.failed) {
        reject(this.failure);
        return;
      }
      if (this.outputClosed) {
        resolve(0);
        return;
      }
      this.reject = reject;
      this.resolveEarly = () => resolve(0);
      stopRequested.then(() => resolve(0), reject);
    });
  }

  close(): void {
    this.cancelKeepAlive();
  }
}
