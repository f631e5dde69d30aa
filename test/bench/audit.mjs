// What the audit log costs the mutations that write it: recordActivity sent with an API key (the
// till's hottest audited write: one more INSERT in its transaction), through the gateway at
// concurrency 10, with the campaigns subgraph running with the audit log on and, restarted, with
// AUDIT_LOG=off, alternated in rounds so a noisy neighbour slows both alike.
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { kit, log, runBench } from './harness.mjs';
import { graphql, pool, runPhase, startCampaign } from './load.mjs';

export const TARGET_AUDIT_RATIO = 0.9; // recordActivity req/s with its audit entry ÷ without

const CAMPAIGN = { name: 'Audit bench', rules: [{ name: 'visit', trigger: 'PURCHASE', calculation: 'FIXED', points: 5 }] };
const ACTIVITY = `mutation Record($input: ActivityInput!) { recordActivity(input: $input) { pointsEarned } }`;

/** Resolves to the pooled phases with and without the audit log and their ratio; leaves campaigns running with it on. */
export async function runAudit({ kit, system, runId, runPhase, pool, graphql, log, rounds, seconds, warmup }) {
  const { gatewayUrl, secrets } = system;
  const tenant = `bench-audit-${runId.slice(0, 8)}`;
  const admin = { authorization: `Bearer ${await kit.signUserToken({ sub: 'bench-audit', tenant, roles: ['admin'] }, secrets.JWT_SECRET)}` };
  log('audit: seeding a tenant with a campaign, 100 members and a till key…');
  await startCampaign(gatewayUrl, admin, CAMPAIGN);
  const members = [];
  for (let i = 0; i < 100; i++) {
    members.push((await graphql(gatewayUrl, admin, 'mutation($input: EnrollMemberInput!) { enrollMember(input: $input) { id } }', { input: { email: `audit+${randomUUID()}@example.com` } })).enrollMember.id);
  }
  const { createApiKey } = await graphql(gatewayUrl, admin, 'mutation { createApiKey(input: { name: "bench till", scopes: ["activities:write"] }) { secret } }', {});
  let next = 0;
  const phase = (name) => ({
    name,
    url: gatewayUrl,
    headers: { 'x-api-key': createApiKey.secret },
    connections: 10,
    setupRequest: (request) => ({
      ...request,
      body: JSON.stringify({
        query: ACTIVITY,
        variables: { input: { memberId: members[next++ % members.length], type: 'PURCHASE', amount: 2500, currency: 'EUR', orderId: `audit:${randomUUID()}`, storeId: 'store-1', idempotencyKey: `audit:${randomUUID()}` } },
      }),
    }),
    check: (body) => body.data?.recordActivity?.pointsEarned === 5,
  });
  const restartCampaigns = async (audit) => {
    const start = await system.kill('campaigns', 'SIGTERM');
    await start({ AUDIT_LOG: audit });
  };
  const on = [];
  const off = [];
  for (let round = 0; round < rounds; round++) {
    const timing = { seconds, warmup: round === 0 ? warmup : 1 };
    on.push(await runPhase({ ...phase('recordActivity (API key), audit log on'), ...timing }));
    await restartCampaigns('off');
    off.push(await runPhase({ ...phase('recordActivity (API key), audit log off'), ...timing }));
    await restartCampaigns('on');
  }
  const withAudit = pool(on);
  const without = pool(off);
  return { withAudit, without, ratio: withAudit.rps / without.rps };
}

export function printAudit({ withAudit, without, ratio }, verdict) {
  console.log(
    `audit entry cost, recordActivity with ÷ without: ${ratio.toFixed(2)} (${withAudit.rps.toFixed(0)} vs ${without.rps.toFixed(0)} req/s)  target ≥ ${TARGET_AUDIT_RATIO.toFixed(2)}   ${verdict(ratio >= TARGET_AUDIT_RATIO)}`,
  );
}

// Run alone: `npm run bench:audit`.
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runBench(async (system) => {
    const result = await runAudit({ kit, system, runId: randomUUID(), runPhase, pool, graphql, log, rounds: 4, seconds: 3, warmup: 2 });
    console.log('');
    printAudit(result, (pass) => (pass ? 'PASS' : 'MISS'));
  });
}
