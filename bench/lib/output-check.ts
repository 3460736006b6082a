/**
 * What a high-rate consumer delivered: its output file scanned for the `seq` of each line
 * (JSON lines, or plain rows whose second column is SEQ), counting distinct sequence numbers
 * below the number generated, so duplicates and garbage do not count as delivered.
 */
import { readFileSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Delivery {
  lines: number;
  /** Distinct sequence numbers in [0, generated). */
  delivered: number;
  /** Lines without a readable sequence number, or with one seen before or out of range. */
  bad: number;
  /** The first record line, to compare layouts between consumers. */
  sample: string;
}

const NEWLINE = 0x0a;
const SEQ_KEY = Buffer.from('"seq":');
const HEADER_START = Buffer.from('TIME ');

export function readDelivery(file: string, generated: number, format: 'json' | 'plain'): Delivery {
  const text = readFileSync(file);
  const seen = new Uint8Array(generated);
  let lines = 0;
  let delivered = 0;
  let bad = 0;
  let sample = '';
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(NEWLINE, start);
    if (end < 0) end = text.length;
    // Plain output starts with its header line, printed again when columns widen.
    if (format === 'plain' && text.subarray(start, start + HEADER_START.length).equals(HEADER_START)) {
      start = end + 1;
      continue;
    }
    lines++;
    if (sample === '') sample = text.toString('utf8', start, end);
    const seq = format === 'json' ? jsonSeq(text, start, end) : plainSeq(text, start, end);
    if (seq >= 0 && seq < generated && seen[seq] === 0) {
      seen[seq] = 1;
      delivered++;
    } else {
      bad++;
    }
    start = end + 1;
  }
  return { lines, delivered, bad, sample };
}

function digitsAt(text: Buffer, at: number, end: number): number {
  let value = 0;
  let digits = 0;
  for (; at < end && text[at]! >= 0x30 && text[at]! <= 0x39; at++, digits++) value = value * 10 + text[at]! - 0x30;
  return digits === 0 ? -1 : value;
}

function jsonSeq(text: Buffer, start: number, end: number): number {
  const key = text.indexOf(SEQ_KEY, start);
  return key < 0 || key >= end ? -1 : digitsAt(text, key + SEQ_KEY.length, end);
}

function plainSeq(text: Buffer, start: number, end: number): number {
  let at = start;
  while (at < end && text[at] !== 0x20) at++; // TIME
  while (at < end && text[at] === 0x20) at++;
  return digitsAt(text, at, end);
}

/** Waits until `file` stops growing for `quietMs` (the consumer has caught up), at most `timeoutMs`. */
export async function waitUntilQuiet(file: string, quietMs: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let size = -1;
  let since = Date.now();
  while (Date.now() < deadline) {
    const now = statSync(file).size;
    if (now !== size) {
      size = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return;
    }
    await sleep(50);
  }
}
