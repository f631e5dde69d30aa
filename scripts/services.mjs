// Helpers to start services on free ports and to know they are up, shared by scripts/system.mjs and
// the tests' support code (test/support/processes.ts), so both allocate and wait the same way.
import { createServer } from 'node:net';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * `count` distinct free ports. All are held open until every one is chosen: asking one at a time
 * can hand out a port just released, and two services would then race for it.
 */
export async function freePorts(count) {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise((resolve, reject) => {
          const server = createServer();
          server.unref();
          server.on('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => server.address().port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

export async function freePort() {
  return (await freePorts(1))[0];
}

/**
 * Resolves once `url`/health answers 200 from the service `name` itself (the gateway reports its
 * subgraphs, a subgraph its own name); throws when the child exits first or after `timeoutMs`.
 * `degraded`: a gateway that answers 503 because a subgraph is down counts as up.
 */
export async function waitHealthy(url, child, name, timeoutMs = 60_000, { degraded = false } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited with ${child.signalCode ?? `code ${child.exitCode}`} during start-up`);
    }
    // The answer must come from this service, not from whatever else might hold the port.
    const ok = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) })
      .then(async (r) => {
        const body = await r.json();
        const mine = name === 'gateway' ? typeof body.subgraphs === 'object' : body.service === name;
        return mine && (r.ok || (degraded && r.status === 503));
      })
      .catch(() => false);
    if (ok) return;
    await sleep(150);
  }
  throw new Error(`${name} did not become healthy at ${url} within ${timeoutMs} ms`);
}
