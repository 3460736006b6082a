/** HTTP(S) GET with bounds: total time, body size and number of redirects. */
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

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Fetches `url` following redirects by hand, so that their number and the final URL are known. */
export async function fetchBounded(url: string, limits: FetchLimits): Promise<FetchedBody> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, limits.timeoutMs);
  let current = url;
  const where = (): string => (current === url ? url : `${current} (redirected from ${url})`);
  try {
    for (let redirects = 0; ; redirects++) {
      const response = await fetch(current, { redirect: 'manual', signal: controller.signal });
      const location = response.headers.get('location');
      if (REDIRECT_STATUSES.has(response.status) && location !== null) {
        await response.body?.cancel();
        if (redirects >= limits.maxRedirects) {
          throw new EcliError('NETWORK', `GET ${where()}: more than ${limits.maxRedirects} redirects`);
        }
        current = nextUrl(current, location);
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new EcliError('NETWORK', `GET ${where()}: HTTP ${response.status} ${response.statusText}`.trimEnd());
      }
      return { bytes: await readBody(response, limits.maxBytes, where), finalUrl: current };
    }
  } catch (error) {
    if (error instanceof EcliError) throw error;
    if (timedOut) {
      throw new EcliError('NETWORK', `GET ${where()}: no complete response within ${limits.timeoutMs} ms`, {
        hint: 'check the server, or download the file and run it from disk',
      });
    }
    throw new EcliError('NETWORK', `GET ${where()}: ${describeFetchError(error)}`, { cause: error });
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

function nextUrl(current: string, location: string): string {
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    throw new EcliError('NETWORK', `GET ${current}: redirect to an invalid URL ${JSON.stringify(location)}`);
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new EcliError('NETWORK', `GET ${current}: redirect to ${next.href}, which is not http(s)`);
  }
  return next.href;
}

async function readBody(response: Response, maxBytes: number, where: () => string): Promise<Uint8Array> {
  const tooLarge = (): EcliError =>
    new EcliError('NETWORK', `GET ${where()}: the response is larger than the ${maxBytes} byte limit`, {
      hint: 'a package is normally well under 1 MiB; check the URL',
    });
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
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
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

/** undici reports "fetch failed" and hides the reason (ECONNREFUSED, ENOTFOUND...) in `cause`. */
function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause !== undefined && typeof cause.code === 'string') return `${cause.code} ${String(cause.message ?? '')}`.trim();
  if (cause !== undefined && typeof cause.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
