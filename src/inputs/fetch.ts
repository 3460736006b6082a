/** HTTP(S) requests with bounds: total time, body size and number of redirects. */
import { EcliError } from '../errors.js';

export interface FetchLimits {
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
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
/** Error bodies are read only for their message: at most this much of them. */
const MAX_ERROR_BODY = 64 * 1024;

/** Fetches `url`, following redirects; an HTTP error status is an error. */
export async function fetchBounded(url: string, limits: FetchLimits): Promise<FetchedBody> {
  const response = await requestBounded(url, {}, limits);
  if (response.status < 200 || response.status > 299) {
    throw new EcliError('NETWORK', `GET ${describeUrl(response.finalUrl, url)}: HTTP ${response.status} ${response.statusText}`.trimEnd());
  }
  return { bytes: response.bytes, finalUrl: response.finalUrl };
}

/**
 * Sends one request and reads its whole body, following redirects by hand (GET and HEAD only) so
 * that their number and the final URL are known. A redirect may not leave http(s), nor downgrade
 * https to http, and an Authorization header is not sent to another origin. Bodies of statuses
 * ≥ 400 are cut at 64 KiB instead of failing.
 */
export async function requestBounded(url: string, request: BoundedRequest, limits: FetchLimits): Promise<BoundedResponse> {
  const method = request.method ?? 'GET';
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, limits.timeoutMs);
  let current = url;
  let headers = request.headers ?? {};
  const where = (): string => `${method} ${describeUrl(current, url)}`;
  try {
    for (let redirects = 0; ; redirects++) {
      const response = await fetch(current, {
        method,
        headers,
        redirect: 'manual',
        signal: controller.signal,
        ...(request.body === undefined ? {} : { body: request.body as Uint8Array<ArrayBuffer> }),
      });
      const location = response.headers.get('location');
      if (REDIRECT_STATUSES.has(response.status) && location !== null && (method === 'GET' || method === 'HEAD')) {
        await response.body?.cancel();
        if (redirects >= limits.maxRedirects) throw new EcliError('NETWORK', `${where()}: more than ${limits.maxRedirects} redirects`);
        const next = nextUrl(current, location, where);
        if (new URL(next).origin !== new URL(current).origin) headers = withoutAuthorization(headers);
        current = next;
        continue;
      }
      const failed = response.status >= 400;
      const bytes = await readBody(response, failed ? MAX_ERROR_BODY : limits.maxBytes, !failed, where);
      return { status: response.status, statusText: response.statusText, headers: response.headers, bytes, finalUrl: current };
    }
  } catch (error) {
    if (error instanceof EcliError) throw error;
    if (timedOut) {
      throw new EcliError('NETWORK', `${where()}: no complete response within ${limits.timeoutMs} ms`, {
        hint: 'check the server, or download the file and run it from disk',
      });
    }
    throw new EcliError('NETWORK', `${where()}: ${describeFetchError(error)}`, { cause: error });
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

function describeUrl(current: string, original: string): string {
  return current === original ? original : `${current} (redirected from ${original})`;
}

function nextUrl(current: string, location: string, where: () => string): string {
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    throw new EcliError('NETWORK', `${where()}: redirect to an invalid URL ${JSON.stringify(location)}`);
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new EcliError('NETWORK', `${where()}: redirect to ${next.href}, which is not http(s)`);
  }
  if (next.protocol === 'http:' && new URL(current).protocol === 'https:') {
    throw new EcliError('NETWORK', `${where()}: redirect from https to plain http (${next.href}) refused`);
  }
  return next.href;
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'));
}

/** Reads at most `maxBytes`; beyond that it fails when `strict`, else it cuts the body there. */
async function readBody(response: Response, maxBytes: number, strict: boolean, where: () => string): Promise<Uint8Array> {
  const tooLarge = (): EcliError =>
    new EcliError('NETWORK', `${where()}: the response is larger than the ${maxBytes} byte limit`, {
      hint: 'a package is normally well under 1 MiB; check the URL',
    });
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (strict && declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (response.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (total + value.length > maxBytes) {
      await reader.cancel();
      if (strict) throw tooLarge();
      chunks.push(value.subarray(0, maxBytes - total));
      total = maxBytes;
      break;
    }
    total += value.length;
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

/** undici reports "fetch failed" and hides the reason (ECONNREFUSED, ENOTFOUND...) in `cause`. */
export function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause !== undefined && typeof cause.code === 'string') return `${cause.code} ${String(cause.message ?? '')}`.trim();
  if (cause !== undefined && typeof cause.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
