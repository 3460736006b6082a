/**
 * The Docker Engine API over a unix socket, which docker and podman (its compatible API, served
 * by `podman system service`) both answer: `GET /containers/<id>/json` names a container and its
 * image. One request per container, bounded in time and size; any failure gives nothing, and
 * the caller falls back to the runtime's state files.
 */
import { request } from 'node:http';
import { statSync } from 'node:fs';
import { engineFacts, type ContainerFacts } from './state-files.js';

/** A runtime that does not answer within this long is not waited for. */
export const ENGINE_TIMEOUT_MS = 1000;
/** A container description is a few kB; more than this is not one. */
const MAX_REPLY_BYTES = 4 * 1024 * 1024;

/** Whether `path` is a unix socket (so asking it may give an answer). */
export function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

/** What the engine at `socketPath` says of container `id` (64 hex digits), or undefined. */
export function inspectContainer(socketPath: string, id: string, timeoutMs = ENGINE_TIMEOUT_MS): Promise<ContainerFacts | undefined> {
  if (!/^[0-9a-f]{64}$/.test(id)) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    let settled = false;
    const done = (facts: ContainerFacts | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(facts);
    };
    const req = request({ socketPath, path: `/containers/${id}/json`, method: 'GET', headers: { host: 'localhost', accept: 'application/json' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        done(undefined);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_REPLY_BYTES) done(undefined);
        else chunks.push(chunk);
      });
      res.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
          done(typeof body === 'object' && body !== null && !Array.isArray(body) ? engineFacts(body as Record<string, unknown>) : undefined);
        } catch {
          done(undefined);
        }
      });
      res.on('error', () => done(undefined));
    });
    req.on('error', () => done(undefined));
    const timer = setTimeout(() => done(undefined), timeoutMs);
    req.end();
  });
}
