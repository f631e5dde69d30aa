#!/usr/bin/env node
// `npm test`: starts a throw-away PostgreSQL (embedded, unless DATABASE_URL is set: then uniquely
// named databases on that server, dropped afterwards), the whole system on free ports, and runs
// every compiled test file in test/dist against it with Node's test runner.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SUBGRAPHS, kit, root, startEmbeddedPostgres, startSystem } from './system.mjs';

const dataDir = mkdtempSync(join(tmpdir(), 'loyalty-test-'));
chmodSync(dataDir, 0o755); // the embedded server runs as the OS user postgres
const dbPrefix = `loyalty_test_${process.pid}_`;
const logs = join(root, 'test', 'artifacts', 'logs');
rmSync(logs, { recursive: true, force: true });

let postgres;
let system;
let code = 1;
try {
  postgres = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres'), persistent: false });
  const serverUrl = process.env.DATABASE_URL ?? postgres.url;
  const ports = { gateway: 0, members: 0, campaigns: 0, rewards: 0, analytics: 0 };
  system = await startSystem({ serverUrl, dataDir, dbPrefix, ports, output: logs, env: { LOG_LEVEL: 'info', API_KEY_CACHE_SECONDS: '1' } });

  const files = readdirSync(join(root, 'test', 'dist'))
    .filter((f) => f.endsWith('.test.js'))
    .sort()
    .map((f) => join('test', 'dist', f));
  const only = process.argv.slice(2);
  const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
  const runner = spawn(process.execPath, ['--test', '--test-concurrency=1', ...selected], {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      TEST_GATEWAY_URL: system.gatewayUrl,
      TEST_SUBGRAPH_URLS: JSON.stringify(system.urls),
      TEST_DATABASES: JSON.stringify(system.databases),
      JWT_SECRET: system.secrets.JWT_SECRET,
      SERVICE_SECRET: system.secrets.SERVICE_SECRET,
    },
  });
  code = await new Promise((resolve) => runner.on('exit', (c) => resolve(c ?? 1)));
} catch (error) {
  console.error(error);
} finally {
  await system?.stop().catch((e) => console.error(e));
  if (process.env.DATABASE_URL && system) {
    const admin = new pg.Client({ connectionString: kit.siblingDatabaseUrl(process.env.DATABASE_URL, 'postgres') });
    await admin.connect();
    for (const name of [...SUBGRAPHS, 'events']) await admin.query(`DROP DATABASE IF EXISTS "${dbPrefix}${name}" WITH (FORCE)`);
    await admin.end();
  }
  await postgres?.stop().catch((e) => console.error(e));
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(code);
