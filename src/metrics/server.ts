/**
 * The HTTP side of `--metrics`: `GET /metrics` answers with a scrape, written as it is made (with
 * the socket's back-pressure), anything else with 404. The socket is bound before the package is
 * loaded, so a taken port or a bad address is a usage error, not a half-started run.
 *
 * Whoever can reach the port must not be able to hurt the run: at most `maxConnections` are open
 * at once (a new one closes the oldest connection that is not being answered, so a real scraper
 * always gets in), a request must arrive whole within `headersTimeoutMs` (and a connection
 * silent that long is closed), and an answer that the client does not take within
 * `responseTimeoutMs` is cut.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { EcliError } from '../errors.js';
import { formatListenAddress, type ListenAddress } from './flags.js';

export interface Scraper {
  /** The text of one scrape, in slices. */
  scrape(): AsyncIterable<string>;
  readonly contentType: string;
}

export interface MetricsServer {
  /** Where it listens (the real port when 0 was asked for). */
  readonly address: ListenAddress;
  /** Serves this scraper from now on; until then /metrics answers 503. */
  serve(scraper: Scraper): void;
  close(): Promise<void>;
}

export interface ServerLimits {
  maxConnections: number;
  /** From a connection's first byte (or from the end of the last answer) to the end of the request's headers. */
  headersTimeoutMs: number;
  /** The most one answer may take to be written, however slowly the client reads. */
  responseTimeoutMs: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = { maxConnections: 64, headersTimeoutMs: 5000, responseTimeoutMs: 30_000 };

export async function startMetricsServer(wanted: ListenAddress, limits: ServerLimits = DEFAULT_SERVER_LIMITS): Promise<MetricsServer> {
  let scraper: Scraper | undefined;
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.headersTimeoutMs,
      // How often Node checks the two timeouts above (30 s by default).
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
      keepAliveTimeout: limits.headersTimeoutMs,
    },
    (request, response) => answer(request, response, scraper, limits),
  );
  // A connection that sends nothing at all is not under headersTimeout: no activity for that long closes any.
  server.setTimeout(limits.headersTimeoutMs);
  limitConnections(server, limits.maxConnections);
  await listen(server, wanted);
  const bound = server.address() as AddressInfo;
  return {
    address: { host: wanted.host, port: bound.port },
    serve(next) {
      scraper = next;
    },
    close() {
      scraper = undefined;
      return new Promise((resolve) => {
        server.close(() => resolve());
        // Prometheus keeps its connection open between scrapes.
        server.closeAllConnections();
      });
    },
  };
}

function answer(request: IncomingMessage, response: ServerResponse, scraper: Scraper | undefined, limits: ServerLimits): void {
  const path = (request.url ?? '').split('?')[0];
  if (path !== '/metrics') {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the metrics are at /metrics\n');
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('only GET and HEAD\n');
    return;
  }
  if (scraper === undefined) {
    response.writeHead(503, { 'content-type': 'text/plain' }).end('the package is not running yet\n');
    return;
  }
  if (request.method === 'HEAD') {
    response.writeHead(200, { 'content-type': scraper.contentType }).end();
    return;
  }
  const deadline = setTimeout(() => response.destroy(), limits.responseTimeoutMs);
  void stream(scraper, response).finally(() => clearTimeout(deadline));
}

/**
 * Writes the scrape as it is made, waiting for the socket to take each slice. A failure before the
 * first slice is a 500; after it, the connection is cut (the client sees an incomplete answer).
 */
async function stream(scraper: Scraper, response: ServerResponse): Promise<void> {
  const { contentType } = scraper;
  let started = false;
  try {
    for await (const slice of scraper.scrape()) {
      if (response.destroyed) return;
      if (!started) {
        response.writeHead(200, { 'content-type': contentType });
        started = true;
      }
      if (!response.write(slice)) await drained(response);
    }
    if (!started) response.writeHead(200, { 'content-type': contentType });
    response.end();
  } catch (error) {
    if (started || response.destroyed) {
      response.destroy();
      return;
    }
    response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error instanceof Error ? error.message : String(error)}\n`);
  }
}

/** Resolves when the response can take more, or is gone. */
function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

/**
 * At most `max` connections: a new one closes the oldest connection that has no request being
 * answered (a half-sent request, or an idle keep-alive), or, when every one is being answered,
 * is closed itself.
 */
function limitConnections(server: Server, max: number): void {
  const open = new Map<Socket, { answering: number }>();
  server.on('connection', (socket: Socket) => {
    if (open.size >= max) {
      const idle = [...open].find(([, state]) => state.answering === 0)?.[0];
      if (idle === undefined) {
        socket.destroy();
        return;
      }
      idle.destroy();
      open.delete(idle);
    }
    open.set(socket, { answering: 0 });
    socket.once('close', () => open.delete(socket));
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const state = open.get(request.socket);
    if (state === undefined) return;
    state.answering++;
    response.once('close', () => state.answering--);
  });
}

function listen(server: Server, address: ListenAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => reject(bindError(address, error));
    server.once('error', onError);
    server.listen({ host: address.host, port: address.port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function bindError(address: ListenAddress, error: NodeJS.ErrnoException): EcliError {
  const where = `cannot serve metrics on ${formatListenAddress(address)}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return new EcliError('USAGE', `${where}: the port is in use`, { hint: 'choose another port, or stop what listens there' });
    case 'EADDRNOTAVAIL':
      return new EcliError('USAGE', `${where}: no network interface of this machine has that address`, {
        hint: 'use 127.0.0.1, [::] or the address of one of its interfaces',
      });
    case 'EACCES':
      return new EcliError('USAGE', `${where}: permission denied`, { hint: 'ports below 1024 need root or CAP_NET_BIND_SERVICE' });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new EcliError('USAGE', `${where}: host ${address.host} cannot be resolved`, { hint: 'give an IP address, e.g. 127.0.0.1' });
    default:
      return new EcliError('USAGE', `${where}: ${error.code ?? error.message}`, { cause: error });
  }
}
