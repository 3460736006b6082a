/**
 * Untrusted text made safe for a terminal. Event strings come from other users' processes and
 * package strings from whoever built the package: written raw, an ESC could recolour the screen or
 * move the cursor, and a newline could forge a line. Every control character except tab — C0
 * (U+0000–U+001F), DEL (U+007F) and C1 (U+0080–U+009F) — is shown as an escape instead: `\e` for
 * ESC, `\n` and `\r`, and `\xHH` (the code in two lowercase hex digits) for the others. Backslashes
 * are left as they are, so text without control characters is unchanged. Like errors.ts, this
 * module imports nothing: every layer that prints uses it.
 */

const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;
const CONTROLS_BUT_NEWLINE = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/** The escape of one control character. */
export function controlEscape(ch: string): string {
  switch (ch) {
    case '\x1b':
      return '\\e';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    default:
      return `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
  }
}

/** `text` with every control character but tab escaped: one line, nothing a terminal acts on. */
export function escapeControls(text: string): string {
  return CONTROL.test(text) ? text.replace(CONTROLS, controlEscape) : text;
}

/** Like escapeControls, but newlines stay: for multi-line text such as help or a verifier log. */
export function escapeControlsInLines(text: string): string {
  return CONTROL.test(text) ? text.replace(CONTROLS_BUT_NEWLINE, controlEscape) : text;
}
