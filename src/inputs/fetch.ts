/** HTTP(S) requests with bounds: total time, body size and number of redirects. */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { EcliError } from '../errors.js';
import { redactUrl, refuseCredentials } from './url-credentials.js';

export interface FetchLimits {
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  /** Aborting it stops the request at once; the request then fails with the signal's reason. */
  signal?: AbortSignal | undefined;
}

export interface FetchedBody {
  bytes: Uint8Array;
  /** The URL that finally answered, after redirects. */
  finalUrl: string;
}

export interface BoundedRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
}

export interface BoundedResponse extends FetchedBody {
  status: number;
  statusText: string;
  headers: Headers;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/**
 * Content codings a server may still send after `Accept-Encoding: identity` whose bytes are a
 * file ecli reads as they are: a gzip-coded body is a gzip file, what `curl -o` saves (servers
 * commonly label a .tar.gz so).
 */
const FILE_CODINGS = new Set(['identity', 'gzip', 'x-gzip']);
/** Error bodies are read only for their message: at most this much of them. */
const MAX_ERROR_BODY = 64 * 1024;

/** Fetches `url`, following redirects; an HTTP error status is an error. */
export async function fetchBounded(url: string, limits: FetchLimits): Promise<FetchedBody> {
  const response = await requestBounded(url, {}, limits);
  if (response.status < 200 || response.status > 299) {
    throw new EcliError('NETWORK', `GET ${describeUrl(response.finalUrl, url)}: HTTP ${response.status} ${response.statusText}`.trimEnd());
  }
  const coding = response.headers.get('content-encoding')?.trim().toLowerCase() ?? '';
  if (coding !== '' && !FILE_CODINGS.has(coding)) {
    throw new EcliError(
      'NETWORK',
      `GET ${describeUrl(response.finalUrl, url)}: the server sent Content-Encoding: ${coding} although ecli asked for identity; ecli hashes and reads the bytes exactly as sent, and these are not the file`,
      {
        hint: 'serve the file without compression (a .tar.gz is compressed already)',
      },
    );
  }
  return { bytes: response.bytes, finalUrl: response.finalUrl };
}

/**
 * Sends one request and reads its whole body, following redirects by hand (GET and HEAD only) so
 * that their number and the final URL are known. A redirect may not leave http(s), nor downgrade
 * https to http, and an Authorization header is not sent to another origin. Bodies of statuses
 * ≥ 400 are cut at 64 KiB instead of failing. It asks for `Accept-Encoding: identity` and never
 * decodes a body: the bytes are exactly those the server sent, as `curl -o` saves them, so a
 * digest taken with `curl | sha256sum` matches (Node's fetch always decodes gzip and deflate).
 */
export async function requestBounded(url: string, request: BoundedRequest, limits: FetchLimits): Promise<BoundedResponse> {
  const method = request.method ?? 'GET';
  // Refused before the timer starts: a timer left behind would keep the process alive.
  refuseCredentials(url, `${method} request`);
  limits.signal?.throwIfAborted();
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  limits.signal?.addEventListener('abort', stop, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, limits.timeoutMs);
  let current = url;
  let headers = withIdentityEncoding(request.headers ?? {});
  const where = (): string => `${method} ${describeUrl(current, url)}`;
  try {
    for (let redirects = 0; ; redirects++) {
      const response = await exchange(new URL(current), method, headers, request.body, controller.signal);
      const location = response.headers.location;
      if (REDIRECT_STATUSES.has(response.statusCode ?? 0) && location !== undefined && (method === 'GET' || method === 'HEAD')) {
        response.destroy();
        if (redirects >= limits.maxRedirects) throw new EcliError('NETWORK', `${where()}: more than ${limits.maxRedirects} redirects`);
        const next = nextUrl(current, location, where);
        if (new URL(next).origin !== new URL(current).origin) headers = withoutAuthorization(headers);
        current = next;
        continue;
      }
      const status = response.statusCode ?? 0;
      const failed = status >= 400;
      const bytes = await readBody(response, failed ? MAX_ERROR_BODY : limits.maxBytes, !failed, where);
      return { status, statusText: response.statusMessage ?? '', headers: headersOf(response), bytes, finalUrl: current };
    }
  } catch (error) {
    if (limits.signal?.aborted) throw limits.signal.reason;
    if (error instanceof EcliError) throw error;
    if (timedOut) {
      throw new EcliError('NETWORK', `${where()}: no complete response within ${limits.timeoutMs} ms`, {
        hint: 'check the server, or download the file and run it from disk',
      });
    }
    throw new EcliError('NETWORK', `${where()}: ${describeFetchError(error)}`, { cause: error });
  } finally {
    clearTimeout(timer);
    limits.signal?.removeEventListener('abort', stop);
    controller.abort();
  }
}

/** One HTTP exchange: resolves once the status line and headers arrived. */
function exchange(url: URL, method: string, headers: Record<string, string>, body: Uint8Array | undefined, signal: AbortSignal): Promise<IncomingMessage> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = send(url, { method, headers, signal }, resolve);
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

function withIdentityEncoding(headers: Record<string, string>): Record<string, string> {
  const others = Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'accept-encoding');
  return { ...Object.fromEntries(others), 'accept-encoding': 'identity' };
}

function headersOf(response: IncomingMessage): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) headers.append(response.rawHeaders[i]!, response.rawHeaders[i + 1]!);
  return headers;
}

/** The URL in messages, query and fragment left out (redactUrl), and where it was redirected from. */
function describeUrl(current: string, original: string): string {
  return current === original ? redactUrl(original) : `${redactUrl(current)} (redirected from ${redactUrl(original)})`;
}

function nextUrl(current: string, location: string, where: () => string): string {
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    throw new EcliError('NETWORK', `${where()}: redirect to an invalid URL ${JSON.stringify(redactUrl(location))}`);
  }
  refuseCredentials(next.href, `${where()}: redirect`);
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new EcliError('NETWORK', `${where()}: redirect to ${redactUrl(next.href)}, which is not http(s)`);
  }
  if (next.protocol === 'http:' && new URL(current).protocol === 'https:') {
    throw new EcliError('NETWORK', `${where()}: redirect from https to plain http (${redactUrl(next.href)}) refused`);
  }
  return next.href;
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'));
}

/** Reads at most `maxBytes`; beyond that it fails when `strict`, else it cuts the body there. */
async function readBody(response: IncomingMessage, maxBytes: number, strict: boolean, where: () => string): Promise<Uint8Array> {
  const tooLarge = (): EcliError =>
    new EcliError('NETWORK', `${where()}: the response is larger than the ${maxBytes} byte limit`, {
      hint: 'a package is normally well under 1 MiB; check the URL',
    });
  const declared = Number(response.headers['content-length'] ?? Number.NaN);
  if (strict && declared > maxBytes) {
    response.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    if (total + chunk.length > maxBytes) {
      response.destroy();
      if (strict) throw tooLarge();
      chunks.push(chunk.subarray(0, maxBytes - total));
      total = maxBytes;
      break;
    }
    total += chunk.length;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/** What went wrong below HTTP, in one line: `connect ECONNREFUSED 127.0.0.1:1`, `self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)`. */
export function describeFetchError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
}
