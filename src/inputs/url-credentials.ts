/** URLs that carry credentials: refused, and never repeated in a message. Pure. */
import { EcliError } from '../errors.js';

/**
 * A URL as messages show it: without its query and fragment (`https://host/path?…`), nor any
 * `user:password@`. Registries redirect downloads to pre-signed storage URLs whose query is the
 * credential (`X-Amz-Signature`, `X-Amz-Credential`, Azure's `sig`, a `token`), and messages end
 * up in terminals, CI logs and bug reports. The `?…` says that something was left out. A string
 * that is not a valid URL is cut at its first `?` or `#` all the same.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const cut = url.search(/[?#]/);
    const shown = (cut === -1 ? url : url.slice(0, cut)).replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
    return cut === -1 ? shown : `${shown}${url[cut]}…`;
  }
  const marks = `${parsed.search === '' ? '' : '?…'}${parsed.hash === '' ? '' : '#…'}`;
  parsed.username = '';
  parsed.password = '';
  parsed.search = '';
  parsed.hash = '';
  return `${parsed.href}${marks}`;
}

/**
 * A `user:password@` part would be sent as HTTP basic by node:http, and would show in every
 * message that names the URL: refused, without repeating it.
 */
export function refuseCredentials(url: string, what: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return; // node:http reports the invalid URL itself.
  }
  if (parsed.username === '' && parsed.password === '') return;
  throw new EcliError('USAGE', `${what} to ${redactUrl(url)}: the URL carries a user name or password, which ecli does not send`, {
    hint: 'serve the package without credentials in the URL, or push it to a registry and log in with ecli login',
  });
}
