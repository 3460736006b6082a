/** URLs that carry credentials: refused, and never repeated in a message. Pure. */
import { EcliError } from '../errors.js';

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
  parsed.username = '';
  parsed.password = '';
  throw new EcliError('USAGE', `${what} to ${parsed.href}: the URL carries a user name or password, which ecli does not send`, {
    hint: 'serve the package without credentials in the URL, or push it to a registry and log in with ecli login',
  });
}
