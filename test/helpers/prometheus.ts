/**
 * A real Prometheus (Debian's /usr/bin/prometheus) for integration tests: its own config and
 * storage under a temp dir, on 127.0.0.1 on a free port, scraping the given targets every
 * second; stopped (SIGTERM, then SIGKILL) when the test ends. Queried through its HTTP API.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { haveCommands, tempDir } from './examples.js';

export const PROMETHEUS = '/usr/bin/prometheus';

export interface PrometheusSample {
  metric: Record<string, string>;
  value: number;
}

export interface RunningPrometheus {
  url: string;
  /** An instant query (`/api/v1/query`): the samples of the resulting vector. */
  query(expr: string): Promise<PrometheusSample[]>;
  /** Repeats `query(expr)` until `accept` says yes; fails after `timeoutMs` with the last result. */
  waitFor(expr: string, accept: (samples: PrometheusSample[]) => boolean, timeoutMs?: number): Promise<PrometheusSample[]>;
}

/** True when Prometheus is installed; otherwise skips (or fails in CI). `make setup` installs it. */
export function havePrometheus(t: TestContext): boolean {
  return haveCommands(t, [PROMETHEUS]);
}

/** A port that was free a moment ago on 127.0.0.1. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts Prometheus scraping `targets` (`host:port`, path /metrics) as job `ecli`, and waits until it is ready. */
export async function startPrometheus(t: TestContext, targets: string[]): Promise<RunningPrometheus> {
  const dir = tempDir(t, 'prometheus-');
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      'scrape_configs:',
      '  - job_name: ecli',
      '    static_configs:',
      `      - targets: [${targets.map((target) => `'${target}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    log += chunk;
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killed = await Promise.race([exited.then(() => false), sleep(10_000).then(() => true)]);
    if (killed) child.kill('SIGKILL');
  });

  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    assert.ok(child.exitCode === null, `prometheus exited:\n${log}`);
    assert.ok(Date.now() < deadline, `prometheus not ready after 30 s:\n${log}`);
    await sleep(200);
  }

  const query = async (expr: string): Promise<PrometheusSample[]> => {
    const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    };
    assert.equal(body.status, 'success', `query ${expr}: ${body.error ?? ''}`);
    assert.equal(body.data?.resultType, 'vector', `query ${expr}`);
    return body.data!.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  return {
    url,
    query,
    async waitFor(expr, accept, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      let samples = await query(expr);
      while (!accept(samples)) {
        assert.ok(Date.now() < until, `after ${timeoutMs} ms, ${expr} is ${JSON.stringify(samples)}\nprometheus log:\n${log.slice(-2000)}`);
        await sleep(250);
        samples = await query(expr);
      }
      return samples;
    },
  };
}
