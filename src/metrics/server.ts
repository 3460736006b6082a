/**
 * The HTTP side of `--metrics`: `GET /metrics` answers with a scrape, anything else with 404.
 * The socket is bound before the package is loaded, so a taken port or a bad address is a usage
 * error, not a half-started run.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EcliError } from '../errors.js';
import { formatListenAddress, type ListenAddress } from './flags.js';

export interface Scraper {
  scrape(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsServer {
  /** Where it listens (the real port when 0 was asked for). */
  readonly address: ListenAddress;
  /** Serves this scraper from now on; until then /metrics answers 503. */
  serve(scraper: Scraper): void;
  close(): Promise<void>;
}

export async function startMetricsServer(wanted: ListenAddress): Promise<MetricsServer> {
  let scraper: Scraper | undefined;
  const server = createServer((request, response) => {
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
    const { contentType } = scraper;
    scraper.scrape().then(
      (text) => response.writeHead(200, { 'content-type': contentType }).end(request.method === 'HEAD' ? undefined : text),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error instanceof Error ? error.message : String(error)}\n`),
    );
  });
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
