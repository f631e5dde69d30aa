// Starts the system under test once for the e2e project: a throw-away PostgreSQL (embedded, unless
// DATABASE_URL is set: then uniquely named databases on that server, dropped afterwards) and every
// service on free ports. Test files find it through process.env (test/support/system.ts); the
// workers Jest starts afterwards inherit it.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SUBGRAPHS, kit, root, startEmbeddedPostgres, startSystem } from '../../scripts/system.mjs';

export default async function globalSetup() {
  const dataDir = mkdtempSync(join(tmpdir(), 'loyalty-test-'));
  chmodSync(dataDir, 0o755); // the embedded server runs as the OS user postgres
  const dbPrefix = `loyalty_test_${process.pid}_`;
  const logs = join(root, 'test', 'artifacts', 'logs');
  rmSync(logs, { recursive: true, force: true });

  let postgres;
  let system;
  const stop = async () => {
    await system?.stop().catch((e) => console.error(e));
    if (process.env.DATABASE_URL && system) {
      const admin = new pg.Client({ connectionString: kit.siblingDatabaseUrl(process.env.DATABASE_URL, 'postgres') });
      await admin.connect();
      for (const name of [...SUBGRAPHS, 'events']) await admin.query(`DROP DATABASE IF EXISTS "${dbPrefix}${name}" WITH (FORCE)`);
      await admin.end();
    }
    await postgres?.stop().catch((e) => console.error(e));
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    postgres = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres'), persistent: false });
    const serverUrl = process.env.DATABASE_URL ?? postgres.url;
    const ports = { gateway: 0, members: 0, campaigns: 0, rewards: 0, analytics: 0 };
    // Webhooks on a short schedule (test/webhooks.test.ts waits for retries, timeouts, leases and DEAD).
    const webhooks = { WEBHOOK_RETRY_BASE_MS: '100', WEBHOOK_RETRY_MAX_DELAY_MS: '400', WEBHOOK_RETRY_FOR_MS: '4000', WEBHOOK_TIMEOUT_MS: '1500', WEBHOOK_LEASE_MS: '4000', WEBHOOK_POLL_MS: '50' };
    system = await startSystem({ serverUrl, dataDir, dbPrefix, ports, output: logs, env: { LOG_LEVEL: 'info', API_KEY_CACHE_SECONDS: '1', POINTS_MAINTENANCE_INTERVAL_MS: '0', SEGMENT_SWEEP_INTERVAL_MS: '1000', ...webhooks } });
  } catch (error) {
    await stop();
    throw error;
  }
  Object.assign(process.env, {
    TEST_GATEWAY_URL: system.gatewayUrl,
    TEST_SUBGRAPH_URLS: JSON.stringify(system.urls),
    TEST_DATABASES: JSON.stringify(system.databases),
    JWT_SECRET: system.secrets.JWT_SECRET,
    SERVICE_SECRET: system.secrets.SERVICE_SECRET,
  });
  // Global setup and teardown share the main process (and nothing else).
  globalThis.__loyaltySystem = { stop };
}
