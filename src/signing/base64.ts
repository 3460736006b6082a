/** Standard base64 with padding, checked strictly: Buffer.from(text, 'base64') alone skips what it cannot read. Pure. */

const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The bytes of `text`, or undefined when it is not standard padded base64. */
export function decodeBase64(text: string): Uint8Array | undefined {
  return STANDARD_BASE64.test(text) ? Buffer.from(text, 'base64') : undefined;
}
