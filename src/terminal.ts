/**
 * Untrusted text made safe for a terminal. Event strings come from other users' processes and
 * package strings from whoever built the package: written raw, an ESC could recolour the screen or
 * move the cursor, a newline could forge a line, and a bidi override or a zero-width character
 * could make text read as something it is not (`exe.txt` shown as `txt.exe`). Shown as an escape
 * instead:
 * - every control character except tab — C0 (U+0000–U+001F), DEL (U+007F) and C1
 *   (U+0080–U+009F): `\e` for ESC, `\n` and `\r`, and `\xHH` (two lowercase hex digits) for the
 *   others;
 * - the Unicode format characters (category Cf: bidi embeddings, overrides, isolates and marks,
 *   zero-width spaces and joiners, the BOM, tag characters, the soft hyphen), the line and
 *   paragraph separators U+2028 and U+2029, and lone surrogates: `\u{HHHH}` (lowercase hex), as
 *   less(1) shows them as `<U+HHHH>`.
 * Backslashes are left as they are, so text without such characters is unchanged. Where two
 * different strings must never look the same (Prometheus label values), escapeExactly also
 * doubles backslashes, and escapeBytesExactly shows bytes that are not UTF-8 as `\xHH`. Like
 * errors.ts, this module imports nothing: every layer that prints uses it.
 */

const ESCAPED_CLASS = '\\x00-\\x08\\x0a-\\x1f\\x7f-\\x9f\\p{Cf}\\p{Zl}\\p{Zp}\\p{Cs}';
/** Quick test: anything outside printable ASCII and tab may need escaping. */
const NOT_PLAIN_ASCII = /[^\x20-\x7e\t]/;
const ESCAPED = new RegExp(`[${ESCAPED_CLASS}]`, 'gu');
const ESCAPED_BUT_NEWLINE = new RegExp(`[${ESCAPED_CLASS.replace('\\x0a-\\x1f', '\\x0b-\\x1f')}]`, 'gu');
const ESCAPED_OR_BACKSLASH = new RegExp(`[${ESCAPED_CLASS}\\\\]`, 'gu');

/** The escape of one character that is shown escaped. */
export function controlEscape(ch: string): string {
  switch (ch) {
    case '\x1b':
      return '\\e';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\\':
      return '\\\\';
  }
  const code = ch.codePointAt(0)!;
  return code < 0xa0 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16).padStart(4, '0')}}`;
}

/** True when escapeControls would change `text`. */
export function needsEscape(text: string): boolean {
  if (!NOT_PLAIN_ASCII.test(text)) return false;
  ESCAPED.lastIndex = 0;
  return ESCAPED.test(text);
}

/** `text` with every control and format character but tab escaped: one line, nothing a terminal acts on or hides. */
export function escapeControls(text: string): string {
  return NOT_PLAIN_ASCII.test(text) ? text.replace(ESCAPED, controlEscape) : text;
}

/** Like escapeControls, but newlines stay: for multi-line text such as help or a verifier log. */
export function escapeControlsInLines(text: string): string {
  return NOT_PLAIN_ASCII.test(text) ? text.replace(ESCAPED_BUT_NEWLINE, controlEscape) : text;
}

/** Like escapeControls, and backslashes doubled: different strings stay different (`\e` the text is `\\e`, ESC is `\e`). */
export function escapeExactly(text: string): string {
  return NOT_PLAIN_ASCII.test(text) || text.includes('\\') ? text.replace(ESCAPED_OR_BACKSLASH, controlEscape) : text;
}

/**
 * The bytes `data[start, end)` as text for escapeExactly, where each byte that is not part of a
 * well-formed UTF-8 sequence is `\xHH`: different bytes always give different text.
 */
export function escapeBytesExactly(data: Uint8Array, start = 0, end = data.length): string {
  let out = '';
  let run = start;
  const flush = (to: number): void => {
    if (to > run) out += escapeExactly(Buffer.from(data.buffer, data.byteOffset + run, to - run).toString('utf8'));
  };
  for (let i = start; i < end;) {
    const length = utf8SequenceLength(data, i, end);
    if (length > 0) {
      i += length;
      continue;
    }
    flush(i);
    out += `\\x${data[i]!.toString(16).padStart(2, '0')}`;
    run = ++i;
  }
  flush(end);
  return out;
}

/** The length of the well-formed UTF-8 sequence at `i` (Unicode's table 3-7), or 0. */
function utf8SequenceLength(data: Uint8Array, i: number, end: number): number {
  const lead = data[i]!;
  if (lead < 0x80) return 1;
  const continuation = (at: number, low = 0x80, high = 0xbf): boolean => at < end && data[at]! >= low && data[at]! <= high;
  if (lead >= 0xc2 && lead <= 0xdf) return continuation(i + 1) ? 2 : 0;
  if (lead >= 0xe0 && lead <= 0xef) {
    const [low, high] = lead === 0xe0 ? [0xa0, 0xbf] : lead === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return continuation(i + 1, low, high) && continuation(i + 2) ? 3 : 0;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    const [low, high] = lead === 0xf0 ? [0x90, 0xbf] : lead === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return continuation(i + 1, low, high) && continuation(i + 2) && continuation(i + 3) ? 4 : 0;
  }
  return 0;
}
