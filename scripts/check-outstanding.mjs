#!/usr/bin/env node
// `npm run check:outstanding -- --tenant demo`: does analytics' pointsOutstanding equal the sum of
// the tenant's member balances as the members ledger reports it? Exits 1 when they differ.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail, parseCli } from './cli.mjs';
import { kit, root } from './system.mjs';

const USAGE = `Usage: npm run check:outstanding -- [options]

Compares analytics' programStats.pointsOutstanding (through the gateway) with the sum of the
tenant's balances in the members ledger (its internal API). Both services must be running.

Options:
  --tenant <id>     the tenant to check (default demo)
  --gateway <url>   the gateway (default $GATEWAY_URL or http://127.0.0.1:4000)
  --members <url>   the members subgraph (default $MEMBERS_URL or http://127.0.0.1:4001)
  -h, --help        this text

Secrets: JWT_SECRET signs the admin token for the gateway, SERVICE_SECRET the credential for the
members subgraph. Without them the script uses the ones \`npm start\` keeps in .data/secrets.json
(DATA_DIR); with NODE_ENV=production both must be set, with the values the services run with.

Exit codes: 0 consistent, 1 the numbers differ, 2 bad arguments or missing secrets,
3 the check could not run (a service unreachable or refusing).`;

/** A failure to run the check at all (not a mismatch): one line for the user, exit 3. */
class CheckError extends Error {}

async function call(what, url, init) {
  let response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    const reason = error.cause?.code ?? error.cause?.message ?? error.message;
    throw new CheckError(`cannot reach ${what} at ${url} (${reason}); is it running? (npm start, or pass the right URL)`);
  }
  return response;
}

/** Compares the two numbers; both come from the running services, never from their databases. */
export async function checkOutstanding({ gatewayUrl, membersUrl, tenant, jwtSecret, serviceSecret }) {
  const token = await kit.signUserToken({ sub: 'consistency-check', tenant, roles: ['admin'] }, jwtSecret, '5m');
  const response = await call('the gateway', `${gatewayUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ programStats { pointsOutstanding } }' }),
  });
  const body = await response.json().catch(() => undefined);
  if (!body) throw new CheckError(`the gateway at ${gatewayUrl} did not answer with JSON (HTTP ${response.status}); is that URL the gateway?`);
  if (body.errors) {
    const [first] = body.errors;
    const hint = first?.extensions?.code === 'UNAUTHENTICATED' ? ' (is JWT_SECRET the one the gateway runs with?)' : '';
    throw new CheckError(`programStats failed: ${first?.extensions?.code ?? ''} ${first?.message ?? ''}${hint}`.replace(/\s+/g, ' '));
  }
  const reported = body.data.programStats.pointsOutstanding;
  const ledger = kit.createLedgerClient({ url: membersUrl, serviceSecret, service: 'consistency-check' });
  let balances;
  try {
    balances = await ledger.outstanding(tenant);
  } catch (error) {
    const hint = /UNAUTHENTICATED|credential|401/i.test(error.message) ? ' (is SERVICE_SECRET the one the services run with?)' : '';
    throw new CheckError(`the members ledger at ${membersUrl} did not answer: ${error.message}${hint}`);
  }
  return { tenant, reported, balances, consistent: reported === balances };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const values = parseCli(USAGE, {
    tenant: { type: 'string', default: 'demo' },
    gateway: { type: 'string', default: process.env.GATEWAY_URL ?? 'http://127.0.0.1:4000' },
    members: { type: 'string', default: process.env.MEMBERS_URL ?? 'http://127.0.0.1:4001' },
  });
  for (const name of ['gateway', 'members']) {
    if (!URL.canParse(values[name])) fail(USAGE, `--${name} must be a URL such as http://127.0.0.1:4000, got "${values[name]}"`);
  }
  const secrets = { production: process.env.NODE_ENV === 'production', dataDir: process.env.DATA_DIR ?? join(root, '.data') };
  let jwtSecret;
  let serviceSecret;
  try {
    jwtSecret = kit.resolveSecret('JWT_SECRET', process.env.JWT_SECRET, secrets);
    serviceSecret = kit.resolveSecret('SERVICE_SECRET', process.env.SERVICE_SECRET, secrets);
  } catch (error) {
    fail(USAGE, error.message);
  }
  try {
    const result = await checkOutstanding({
      gatewayUrl: values.gateway.replace(/\/+$/, ''),
      membersUrl: values.members.replace(/\/+$/, ''),
      tenant: values.tenant,
      jwtSecret,
      serviceSecret,
    });
    console.log(
      result.consistent
        ? `tenant ${result.tenant}: pointsOutstanding ${result.reported} = sum of balances ${result.balances}`
        : `tenant ${result.tenant}: MISMATCH pointsOutstanding ${result.reported} ≠ sum of balances ${result.balances} (analytics may still be catching up; run again)`,
    );
    process.exit(result.consistent ? 0 : 1);
  } catch (error) {
    if (!(error instanceof CheckError)) throw error;
    console.error(`error: ${error.message}`);
    process.exit(3);
  }
}
