/**
 * A small registry speaking the distribution API, for tests that need one where the real
 * registry cannot easily be put: in-process, or on addresses inside a private network namespace
 * with its token service on another host. It serves one package artifact under any repository
 * name (tag `v1`). With `realm`, it asks for a bearer token, which `/token` on every address it
 * listens on gives for `user`/`password` (HTTP basic); without, it lets anyone pull. It logs every
 * request.
 *
 * Run as a script (`node token-registry.js '<TokenRegistryOptions as JSON>'`), it prints a first
 * `listening` line, then each request as a JSON line.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { buildArtifact } from '../../src/inputs/registry/artifact.js';
import { syntheticPackageText } from './synthetic-package.js';

export interface TokenRegistryOptions {
  /** `ip:port` addresses to listen on (port 0: any free one); the first is the registry, every one serves `/token`. */
  listen: string[];
  realm?: string;
  user?: string;
  password?: string;
}

export interface TokenRegistry {
  /** The `ip:port` addresses it listens on, ports resolved. */
  addresses: string[];
  requests: LoggedRequest[];
  close(): void;
}

export interface LoggedRequest {
  /** The `ip:port` that received it. */
  at: string;
  method: string;
  url: string;
  authorization?: string;
}

export const TOKEN_REGISTRY_SCRIPT = fileURLToPath(import.meta.url);
export const SERVED_PACKAGE = new TextEncoder().encode(syntheticPackageText('netns_bpf'));
const ARTIFACT = buildArtifact(SERVED_PACKAGE, 'json', 'package.json', { name: 'netns', version: '1.0.0' });
const TOKEN = 'netns-token';

function serve(options: TokenRegistryOptions, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/token') {
    const basic = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;
    if (req.headers.authorization !== basic) return void res.writeHead(401).end();
    return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: TOKEN }));
  }
  if (options.realm !== undefined && req.headers.authorization !== `Bearer ${TOKEN}`) {
    res.writeHead(401, { 'www-authenticate': `Bearer realm="${options.realm}",service="netns"` }).end();
    return;
  }
  if (url.pathname === '/v2/') return void res.writeHead(200).end('{}');
  if (/^\/v2\/.+\/manifests\/v1$/.test(url.pathname)) {
    return void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(ARTIFACT.manifest);
  }
  const blob = [ARTIFACT.config, ARTIFACT.layer].find((b) => url.pathname.endsWith(`/blobs/${b.descriptor.digest}`));
  if (blob === undefined) return void res.writeHead(404).end();
  res.writeHead(200, { 'content-length': String(blob.bytes.length) }).end(blob.bytes);
}

export async function startTokenRegistry(options: TokenRegistryOptions, onRequest?: (request: LoggedRequest) => void): Promise<TokenRegistry> {
  const servers: Server[] = [];
  const addresses: string[] = [];
  const requests: LoggedRequest[] = [];
  for (const at of options.listen) {
    const host = at.slice(0, at.lastIndexOf(':'));
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const logged: LoggedRequest = {
        at: `${host}:${(server.address() as AddressInfo).port}`,
        method: req.method ?? '',
        url: url.pathname + url.search,
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      };
      requests.push(logged);
      onRequest?.(logged);
      serve(options, req, res);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(Number(at.slice(at.lastIndexOf(':') + 1)), host, resolve));
    servers.push(server);
    addresses.push(`${host}:${(server.address() as AddressInfo).port}`);
  }
  return { addresses, requests, close: () => servers.forEach((server) => server.close()) };
}

if (process.argv[1] === TOKEN_REGISTRY_SCRIPT) {
  await startTokenRegistry(JSON.parse(process.argv[2]!) as TokenRegistryOptions, (request) => process.stdout.write(`${JSON.stringify(request)}\n`));
  process.stdout.write('listening\n');
}
