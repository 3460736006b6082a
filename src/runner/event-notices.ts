/**
 * Lost and malformed events, as the run counts them: reported on stderr at most once per
 * NOTICE_INTERVAL_MS (never silently), and once more at the end of the run.
 */
import type { EcliError } from '../errors.js';
import { nothingToCancel, type Cancel, type Clock } from './clock.js';
import type { RunCounters } from './counters.js';

export const NOTICE_INTERVAL_MS = 1000;

export class EventNotices {
  private reportedLost = 0;
  private reportedMalformed = 0;
  private lastMalformedMessage = '';
  private cancelTimer: Cancel | undefined;

  constructor(
    private readonly notice: (message: string) => void,
    private readonly clock: Clock,
    /** The run's counters now. */
    private readonly counts: () => Pick<RunCounters, 'lost' | 'malformed'>,
  ) {}

  /** The record or entry a decoder refused last (too short): its reason goes with the next notice. */
  malformed(error: EcliError): void {
    this.lastMalformedMessage = error.hint === undefined ? error.message : `${error.message}; ${error.hint}`;
  }

  /** Reports new counts now, unless a report went out less than NOTICE_INTERVAL_MS ago (then at its end). */
  report(): void {
    if (this.cancelTimer !== undefined) return;
    const { lost, malformed } = this.counts();
    if (lost === this.reportedLost && malformed === this.reportedMalformed) return;
    this.flush();
    this.cancelTimer = this.clock.after(NOTICE_INTERVAL_MS, () => {
      this.cancelTimer = undefined;
      this.report();
    });
  }

  /** Reports whatever is new, whatever the rate limit. */
  flush(): void {
    const { lost, malformed } = this.counts();
    if (lost > this.reportedLost) {
      this.notice(`lost ${lost - this.reportedLost} events (perf buffer full; raise perf_buffer_pages in the package)`);
      this.reportedLost = lost;
    }
    if (malformed > this.reportedMalformed) {
      this.notice(`skipped ${malformed - this.reportedMalformed} malformed events: ${this.lastMalformedMessage}`);
      this.reportedMalformed = malformed;
    }
  }

  /** Stops the pending rate-limit timer; flush() still works. */
  close(): void {
    (this.cancelTimer ?? nothingToCancel)();
    this.cancelTimer = undefined;
  }
}
