// Experiments (A/B tests): experimentReport over a tenant of 100,000 members and 1,000,000
// activities against one of 1,000 members and 10,000 activities (same experiment, same query,
// alternated), and how evenly the hash assignment spreads 100,000 members over the arms. The
// campaigns are created through the API (so analytics learns their experiments from the bus); the
// report's facts are seeded with SQL straight into analytics' read model (a million activities
// through the API would take hours), shaped as the projector writes them.
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { kit, log, runBench } from './harness.mjs';

export const LARGE_MEMBERS = 100_000;
export const LARGE_ACTIVITIES = 1_000_000;
const SMALL_MEMBERS = 1000;
const SMALL_ACTIVITIES = 10_000;
const ROUNDS = 5;
export const TARGET_REPORT_MS = 2000;
export const TARGET_ARM_PP = 1;

const EXPERIMENT = {
  holdoutPercent: 10,
  variants: [
    { key: 'SINGLE', weight: 1, rules: [{ name: '1 per 1.00', trigger: 'PURCHASE', calculation: 'PER_AMOUNT', points: 1 }] },
    { key: 'DOUBLE', weight: 1, rules: [{ name: '2 per 1.00', trigger: 'PURCHASE', calculation: 'PER_AMOUNT', points: 2 }] },
    { key: 'TRIPLE', weight: 2, rules: [{ name: '3 per 1.00', trigger: 'PURCHASE', calculation: 'PER_AMOUNT', points: 3 }] },
  ],
};
const SHAPE = { holdoutPercent: EXPERIMENT.holdoutPercent, variants: EXPERIMENT.variants.map(({ key, weight }) => ({ key, weight })) };

const REPORT = `query($campaignId: ID!) { experimentReport(campaignId: $campaignId) {
  arms { key members activeMembers activities pointsIssued purchaseAmount amountPerMember redemptions upliftVsHoldout pValue } } }`;

async function call(system, headers, query, variables) {
  const response = await fetch(`${system.gatewayUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  const body = await response.json();
  if (body.errors) throw new Error(`experiments bench: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** A tenant with an experiment running since a day ago, and its members, activities, awards and redemptions seeded. */
async function seedTenant({ db, system, members, activities }) {
  const tenant = `bench-exp-${randomUUID().slice(0, 8)}`;
  const token = await kit.signUserToken({ sub: 'bench-marketer', tenant, roles: ['marketer'] }, system.secrets.JWT_SECRET);
  const headers = { authorization: `Bearer ${token}` };
  const { createCampaign } = await call(system, headers, 'mutation($input: CampaignInput!) { createCampaign(input: $input) { id } }', {
    input: { name: 'Bench experiment', rules: [{ name: 'own', trigger: 'PURCHASE', calculation: 'FIXED', points: 1 }], experiment: EXPERIMENT },
  });
  const campaignId = createCampaign.id;
  await call(system, headers, 'mutation($id: ID!) { activateCampaign(id: $id) { id } }', { id: campaignId });
  for (let i = 0; (await db.query('SELECT 1 FROM experiments WHERE campaign_id = $1 AND started_at IS NOT NULL', [campaignId])).rowCount === 0; i++) {
    if (i > 400) throw new Error('experiments bench: analytics never heard of the experiment');
    await new Promise((r) => setTimeout(r, 50));
  }
  // Backdated to a day ago, so the seeded activities of the last day fall in its window.
  await db.query(`UPDATE experiments SET started_at = now() - interval '1 day' WHERE campaign_id = $1`, [campaignId]);
  await db.query(
    `INSERT INTO member_facts (tenant, member_id, enrolled_at) SELECT $1, gen_random_uuid(), now() - interval '30 days' FROM generate_series(1, $2::int)`,
    [tenant, members],
  );
  // Every activity a purchase of 0.00–199.99 by a random member within the last day; a fifth of members buy nothing.
  await db.query(
    `WITH m AS (SELECT member_id, row_number() OVER () AS i FROM member_facts WHERE tenant = $1),
          buyers AS (SELECT member_id, row_number() OVER () AS j FROM m WHERE i % 5 <> 0)
     INSERT INTO activity_facts (activity_id, tenant, member_id, occurred_at, purchase_amount)
     SELECT gen_random_uuid(), $1, b.member_id, now() - random() * interval '23 hours', (random() * 20000)::bigint
     FROM generate_series(1, $2::int) g JOIN buyers b ON b.j = 1 + (g % (SELECT count(*) FROM buyers))`,
    [tenant, activities],
  );
  // The campaign's awards to members outside the holdout (arms from the same hash the report uses).
  await db.query(
    `INSERT INTO award_facts (activity_id, campaign_id, member_id, occurred_at, points)
     SELECT a.activity_id, $2, a.member_id, a.occurred_at, a.purchase_amount / 100 FROM activity_facts a
     WHERE a.tenant = $1 AND ${kit.experimentBucketSql('a.tenant', '$2::uuid', 'a.member_id')} >= $3`,
    [tenant, campaignId, EXPERIMENT.holdoutPercent],
  );
  await db.query(
    `INSERT INTO redemption_facts (redemption_id, tenant, reward_id, store_id, day, points_spent, member_id, redeemed_at)
     SELECT gen_random_uuid(), $1, gen_random_uuid(), '', current_date, 100, member_id, now() - interval '1 hour'
     FROM member_facts WHERE tenant = $1 AND random() < 0.05`,
    [tenant],
  );
  return { tenant, campaignId, headers };
}

/** Seeds both tenants and times the report for each in alternating rounds; checks the arms against the JS assignment. */
export async function runExperimentsBench({ system, log }) {
  const db = new pg.Client({ connectionString: system.databases.analytics });
  await db.connect();
  let large;
  let small;
  let assigned;
  try {
    log(`experiments: seeding ${LARGE_MEMBERS} members with ${LARGE_ACTIVITIES} activities, and ${SMALL_MEMBERS} with ${SMALL_ACTIVITIES}…`);
    const started = performance.now();
    large = await seedTenant({ db, system, members: LARGE_MEMBERS, activities: LARGE_ACTIVITIES });
    small = await seedTenant({ db, system, members: SMALL_MEMBERS, activities: SMALL_ACTIVITIES });
    await db.query('ANALYZE member_facts, activity_facts, award_facts, redemption_facts');
    log(`experiments: seeded in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    // Assignment in JS (the kit's rule campaigns earns by) of the large tenant's 100,000 members.
    const { rows } = await db.query('SELECT member_id FROM member_facts WHERE tenant = $1', [large.tenant]);
    assigned = new Map();
    for (const { member_id: memberId } of rows) {
      const arm = kit.experimentArm(SHAPE, large.tenant, large.campaignId, memberId);
      assigned.set(arm, (assigned.get(arm) ?? 0) + 1);
    }
  } finally {
    await db.end();
  }
  const time = async (t) => {
    const started = performance.now();
    const data = await call(system, t.headers, REPORT, { campaignId: t.campaignId });
    return { ms: performance.now() - started, arms: data.experimentReport.arms };
  };
  await time(large); // warm-up
  await time(small);
  const largeMs = [];
  const smallMs = [];
  let arms;
  for (let round = 0; round < ROUNDS; round++) {
    const l = await time(large);
    largeMs.push(l.ms);
    arms = l.arms;
    smallMs.push((await time(small)).ms);
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const total = EXPERIMENT.variants.reduce((s, v) => s + v.weight, 0);
  const shares = [
    { key: 'HOLDOUT', share: EXPERIMENT.holdoutPercent },
    ...EXPERIMENT.variants.map((v) => ({ key: v.key, share: ((100 - EXPERIMENT.holdoutPercent) * v.weight) / total })),
  ].map(({ key, share }) => {
    const count = assigned.get(key) ?? 0;
    const reported = arms.find((a) => a.key === key)?.members ?? 0;
    return { key, share, actual: (100 * count) / LARGE_MEMBERS, count, reported };
  });
  return { large: median(largeMs), small: median(smallMs), worstLarge: Math.max(...largeMs), shares, arms };
}

export function printExperiments(result, verdict) {
  console.log(
    `experimentReport, ${LARGE_MEMBERS / 1000}k members + ${LARGE_ACTIVITIES / 1e6}M activities: median ${result.large.toFixed(0)} ms (worst ${result.worstLarge.toFixed(0)} ms) ` +
      `vs ${result.small.toFixed(0)} ms at ${SMALL_MEMBERS / 1000}k + ${SMALL_ACTIVITIES / 1000}k (×${(result.large / result.small).toFixed(1)})  target < ${TARGET_REPORT_MS} ms   ${verdict(result.worstLarge < TARGET_REPORT_MS)}`,
  );
  for (const s of result.shares) {
    const off = Math.abs(s.actual - s.share);
    console.log(
      `experiment arm ${s.key.padEnd(8)} ${s.actual.toFixed(2)} % of ${LARGE_MEMBERS / 1000}k members (weight ${s.share.toFixed(2)} %, off ${off.toFixed(2)} pp; report counts ${s.reported}, JS ${s.count}${s.reported === s.count ? '' : ' DIFFER'})  target < ${TARGET_ARM_PP} pp   ${verdict(off < TARGET_ARM_PP && s.reported === s.count)}`,
    );
  }
}

// Run alone: `npm run bench:experiments` (run.mjs runs it among the rest, with the same targets).
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runBench(async (system) => {
    const result = await runExperimentsBench({ system, log });
    console.log('');
    for (const arm of result.arms) console.log(`  ${JSON.stringify(arm)}`);
    printExperiments(result, (pass) => (pass ? 'PASS' : 'MISS'));
  });
}
