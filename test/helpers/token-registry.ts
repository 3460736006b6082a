/**
 * A small registry speaking the distribution API, for tests that need one where the real
 * registry cannot easily be put: in-process, or on addresses inside a private network namespace
 * with its token service on another host. It serves one package artifact under any repository
 * name (tag `v1`). With `realm`, it asks for a bearer token, which `/token` on every address it
 * listens on gives for `user`/`password` (HTTP basic); without, it lets anyone pull. It logs every
 * request.
 *
 * Run as a script (`node token-registry.js '<TokenRegistryOptions as JSON>'`, see
 * spawnTokenRegistry), it prints `listening <ip:port>...`, then each request as a JSON line.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { buildArtifact } from '../../src/inputs/registry/artifact.js';
import { sleep, startHelper } from './examples.js';
import { syntheticPackageText } from './synthetic-package.js';

export interface TokenRegistryOptions {
  /** `ip:port` addresses to listen on (port 0: any free one); the first is the registry, every one serves `/token`. */
  listen: string[];
  realm?: string;
  user?: string;
  password?: string;
  /** The layer's title annotation (the file name a registry may suggest); `package.json` by default. */
  layerTitle?: string;
  /**
   * Blob GETs are redirected (307) to `/storage/<digest>` with a pre-signed query carrying
   * PRESIGNED_SECRET, as registries backed by S3 do; that storage `serves` the blob, or `hangs-up`
   * without an answer.
   */
  presignedStorage?: 'serves' | 'hangs-up';
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
const TOKEN = 'netns-token';
/** The signature in the query of the storage URLs blobs are redirected to (presignedStorage): no message may show it. */
export const PRESIGNED_SECRET = 'wJalrXUtnFEMIK7MDENGbPxRfiCY4e5a0c2b8d';

function serve(options: TokenRegistryOptions, req: IncomingMessage, res: ServerResponse): void {
  const artifact = buildArtifact(SERVED_PACKAGE, 'json', options.layerTitle ?? 'package.json', { name: 'netns', version: '1.0.0' });
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
    return void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(artifact.manifest);
  }
  const stored = url.pathname.startsWith('/storage/');
  const blob = [artifact.config, artifact.layer].find((b) => url.pathname.endsWith(`${stored ? '/storage/' : '/blobs/'}${b.descriptor.digest}`));
  if (blob === undefined || (stored && options.presignedStorage === undefined)) return void res.writeHead(404).end();
  if (stored && options.presignedStorage === 'hangs-up') return void req.socket.destroy();
  if (!stored && options.presignedStorage !== undefined) {
    const query = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261207%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=${PRESIGNED_SECRET}`;
    return void res.writeHead(307, { location: `/storage/${blob.descriptor.digest}?${query}` }).end();
  }
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

/**
 * The registry in a process of its own, for tests that run ecli synchronously (an in-process
 * server could not answer then); `prefix` runs it through a command that execs it, such as
 * nsenter into a network namespace. Killed after the test.
 */
export async function spawnTokenRegistry(
  t: TestContext,
  options: TokenRegistryOptions,
  prefix: string[] = [],
): Promise<{ addresses: string[]; requests(): LoggedRequest[] }> {
  const [command, ...args] = [...prefix, process.execPath, TOKEN_REGISTRY_SCRIPT, JSON.stringify(options)];
  const helper = startHelper(t, command!, args);
  const listening = (): string[] | undefined => /^listening (.*)\n/.exec(helper.stdout())?.[1]!.split(' ');
  for (let i = 0; listening() === undefined; i++) {
    assert.ok(i < 250, `the token registry did not start: ${helper.stdout()}`);
    await sleep(20);
  }
  return {
    addresses: listening()!,
    requests: () =>
      helper
        .stdout()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as LoggedRequest),
  };
}

if (process.argv[1] === TOKEN_REGISTRY_SCRIPT) {
  const registry = await startTokenRegistry(JSON.parse(process.argv[2]!) as TokenRegistryOptions, (request) =>
    process.stdout.write(`${JSON.stringify(request)}\n`),
  );
  process.stdout.write(`listening ${registry.addresses.join(' ')}\n`);
}
