/**
 * Number and string text exactly as the reference prints them through serde_json: floats in
 * ryu's layout (shortest round-trip digits, `.0` kept on integral values, scientific notation
 * outside 1e-5 <= |x| < 1e16) and strings with serde_json's compact escaping.
 */

/**
 * ryu's text for a finite f64: `4.0`, `0.1`, `-0.0`, `1e16`, `1.5e-7`, `-2.5e20`.
 * NaN and infinities have no JSON form; they give `null`, as serde_json writes them.
 */
export function formatF64(x: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  if (!Number.isFinite(x)) return 'null';
  const magnitude = x < 0 ? -x : x;
  if (magnitude >= 1e-5 && magnitude < 1e16) {
    // JS prints this range in plain decimal with the same shortest digits; only `.0` differs.
    return Number.isInteger(x) ? `${x}.0` : `${x}`;
  }
  // toExponential() without an argument gives the shortest round-trip digits: `1.5e-7`, `1e+16`.
  const text = x.toExponential();
  const plus = text.indexOf('e+');
  return plus < 0 ? text : text.slice(0, plus + 1) + text.slice(plus + 2);
}

const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;
const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/**
 * A JSON string literal as serde_json's compact writer makes it: `"`, `\`, and control
 * characters are escaped (`\n`-style where one exists, else `\u00xx` in lowercase hex); `/`,
 * DEL and non-ASCII characters are written as they are.
 */
export function jsonString(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return `"${text}"`;
  let out = '"';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x20 && code !== 0x22 && code !== 0x5c) continue;
    out += text.slice(start, i);
    const ch = text[i]!;
    out += SHORT_ESCAPES[ch] ?? `\\u00${code.toString(16).padStart(2, '0')}`;
    start = i + 1;
  }
  return out + text.slice(start) + '"';
}
