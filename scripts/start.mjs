#!/usr/bin/env node
// `npm start`: the whole system on one machine. With no DATABASE_URL, an embedded PostgreSQL keeps
// its data in .data/postgres, so a second start (also after a hard kill) finds everything again.
import { join } from 'node:path';
import { kit, root, startEmbeddedPostgres, startSystem } from './system.mjs';

const dataDir = join(root, '.data');
let postgres;
let system;
let stopping = false;

async function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping…');
  await system?.stop().catch((e) => console.error(e));
  await postgres?.stop().catch((e) => console.error(e));
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  if (process.env.DATABASE_URL) {
    postgres = undefined;
  } else {
    console.log('Starting embedded PostgreSQL in .data/postgres …');
    postgres = await startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres') });
  }
  const serverUrl = process.env.DATABASE_URL ?? postgres.url;
  system = await startSystem({ serverUrl, dataDir, seedDemo: true, env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' } });
  const adminToken = await kit.signUserToken({ sub: 'demo-admin', tenant: 'demo', roles: ['admin'] }, system.secrets.JWT_SECRET);
  console.log(`
Loyalty platform is up.

  GraphQL   ${system.gatewayUrl}/graphql
  Health    ${system.gatewayUrl}/health

A token for the demo tenant (valid 12 h; more with: npm run token -- --role admin --tenant demo):

  ${adminToken}

Try:
  curl -s ${system.gatewayUrl}/graphql -H 'content-type: application/json' \\
    -H "authorization: Bearer ${adminToken.slice(0, 12)}…" \\
    -d '{"query":"{ members(first: 5) { edges { node { email points { balance } tier { name } } } } }"}'

Ctrl-C stops everything, the database included.`);
} catch (error) {
  console.error(error);
  await shutdown(1);
}
