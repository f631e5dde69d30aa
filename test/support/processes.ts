import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll } from '@jest/globals';
import { pathToFileURL } from 'node:url';

const root = join(__dirname, '..', '..');

/** The launcher's own helpers (scripts/services.mjs), so tests allocate ports and wait the same way. */
const services = () =>
  import(pathToFileURL(join(root, 'scripts', 'services.mjs')).href) as Promise<typeof import('../../scripts/services.mjs')>;

/** Whatever a test file started is stopped when the file ends, whether its tests passed or not. */
const cleanups = new Set<() => Promise<void>>();
afterAll(async () => {
  await Promise.all([...cleanups].map((cleanup) => cleanup().catch(() => undefined)));
});

export async function freePort(): Promise<number> {
  return (await services()).freePort();
}

/** `count` distinct free ports, all held until every one is chosen. */
export async function freePorts(count: number): Promise<number[]> {
  return (await services()).freePorts(count);
}

/**
 * Polls `probe` until it returns something other than undefined/false; fails after `timeoutMs`
 * saying what was awaited (and the last thing probe threw, if any).
 */
export async function waitFor<T>(what: string | (() => string), probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new Error(`waited ${timeoutMs} ms for ${typeof what === 'string' ? what : what()}${cause}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface Service {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

export interface StartOptions {
  /** The test expects the process may stop during start-up (e.g. a refused configuration). */
  mayExit?: boolean;
  /** How long to wait for /health (default 60 s). */
  timeoutMs?: number;
  /** A gateway started with a subgraph down on purpose: its /health answers 503 and that is up. */
  degraded?: boolean;
}

/**
 * Starts one more process of the system (e.g. a second replica with its own settings) and waits
 * until /health answers from it. Fails with its output when it exits or never becomes healthy,
 * unless `mayExit`: then it returns and the test reads `child.exitCode` and `output()`.
 */
export async function startService(
  script: 'gateway' | 'members' | 'campaigns' | 'rewards' | 'analytics',
  env: Record<string, string>,
  options: StartOptions = {},
): Promise<Service> {
  const { freePort: port0, waitHealthy } = await services();
  const port = await port0();
  let output = '';
  const path = script === 'gateway' ? join(root, 'gateway', 'dist', 'main.js') : join(root, 'subgraphs', script, 'dist', 'main.js');
  const child = spawn(process.execPath, [path], {
    env: { ...process.env, LOG_LEVEL: 'warn', [script === 'gateway' ? 'GATEWAY_PORT' : 'PORT']: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    cleanups.delete(stop);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await exited;
  };
  cleanups.add(stop);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(url, child, script, options.timeoutMs, { degraded: options.degraded });
  } catch (error) {
    const stopped = child.exitCode !== null || child.signalCode !== null;
    if (!(options.mayExit && stopped)) {
      await stop();
      throw new Error(`${(error as Error).message}\n--- ${script} output ---\n${output}`);
    }
    await exited;
  }
  return { url, child, output: () => output, stop };
}

export type FaultMode = 'pass' | 'refuse' | 'lose-response' | 'hold' | 'hold-response';

/**
 * An HTTP proxy in front of a service that can fail chosen requests: `refuse` answers 503 without
 * forwarding (the call never happened), `lose-response` forwards and then drops the answer (the call
 * happened, the caller cannot know), `hold` keeps requests waiting (a slow service) until the mode
 * changes, then treats them as the new mode says; `hold-response` forwards and never answers (the
 * call happened and the caller waits, e.g. until a test kills it mid-call). Faults apply to paths
 * matching `faulty`. Closed at
 * the end of the test file at the latest.
 */
export async function faultyProxy(initialTarget: string, faulty: RegExp) {
  let target = initialTarget;
  let mode: FaultMode = 'pass';
  const held: (() => void)[] = [];
  const server = createServer(function handle(req: IncomingMessage, res: ServerResponse) {
    if (mode === 'hold' && faulty.test(req.url ?? '')) {
      held.push(() => handle(req, res));
      return;
    }
    const broken = mode !== 'pass' && faulty.test(req.url ?? '');
    if (broken && mode === 'refuse') {
      req.resume();
      res.writeHead(503).end();
      return;
    }
    const upstream = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      if (broken) {
        answer.resume();
        if (mode === 'lose-response') answer.on('end', () => res.socket?.destroy());
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let closed: Promise<void> | undefined;
  const close = () => {
    cleanups.delete(close);
    mode = 'pass';
    for (const release of held.splice(0)) release();
    closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Keep-alive connections would hold close() open until they time out.
      server.closeAllConnections();
    });
    return closed;
  };
  cleanups.add(close);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Points the proxy at another address (a restarted service), so its callers keep theirs. */
    setTarget: (next: string) => (target = next),
    /** How many requests `hold` keeps waiting now. */
    held: () => held.length,
    setMode: (next: FaultMode) => {
      mode = next;
      if (next !== 'hold') for (const release of held.splice(0)) release();
    },
    close,
  };
}
