/** What a run counts: one type for the CLI's exit summary, the library's `session.stats` and the metrics. */

export interface RunCounters {
  /** Records read from the event maps (ring buffers, perf event arrays). */
  received: number;
  /**
   * Lost in the kernel because a perf buffer was full. Ring buffers lose nothing here: their BPF
   * program sees the full buffer (bpf_ringbuf_reserve fails) and nothing reaches ecli.
   */
  lost: number;
  /** Records or map entries too short for their struct, skipped. */
  malformed: number;
  /** Records or map entries a filter stage (`--filter`) left out. */
  filtered: number;
  /** Output the consumer did not keep up with: lines stdout could not take, records or samples the library's queue had no room for. */
  dropped: number;
}

export function zeroCounters(): RunCounters {
  return { received: 0, lost: 0, malformed: 0, filtered: 0, dropped: 0 };
}

/** The sum of several exports' counters. */
export function totalOf(counters: Iterable<Readonly<RunCounters>>): RunCounters {
  const total = zeroCounters();
  for (const c of counters) {
    total.received += c.received;
    total.lost += c.lost;
    total.malformed += c.malformed;
    total.filtered += c.filtered;
    total.dropped += c.dropped;
  }
  return total;
}
