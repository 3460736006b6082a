/**
 * One registry session over the OCI distribution API (`/v2/`): picks https (or plain http for
 * loopback registries and --plain-http), answers the auth challenge (HTTP basic from docker's
 * config, or the bearer-token flow), and sends bounded requests. Never prints a secret.
 */
import { EcliError } from '../../errors.js';
import { describeFetchError, requestBounded, type BoundedRequest, type BoundedResponse } from '../fetch.js';
import { parseChallenge, type Challenge } from './challenge.js';
import { findCredentials, type CredentialLookup, type Credentials } from './credentials.js';
import { isObject } from './json.js';
import { isLoopbackRegistry } from './reference.js';
import { redactUrl } from '../url-credentials.js';

export type Access = 'pull' | 'push' | 'login';

export interface ClientOptions {
  /** Speak plain HTTP to a registry that is not on a loopback address. */
  plainHttp?: boolean;
  /** For DOCKER_CONFIG and HOME. */
  env?: NodeJS.ProcessEnv;
  /** Use these instead of docker's config (ecli login). */
  credentials?: Credentials;
  timeoutMs?: number;
  /** Stops every request of the session (the overall deadline, or the caller's cancel). */
  signal?: AbortSignal | undefined;
}

export interface RegistryResponse extends BoundedResponse {
  /** `CODE: message` of the OCI error body, when there is one. */
  errorText?: string;
  errorCodes: string[];
}

export const REGISTRY_TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 5;
const SMALL_BODY = 1024 * 1024;

export class RegistryClient {
  private authorization: string | undefined;
  private bearerScope: string | undefined;

  private constructor(
    readonly registry: string,
    /** `https://host[:port]` or `http://host[:port]`. */
    readonly base: string,
    private readonly lookup: CredentialLookup,
    private readonly timeoutMs: number,
    private readonly signal: AbortSignal | undefined,
    /** The bearer scope the session needs, e.g. `repository:tools/x:pull`. */
    private readonly scope: string | undefined,
    /** What the session is for, in messages: `pushing to 127.0.0.1:5000/tools/x`. */
    private readonly purpose: string,
    private challenge: Challenge | undefined,
  ) {}

  /**
   * Pings `/v2/` and authenticates for `access` to `repository`. Loopback registries are tried
   * over https first, then over plain http when no TLS server answers (as docker does).
   */
  static async connect(registry: string, repository: string | undefined, access: Access, options: ClientOptions = {}): Promise<RegistryClient> {
    const lookup: CredentialLookup = options.credentials !== undefined ? { credentials: options.credentials } : await findCredentials(registry, options.env);
    const timeoutMs = options.timeoutMs ?? REGISTRY_TIMEOUT_MS;
    const schemes = options.plainHttp === true ? ['http'] : isLoopbackRegistry(registry) ? ['https', 'http'] : ['https'];
    let ping: BoundedResponse | undefined;
    let base = '';
    for (const scheme of schemes) {
      base = `${scheme}://${registry}`;
      try {
        ping = await requestBounded(`${base}/v2/`, {}, { maxBytes: SMALL_BODY, timeoutMs, maxRedirects: 0, signal: options.signal });
        break;
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        if (scheme === schemes.at(-1)) throw unreachable(registry, error, schemes);
      }
    }
    const scope = scopeFor(repository, access);
    const purpose = access === 'login' || repository === undefined ? 'the login' : `${access === 'push' ? 'pushing to' : 'pulling'} ${registry}/${repository}`;
    const client = new RegistryClient(registry, base, lookup, timeoutMs, options.signal, scope, purpose, parseChallenge(ping!.headers.get('www-authenticate')));
    if (ping!.status === 401) {
      await client.authenticate(scope);
      if (access === 'login') await client.verifyLogin();
    } else if (ping!.status !== 200) {
      throw new EcliError('NETWORK', `${registry} is not an OCI registry: GET ${base}/v2/ answered HTTP ${ping!.status}`, {
        hint: 'check the host and port of the reference',
      });
    }
    return client;
  }

  /** Whether the session sends credentials (false: the registry let us in anonymously). */
  get authenticated(): boolean {
    return this.authorization !== undefined;
  }

  /**
   * Sends a request to `path` (below the base) or to an absolute upload URL the registry gave.
   * Only the registry's own origin gets credentials, and only its challenges are answered: a
   * request redirected elsewhere (blob storage) that is refused there fails without credentials.
   */
  async send(path: string, request: BoundedRequest & { maxBytes?: number }, what: string): Promise<RegistryResponse> {
    const url = new URL(path, this.base).href;
    let response = await this.sendOnce(url, request);
    if (response.status === 401 && this.isOwnOrigin(response.finalUrl)) {
      const challenge = parseChallenge(response.headers.get('www-authenticate'));
      const scope = challenge?.params.scope ?? this.scope;
      // Authenticate once when /v2/ let us in anonymously, or when a bearer token for another scope is asked for.
      const otherScope = challenge?.scheme === 'bearer' && scope !== undefined && scope !== this.bearerScope;
      if (challenge !== undefined && (this.authorization === undefined || otherScope)) {
        this.challenge = challenge;
        await this.authenticate(scope);
        response = await this.sendOnce(url, request);
      }
    }
    if (response.status === 401 || response.status === 403) {
      throw this.isOwnOrigin(response.finalUrl) ? this.refused(response, what) : this.refusedElsewhere(response, request.method ?? 'GET', what);
    }
    return response;
  }

  private async sendOnce(url: string, request: BoundedRequest & { maxBytes?: number }): Promise<RegistryResponse> {
    const headers = { ...request.headers };
    if (this.authorization !== undefined && this.isOwnOrigin(url)) headers.authorization = this.authorization;
    const response = await requestBounded(
      url,
      { ...request, headers },
      {
        maxBytes: request.maxBytes ?? SMALL_BODY,
        timeoutMs: this.timeoutMs,
        maxRedirects: MAX_REDIRECTS,
        signal: this.signal,
      },
    );
    return { ...response, ...registryErrors(response) };
  }

  private async authenticate(scope: string | undefined): Promise<void> {
    const challenge = this.challenge;
    const credentials = this.lookup.credentials;
    if (challenge?.scheme === 'basic') {
      if (credentials === undefined) throw this.refused(undefined, this.purpose);
      this.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
      return;
    }
    if (challenge?.scheme !== 'bearer' || challenge.params.realm === undefined) {
      throw new EcliError(
        'NETWORK',
        `${this.registry} asks for authentication this client does not know: ${challenge === undefined ? 'no WWW-Authenticate header' : `scheme ${challenge.scheme}`}`,
        {
          hint: 'ecli supports HTTP basic and the bearer-token flow',
        },
      );
    }
    this.authorization = `Bearer ${await this.fetchToken(challenge.params.realm, challenge.params.service, scope)}`;
    this.bearerScope = scope;
  }

  /** GET realm?service=..&scope=.., with basic credentials when there are some. */
  private async fetchToken(realm: string, service: string | undefined, scope: string | undefined): Promise<string> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new EcliError('NETWORK', `${this.registry} names an invalid token realm ${JSON.stringify(redactUrl(realm))}`);
    }
    if (!this.mayFetchTokenFrom(url)) {
      throw new EcliError(
        'NETWORK',
        `${this.registry} names the token realm ${url.origin}${url.pathname}, which is plain http on another host; refusing to send credentials there in clear text`,
        { hint: "a registry's token service must use https, unless it is the registry's own origin or, for a plain-http registry, on a loopback address" },
      );
    }
    if (service !== undefined) url.searchParams.set('service', service);
    if (scope !== undefined) url.searchParams.set('scope', scope);
    const credentials = this.lookup.credentials;
    const headers: Record<string, string> = {};
    if (credentials !== undefined) headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
    const response = await requestBounded(
      url.href,
      { headers },
      { maxBytes: SMALL_BODY, timeoutMs: this.timeoutMs, maxRedirects: MAX_REDIRECTS, signal: this.signal },
    );
    if (response.status === 401 || response.status === 403)
      throw this.refused({ ...response, ...registryErrors(response) }, `${this.purpose} (token service ${url.origin}${url.pathname})`);
    const body = response.status === 200 ? parseJson(response.bytes) : undefined;
    const token = isObject(body) ? (body.token ?? body.access_token) : undefined;
    if (typeof token !== 'string' || token === '') {
      throw new EcliError('NETWORK', `${this.registry}: the token service ${url.origin}${url.pathname} answered HTTP ${response.status} without a token`);
    }
    return token;
  }

  private isOwnOrigin(url: string): boolean {
    return new URL(url).origin === new URL(this.base).origin;
  }

  /**
   * Where credentials may go for a token: any https realm (Docker Hub's is on another host), and
   * plain http only where they travel no further than to the registry itself: its own origin, or
   * a loopback realm of a plain-http registry.
   */
  private mayFetchTokenFrom(realm: URL): boolean {
    if (realm.protocol === 'https:') return true;
    if (realm.protocol !== 'http:') return false;
    return this.isOwnOrigin(realm.href) || (this.base.startsWith('http:') && isLoopbackRegistry(realm.host));
  }

  private async verifyLogin(): Promise<void> {
    await this.send('/v2/', {}, this.purpose);
  }

  private refused(response: RegistryResponse | undefined, what: string): EcliError {
    const credentials = this.lookup.credentials;
    const who =
      credentials !== undefined
        ? `the credentials of user ${JSON.stringify(credentials.username)} from ${credentials.source}`
        : `anonymous access (${this.lookup.missing ?? 'no credentials'})`;
    const status = response === undefined ? 'HTTP 401' : `HTTP ${response.status}${response.errorText === undefined ? '' : ` (${response.errorText})`}`;
    const denied = response?.status === 403;
    return new EcliError('REGISTRY_AUTH', `${this.registry} ${denied ? 'denied' : 'refused'} ${what}: ${status}; tried ${who}`, {
      hint: denied
        ? 'these credentials are valid but not allowed to do this; ask the registry owner for access'
        : `log in with: ecli login -u <user> ${this.registry} (it reads the password from stdin)`,
    });
  }

  /** A request the registry sent elsewhere (a redirect, an upload URL) and that origin refused: that origin is named. */
  private refusedElsewhere(response: RegistryResponse, method: string, what: string): EcliError {
    return new EcliError(
      'REGISTRY_AUTH',
      `${what}: ${method} to ${new URL(response.finalUrl).origin}, where ${this.registry} sent it, answered HTTP ${response.status}; ecli sends credentials only to the registry's own origin (${this.base}), so none were sent there`,
      {
        hint: "the registry's storage refused a download or upload URL the registry gave (expired or misconfigured); your credentials were not the problem: retry, or tell the registry's operator",
      },
    );
  }
}

function scopeFor(repository: string | undefined, access: Access): string | undefined {
  if (repository === undefined || access === 'login') return undefined;
  return `repository:${repository}:${access === 'push' ? 'pull,push' : 'pull'}`;
}

function unreachable(registry: string, error: unknown, schemes: string[]): EcliError {
  const message = error instanceof EcliError ? error.message : describeFetchError(error);
  return new EcliError('NETWORK', `cannot reach registry ${registry} over ${schemes.join(' or ')}: ${message}`, {
    hint: schemes.includes('http') ? 'check that the registry runs and listens there' : 'check the host and port; a registry without TLS needs --plain-http',
    cause: error,
  });
}

/** The OCI error body `{"errors": [{"code", "message"}]}`, in one short line. */
function registryErrors(response: BoundedResponse): { errorText?: string; errorCodes: string[] } {
  if (response.status < 400) return { errorCodes: [] };
  const body = parseJson(response.bytes);
  const errors = isObject(body) && Array.isArray(body.errors) ? body.errors.filter(isObject) : [];
  const codes = errors.map((e) => (typeof e.code === 'string' ? e.code : '')).filter((c) => c !== '');
  const text = errors
    .map((e) => [e.code, e.message].filter((part) => typeof part === 'string' && part !== '').join(': '))
    .filter((t) => t !== '')
    .join('; ')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
    .slice(0, 200);
  return text === '' ? { errorCodes: codes } : { errorText: text, errorCodes: codes };
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
}
