/** A Clock for tests: time stands still until advance(), which runs what came due, in order. */
import type { Cancel, Clock } from '../../src/runner/clock.js';

interface Timer {
  at: number;
  seq: number;
  every?: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private time = 0;
  private seq = 0;
  private timers: Timer[] = [];
  private immediates: Timer[] = [];

  now(): number {
    return this.time;
  }

  after(ms: number, fn: () => void): Cancel {
    return this.add('timer', { at: this.time + ms, seq: this.seq++, fn });
  }

  every(ms: number, fn: () => void): Cancel {
    return this.add('timer', { at: this.time + ms, seq: this.seq++, every: ms, fn });
  }

  soon(fn: () => void): Cancel {
    return this.add('immediate', { at: this.time, seq: this.seq++, fn });
  }

  /** Timers still scheduled (immediates included). */
  get pending(): number {
    return this.timers.length + this.immediates.length;
  }

  /** Moves time forward by `ms`, running immediates and every timer that comes due on the way. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      this.runImmediates();
      const next = this.timers.reduce<Timer | undefined>((a, t) => (a === undefined || t.at < a.at || (t.at === a.at && t.seq < a.seq) ? t : a), undefined);
      if (next === undefined || next.at > end) break;
      this.time = next.at;
      if (next.every === undefined) this.timers = this.timers.filter((t) => t !== next);
      else next.at += next.every;
      next.fn();
    }
    this.time = end;
  }

  private runImmediates(): void {
    while (this.immediates.length > 0) this.immediates.shift()!.fn();
  }

  private add(kind: 'timer' | 'immediate', timer: Timer): Cancel {
    if (kind === 'timer') this.timers.push(timer);
    else this.immediates.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
      this.immediates = this.immediates.filter((t) => t !== timer);
    };
  }
}
