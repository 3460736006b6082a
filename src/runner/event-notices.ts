/**
 * Lost and malformed events: counted as they happen, reported on stderr at most once per
 * NOTICE_INTERVAL_MS (never silently), and once more at the end of the run.
 */
import { EcliError } from '../errors.js';
import { nothingToCancel, type Cancel, type Clock } from './clock.js';

export const NOTICE_INTERVAL_MS = 1000;

export class EventNotices {
  private lost = 0;
  private malformed = 0;
  private reportedLost = 0;
  private reportedMalformed = 0;
  private lastMalformedMessage = '';
  private cancelTimer: Cancel | undefined;

  constructor(
    private readonly notice: (message: string) => void,
    private readonly clock: Clock,
  ) {}

  addLost(count: number): void {
    this.lost += count;
  }

  /** A record the formatter refused (EcliError RUNTIME: too short) is counted; anything else is rethrown. */
  countMalformed(error: unknown): void {
    if (!(error instanceof EcliError) || error.code !== 'RUNTIME') throw error;
    this.malformed++;
    this.lastMalformedMessage = error.hint === undefined ? error.message : `${error.message}; ${error.hint}`;
  }

  get counts(): { lost: number; malformed: number } {
    return { lost: this.lost, malformed: this.malformed };
  }

  /** Reports new counts now, unless a report went out less than NOTICE_INTERVAL_MS ago (then at its end). */
  report(): void {
    if (this.cancelTimer !== undefined) return;
    if (this.lost === this.reportedLost && this.malformed === this.reportedMalformed) return;
    this.flush();
    this.cancelTimer = this.clock.after(NOTICE_INTERVAL_MS, () => {
      this.cancelTimer = undefined;
      this.report();
    });
  }

  /** Reports whatever is new, whatever the rate limit. */
  flush(): void {
    if (this.lost > this.reportedLost) {
      this.notice(`lost ${this.lost - this.reportedLost} events (perf buffer full; raise perf_buffer_pages in the package)`);
      this.reportedLost = this.lost;
    }
    if (this.malformed > this.reportedMalformed) {
      this.notice(`skipped ${this.malformed - this.reportedMalformed} malformed events: ${this.lastMalformedMessage}`);
      this.reportedMalformed = this.malformed;
    }
  }

  /** Stops the pending rate-limit timer; flush() still works. */
  close(): void {
    (this.cancelTimer ?? nothingToCancel)();
    this.cancelTimer = undefined;
  }
}
