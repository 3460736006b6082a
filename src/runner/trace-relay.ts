/** Relays lines from the kernel's trace pipe (bpf_printk output) to the run's output, one flush per line. */

export interface LineReaderHandlers {
  onLine(line: string): void;
  onError(error: Error): void;
}

/** Opens a line reader (TracePipeReader.open, or a fake in tests). */
export type LineReaderOpener = (handlers: LineReaderHandlers) => { close(): void };

export interface RelayTarget {
  writeLine(line: string): void;
  flush(): void;
  onError(error: unknown): void;
}

export function relayLines(open: LineReaderOpener, target: RelayTarget): { close(): void } {
  return open({
    onLine: (line) => {
      target.writeLine(line);
      target.flush();
    },
    onError: (error) => target.onError(error),
  });
}
