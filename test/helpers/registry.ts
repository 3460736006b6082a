/**
 * A real CNCF distribution registry (Debian's docker-registry) for a test: on 127.0.0.1 on a free
 * port, with its own config, storage and optional htpasswd users under a temp dir, stopped and
 * removed when the test ends. Its access log (one line per request) is kept for assertions.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { findExecutable } from '../../src/compiler/process.js';
import { skipUnlessCi } from './env.js';

export interface RunningRegistry {
  /** `127.0.0.1:<port>`: the host part of references. */
  host: string;
  /** The storage root (`docker/registry/v2/...` below it). */
  storage: string;
  /** Everything the registry printed so far (its access log included). */
  log(): string;
  /** The access-log request lines so far, e.g. `HEAD /v2/tools/x/blobs/sha256:... HTTP/1.1" 200`. */
  requests(): string[];
  /**
   * The request lines logged after the first `from`, once one of them satisfies `until` (the log
   * arrives asynchronously, after a client that ran with spawnSync has exited).
   */
  requestsUntil(from: number, until: (request: string) => boolean): Promise<string[]>;
}

export interface RegistryUser {
  user: string;
  password: string;
}

const READY_TIMEOUT_MS = 15_000;

/** True when docker-registry and htpasswd are installed; otherwise skips (or fails in CI). */
export function haveRegistry(t: TestContext): boolean {
  const missing = ['docker-registry', 'htpasswd'].filter((tool) => !findExecutable([tool]));
  if (missing.length === 0) return true;
  skipUnlessCi(t, `needs ${missing.join(', ')} (make setup installs docker-registry and apache2-utils)`);
  return false;
}

/** Starts a registry; with `users`, it requires HTTP basic auth (htpasswd, bcrypt). Stopped after `t`. */
export async function startRegistry(t: TestContext, users: RegistryUser[] = []): Promise<RunningRegistry> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ecli-registry-'));
  const storage = path.join(dir, 'storage');
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  formatter: text',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${Math.random().toString(36).slice(2)}`,
  ];
  if (users.length > 0) {
    const htpasswd = users.map(({ user, password }) => {
      const made = spawnSync('htpasswd', ['-Bbn', user, password], { encoding: 'utf8' });
      if (made.status !== 0) throw new Error(`htpasswd failed: ${made.stderr}`);
      return made.stdout.trim();
    });
    writeFileSync(path.join(dir, 'htpasswd'), `${htpasswd.join('\n')}\n`);
    lines.push('auth:', '  htpasswd:', '    realm: ecli-test', `    path: ${path.join(dir, 'htpasswd')}`);
  }
  const config = path.join(dir, 'config.yml');
  writeFileSync(config, `${lines.join('\n')}\n`);
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: string): void => {
    output += chunk;
  };
  child.stdout.setEncoding('utf8').on('data', collect);
  child.stderr.setEncoding('utf8').on('data', collect);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000).then(() => child.kill('SIGKILL'))]);
    rmSync(dir, { recursive: true, force: true });
  });
  const host = `127.0.0.1:${port}`;
  await waitUntilServing(
    host,
    () => output,
    () => child.exitCode !== null,
  );
  const requests = (): string[] => [...output.matchAll(/"((?:GET|HEAD|POST|PUT|PATCH|DELETE) [^"]*)" (\d{3})/g)].map((m) => `${m[1]}" ${m[2]}`);
  return {
    host,
    storage,
    log: () => output,
    requests,
    async requestsUntil(from, until) {
      const deadline = Date.now() + READY_TIMEOUT_MS;
      for (;;) {
        const after = requests().slice(from);
        if (after.some(until)) return after;
        if (Date.now() > deadline)
          throw new Error(`the registry logged no such request within ${READY_TIMEOUT_MS} ms; after request ${from}:\n${after.join('\n')}`);
        await sleep(20);
      }
    },
  };
}

async function waitUntilServing(host: string, log: () => string, dead: () => boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (dead()) throw new Error(`docker-registry exited at start:\n${log()}`);
    try {
      const response = await fetch(`http://${host}/v2/`);
      await response.body?.cancel();
      if (response.status === 200 || response.status === 401) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`docker-registry did not answer on ${host} within ${READY_TIMEOUT_MS} ms:\n${log()}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
