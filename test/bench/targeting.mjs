// Targeting that must not cost the tills their speed:
//
// 1. stacking: recordActivity in a tenant with 10 running campaigns (priorities 0–9, the one at
//    priority 5 exclusive, so five apply and five are stopped and give their reservation back)
//    against a tenant with one campaign, same members and purchases, alternated in rounds;
// 2. simulateCampaign over 100,000 recorded activities of 10,000 members (seeded with SQL), against
//    the floor of reading those activities with raw SQL.
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { kit, log, runBench } from './harness.mjs';
import { alternate, graphql, inParallel, purchasePhase, startCampaign } from './load.mjs';

export const TARGETING_TARGETS = { stackingRatio: 0.7, simulationSeconds: 10 };
const MEMBERS = 200;
const CONNECTIONS = 10;
const SIMULATED_ACTIVITIES = 100_000;
const SIMULATED_MEMBERS = 10_000;

const ENROLL = 'mutation($input: EnrollMemberInput!) { enrollMember(input: $input) { id } }';
const RECORD = 'mutation($input: ActivityInput!) { recordActivity(input: $input) { pointsEarned appliedRules { points } excludedCampaigns { id } } }';
const SIMULATE = `query($input: CampaignInput!, $range: DateRangeInput!) { simulateCampaign(input: $input, range: $range) { pointsIssued members activities budgetExhaustedAt } }`;

const campaignInput = (i, extra = {}) => ({
  name: `Stacking bench ${i}`,
  budget: { maxPoints: 2_000_000_000 },
  rules: [{ name: 'per 1.00', trigger: 'PURCHASE', calculation: 'PER_AMOUNT', points: 1, amountStep: 100, maxPointsPerMember: 1_000_000_000, capPeriod: 'MONTH' }],
  ...extra,
});

async function tenantWith(system, campaigns) {
  const tenant = `bench-stacking-${randomUUID().slice(0, 8)}`;
  const headers = { authorization: `Bearer ${await kit.signUserToken({ sub: 'bench-stacking', tenant, roles: ['admin'] }, system.secrets.JWT_SECRET)}` };
  const call = (query, variables) => graphql(system.gatewayUrl, headers, query, variables);
  const members = new Array(MEMBERS);
  await inParallel(MEMBERS, CONNECTIONS, async (i) => {
    members[i] = (await call(ENROLL, { input: { email: `bench+stack-${i}@example.com` } })).enrollMember.id;
  });
  for (const input of campaigns) await startCampaign(system.gatewayUrl, headers, input);
  return { headers, members };
}

export async function runStackingBench({ system, rounds, seconds }) {
  log(`stacking: two tenants of ${MEMBERS} members, one campaign against ten…`);
  const one = await tenantWith(system, [campaignInput(0)]);
  const ten = await tenantWith(system, Array.from({ length: 10 }, (_, i) => campaignInput(i, { priority: i, exclusive: i === 5 })));
  const phase = (name, t, expected) =>
    purchasePhase({
      name,
      url: system.gatewayUrl,
      headers: t.headers,
      memberIds: t.members,
      query: RECORD,
      connections: CONNECTIONS,
      // 25 points per applying campaign: one, or the five from priority 9 down to the exclusive 5.
      check: (body) => body.data?.recordActivity?.pointsEarned === expected.points && body.data.recordActivity.excludedCampaigns.length === expected.excluded,
    });
  const [single, stacked] = await alternate(phase('recordActivity, 1 campaign', one, { points: 25, excluded: 0 }), phase('recordActivity, 10 campaigns (1 exclusive)', ten, { points: 125, excluded: 5 }), { rounds, seconds });
  return { single, stacked, ratio: stacked.rps / single.rps };
}

export async function runSimulationBench({ system }) {
  const tenant = `bench-simulate-${randomUUID().slice(0, 8)}`;
  const headers = { authorization: `Bearer ${await kit.signUserToken({ sub: 'bench-simulate', tenant, roles: ['admin'] }, system.secrets.JWT_SECRET)}` };
  const tiers = [];
  for (const [rank, name] of ['Bronze', 'Silver', 'Gold'].entries()) {
    const { upsertTier } = await graphql(system.gatewayUrl, headers, 'mutation($input: TierInput!) { upsertTier(input: $input) { id } }', {
      input: { name, rank, qualifyingPoints: rank * 1000, earnMultiplier: 1 + rank / 2 },
    });
    tiers.push(upsertTier.id);
  }
  log(`simulation: seeding ${SIMULATED_MEMBERS} members and ${SIMULATED_ACTIVITIES} activities over 90 days…`);
  const members = new pg.Client({ connectionString: system.databases.members });
  const campaigns = new pg.Client({ connectionString: system.databases.campaigns });
  await Promise.all([members.connect(), campaigns.connect()]);
  try {
    const { rows } = await members.query(
      `WITH m AS (
         INSERT INTO members (tenant, email, name, country, tier_id)
         SELECT $1, 'm' || g || '@simulate.example', 'Member ' || g, (ARRAY['DE', 'FR', 'NL'])[1 + g % 3], ($3::uuid[])[1 + g % 3]
         FROM generate_series(1, $2::int) g RETURNING id)
       , a AS (INSERT INTO point_accounts (member_id, tenant) SELECT id, $1 FROM m)
       SELECT id FROM m`,
      [tenant, SIMULATED_MEMBERS, tiers],
    );
    await campaigns.query(
      `INSERT INTO activities (tenant, member_id, type, amount, currency, occurred_at, idempotency_key, request_hash, credit_status)
       SELECT $1, ($2::uuid[])[1 + g % $3::int], 'PURCHASE', 500 + (g * 7919) % 20000, 'EUR',
              now() - make_interval(secs => (g::float8 / $4::int) * 89 * 86400), 'seed:' || g, 'seed', 'NONE'
       FROM generate_series(1, $4::int) g`,
      [tenant, rows.map((r) => r.id), SIMULATED_MEMBERS, SIMULATED_ACTIVITIES],
    );
    await Promise.all([members.query('ANALYZE members, point_accounts'), campaigns.query('ANALYZE activities')]);
    const range = { from: new Date(Date.now() - 90 * 86_400_000).toISOString(), to: new Date().toISOString() };
    const draft = {
      name: 'Autumn idea',
      eligibility: { countries: ['DE', 'NL'] },
      rules: [
        { name: '2 per 1.00', trigger: 'PURCHASE', calculation: 'PER_AMOUNT', points: 2, amountStep: 100, maxPointsPerMember: 2000, capPeriod: 'MONTH' },
        { name: 'visit', trigger: 'PURCHASE', calculation: 'FIXED', points: 10, minOrderAmount: 5000 },
      ],
      budget: { maxPoints: 50_000_000 },
    };
    // The floor: reading the same activities, as one query, with raw SQL.
    const floorStarted = performance.now();
    const read = await campaigns.query('SELECT member_id, type, amount, event_name, occurred_at FROM activities WHERE tenant = $1 AND occurred_at BETWEEN $2 AND $3 ORDER BY occurred_at, id', [
      tenant,
      range.from,
      range.to,
    ]);
    const floorSeconds = (performance.now() - floorStarted) / 1000;
    const timings = [];
    let result;
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      result = (await graphql(system.gatewayUrl, headers, SIMULATE, { input: draft, range })).simulateCampaign;
      timings.push((performance.now() - started) / 1000);
    }
    if (result.activities === 0 || result.activities > read.rows.length) throw new Error(`simulation bench: ${JSON.stringify(result)}`);
    return { activities: read.rows.length, floorSeconds, seconds: Math.min(...timings), timings, result };
  } finally {
    await Promise.all([members.end(), campaigns.end()]);
  }
}

export function printTargeting({ stacking, simulation }, verdict) {
  const { stackingRatio, simulationSeconds } = TARGETING_TARGETS;
  console.log(
    `recordActivity 10 campaigns ÷ 1 (c=${CONNECTIONS}): ${stacking.ratio.toFixed(2)} (${stacking.stacked.rps.toFixed(0)} vs ${stacking.single.rps.toFixed(0)} req/s)  target ≥ ${stackingRatio.toFixed(2)}   ${verdict(stacking.ratio >= stackingRatio)}`,
  );
  console.log(
    `simulateCampaign over ${simulation.activities.toLocaleString('en')} activities: ${simulation.seconds.toFixed(2)} s (best of ${simulation.timings.map((t) => t.toFixed(2)).join(', ')}; ` +
      `raw SQL read ${simulation.floorSeconds.toFixed(2)} s, ×${(simulation.seconds / simulation.floorSeconds).toFixed(1)})  target < ${simulationSeconds} s   ${verdict(simulation.seconds < simulationSeconds)}`,
  );
  console.log(`  it would have issued ${simulation.result.pointsIssued} points to ${simulation.result.members} members for ${simulation.result.activities} activities`);
}

export async function runTargetingBench({ system, rounds, seconds }) {
  return { stacking: await runStackingBench({ system, rounds, seconds }), simulation: await runSimulationBench({ system }) };
}

// Run alone: `npm run bench:targeting` (run.mjs runs it among the rest, with the same targets).
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runBench(async (system) => {
    const targeting = await runTargetingBench({ system, rounds: 4, seconds: 12 });
    console.log('');
    printTargeting(targeting, (pass) => (pass ? 'PASS' : 'MISS'));
  });
}
