import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface Service {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts one more process of the system (e.g. a second replica with its own settings). */
export async function startService(script: 'gateway' | 'members' | 'campaigns' | 'rewards' | 'analytics', env: Record<string, string>): Promise<Service> {
  const port = await freePort();
  let output = '';
  const path = script === 'gateway' ? join(root, 'gateway', 'dist', 'main.js') : join(root, 'subgraphs', script, 'dist', 'main.js');
  const child = spawn(process.execPath, [path], {
    env: { ...process.env, LOG_LEVEL: 'warn', [script === 'gateway' ? 'GATEWAY_PORT' : 'PORT']: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300 && child.exitCode === null; i++) {
    if (await fetch(`${url}/health`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return; // already gone (a test may SIGKILL it)
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export type FaultMode = 'pass' | 'refuse' | 'lose-response' | 'hold';

/**
 * An HTTP proxy in front of a service that can fail chosen requests: `refuse` answers 503 without
 * forwarding (the call never happened), `lose-response` forwards and then drops the answer (the call
 * happened, the caller cannot know), `hold` forwards and never answers (the caller waits, e.g. until
 * a test kills it mid-call). Faults apply to paths matching `faulty`.
 */
export async function faultyProxy(target: string, faulty: RegExp) {
  let mode: FaultMode = 'pass';
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const fault = faulty.test(req.url ?? '') ? mode : 'pass';
    if (fault === 'refuse') {
      req.resume();
      res.writeHead(503).end();
      return;
    }
    const upstream = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      if (fault !== 'pass') {
        answer.resume();
        if (fault === 'lose-response') answer.on('end', () => res.socket?.destroy());
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setMode: (next: FaultMode) => (mode = next),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // held answers would keep close() waiting forever
      }),
  };
}
