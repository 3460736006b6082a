/**
 * The text of a BPF iterator (what its bpf_seq_printf calls wrote), as output lines: plain text
 * with control characters escaped like every other untrusted text, or one JSON object per line
 * (`{"iterator":...,"line":...,"timestamp":...}`). Bytes arrive in chunks as read(2) returns
 * them; a line split between chunks, or a UTF-8 sequence, is held until it is complete.
 */
import { StringDecoder } from 'node:string_decoder';
import { escapeControls } from '../terminal.js';
import type { OutputFormat } from './event.js';
import { createJsonTime, type TimeMode } from './time.js';

export interface IteratorTextOptions {
  format: OutputFormat;
  /** JSON's `timestamp` member (default iso); plain text has none. */
  time?: TimeMode | undefined;
  clock?: () => Date;
}

export interface IteratorPass {
  /** The complete lines of `chunk` (and of what was held from the chunk before), formatted, without their newlines. */
  push(chunk: Uint8Array): string[];
  /** The end of the pass: the last line, when it had no newline of its own. */
  end(): string[];
}

export interface IteratorTextFormatter {
  /** One pass of the iterator `program`. */
  pass(program: string): IteratorPass;
}

export function createIteratorTextFormatter(options: IteratorTextOptions): IteratorTextFormatter {
  const time = options.format === 'json' ? (options.time ?? 'iso') : 'none';
  const timeJson = time === 'none' ? undefined : createJsonTime(time, options.clock);
  // Sorted keys, like every JSON line.
  const formatLine =
    options.format === 'json'
      ? (program: string, line: string) =>
          `{"iterator":${JSON.stringify(program)},"line":${JSON.stringify(line)}${timeJson === undefined ? '' : `,"timestamp":${timeJson()}`}}`
      : (_program: string, line: string) => escapeControls(line);
  return {
    pass(program) {
      const decoder = new StringDecoder('utf8');
      let held = '';
      const lines = (text: string): string[] => {
        const parts = (held + text).split('\n');
        held = parts.pop()!;
        return parts.map((line) => formatLine(program, line));
      };
      return {
        push: (chunk) => lines(decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))),
        end() {
          const rest = held + decoder.end();
          held = '';
          return rest === '' ? [] : [formatLine(program, rest)];
        },
      };
    },
  };
}
