#!/usr/bin/env node
// `npm run check:outstanding -- --tenant demo`: does analytics' pointsOutstanding equal the sum of
// the tenant's member balances as the members ledger reports it? Exits 1 when they differ.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { kit, root } from './system.mjs';

/** Compares the two numbers; both come from the running services, never from their databases. */
export async function checkOutstanding({ gatewayUrl, membersUrl, tenant, jwtSecret, serviceSecret }) {
  const token = await kit.signUserToken({ sub: 'consistency-check', tenant, roles: ['admin'] }, jwtSecret, '5m');
  const response = await fetch(`${gatewayUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ programStats { pointsOutstanding } }' }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(`programStats failed: ${JSON.stringify(body.errors)}`);
  const reported = body.data.programStats.pointsOutstanding;
  const ledger = kit.createLedgerClient({ url: membersUrl, serviceSecret, service: 'consistency-check' });
  const balances = await ledger.outstanding(tenant);
  return { tenant, reported, balances, consistent: reported === balances };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      tenant: { type: 'string', default: 'demo' },
      gateway: { type: 'string', default: process.env.GATEWAY_URL ?? 'http://127.0.0.1:4000' },
      members: { type: 'string', default: process.env.MEMBERS_URL ?? 'http://127.0.0.1:4001' },
    },
  });
  const secrets = { production: process.env.NODE_ENV === 'production', dataDir: process.env.DATA_DIR ?? join(root, '.data') };
  const result = await checkOutstanding({
    gatewayUrl: values.gateway,
    membersUrl: values.members,
    tenant: values.tenant,
    jwtSecret: kit.resolveSecret('JWT_SECRET', process.env.JWT_SECRET, secrets),
    serviceSecret: kit.resolveSecret('SERVICE_SECRET', process.env.SERVICE_SECRET, secrets),
  });
  console.log(
    result.consistent
      ? `tenant ${result.tenant}: pointsOutstanding ${result.reported} = sum of balances ${result.balances}`
      : `tenant ${result.tenant}: MISMATCH pointsOutstanding ${result.reported} ≠ sum of balances ${result.balances} (analytics may still be catching up; run again)`,
  );
  process.exit(result.consistent ? 0 : 1);
}
