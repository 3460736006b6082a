/**
 * A small registry speaking the distribution API with the bearer-token flow, for tests that need
 * one where the real registry cannot easily be put: on addresses inside a private network
 * namespace, with its token service on another host. It serves one package artifact at
 * `tools/x:v1`, gives tokens for `user`/`password` (HTTP basic) at `/token` on every address it
 * listens on, names `realm` in its challenges, and prints every request as a JSON line
 * (`{"at", "method", "url", "authorization"}`) on stdout after a first `listening` line.
 *
 * Run as a script: `node token-registry.js '<TokenRegistryOptions as JSON>'`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { buildArtifact } from '../../src/inputs/registry/artifact.js';
import { syntheticPackageText } from './synthetic-package.js';

export interface TokenRegistryOptions {
  /** `ip:port` addresses to listen on; the first is the registry, every one serves `/token`. */
  listen: string[];
  realm: string;
  user: string;
  password: string;
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

function serve(options: TokenRegistryOptions, at: string, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const logged: LoggedRequest = {
    at,
    method: req.method ?? '',
    url: url.pathname + url.search,
    ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
  };
  process.stdout.write(`${JSON.stringify(logged)}\n`);
  if (url.pathname === '/token') {
    const basic = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;
    if (req.headers.authorization !== basic) return void res.writeHead(401).end();
    return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: TOKEN }));
  }
  if (req.headers.authorization !== `Bearer ${TOKEN}`) {
    res.writeHead(401, { 'www-authenticate': `Bearer realm="${options.realm}",service="netns"` }).end();
    return;
  }
  if (url.pathname === '/v2/') return void res.writeHead(200).end('{}');
  if (url.pathname === '/v2/tools/x/manifests/v1') {
    return void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(ARTIFACT.manifest);
  }
  const blob = [ARTIFACT.config, ARTIFACT.layer].find((b) => url.pathname === `/v2/tools/x/blobs/${b.descriptor.digest}`);
  if (blob === undefined) return void res.writeHead(404).end();
  res.writeHead(200, { 'content-length': String(blob.bytes.length) }).end(blob.bytes);
}

async function main(options: TokenRegistryOptions): Promise<void> {
  for (const at of options.listen) {
    const [host, port] = [at.slice(0, at.lastIndexOf(':')), Number(at.slice(at.lastIndexOf(':') + 1))];
    const server = createServer((req, res) => serve(options, at, req, res));
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  }
  process.stdout.write('listening\n');
}

if (process.argv[1] === TOKEN_REGISTRY_SCRIPT) await main(JSON.parse(process.argv[2]!) as TokenRegistryOptions);
