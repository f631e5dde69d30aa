// The tier review at scale: 100,000 members of one tenant with EARN points in `earn_days`, most of
// them recorded on a tier their window no longer holds. How long runPointsMaintenance takes to
// review them, and what adjustPoints throughput is left for earning while it runs, against the
// same load without a review, measured in the same run.
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';

const MEMBERS = 100_000;
const LOAD_MEMBERS = 2000; // adjustPoints spreads over this many of them
const BASELINE_SECONDS = 8;
const CONNECTIONS = 10;
export const TARGET_REVIEW_SECONDS = 60;
export const TARGET_EARN_RATIO = 0.8;

const TIERS = [
  { name: 'Bronze', rank: 0, qualifyingPoints: 0, earnMultiplier: 1 },
  { name: 'Silver', rank: 1, qualifyingPoints: 1000, earnMultiplier: 1.25 },
  { name: 'Gold', rank: 2, qualifyingPoints: 5000, earnMultiplier: 1.5 },
];

const ADJUST = 'mutation Adjust($input: AdjustPointsInput!) { adjustPoints(input: $input) { id balanceAfter } }';

async function graphql(url, headers, query, variables = {}) {
  const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || body.errors) throw new Error(`GraphQL request failed (HTTP ${response.status}): ${JSON.stringify(body.errors ?? body)}`);
  return body.data;
}

/** adjustPoints (+1) on random members until `until` resolves (or for `seconds`); throws on any failed request. */
function earnLoad({ gatewayUrl, token, memberIds, seconds, until }) {
  let failed = 0;
  let example;
  const pick = () => memberIds[Math.floor(Math.random() * memberIds.length)];
  const instance = autocannon(
    {
      url: `${gatewayUrl}/graphql`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      connections: CONNECTIONS,
      pipelining: 1,
      timeout: 10,
      duration: seconds ?? 600,
      requests: [
        {
          setupRequest: (request) => ({
            ...request,
            body: JSON.stringify({ query: ADJUST, variables: { input: { memberId: pick(), points: 1, reason: 'bench: earn during review', idempotencyKey: `bench:${randomUUID()}` } } }),
          }),
          onResponse: (status, body) => {
            if (status < 200 || status >= 300 || body.includes('"errors"')) {
              failed++;
              example ??= `HTTP ${status}: ${body.slice(0, 300)}`;
            }
          },
        },
      ],
    },
    () => {},
  );
  until?.then(() => instance.stop());
  return new Promise((resolve, reject) => {
    instance.on('done', (result) => {
      if (failed + result.errors + result.non2xx > 0) reject(new Error(`adjustPoints failed during the tier review bench: ${failed} bad answers, ${result.errors} errors; ${example ?? ''}`));
      else resolve({ requests: result.requests.total, seconds: result.duration, rps: result.requests.total / result.duration });
    });
  });
}

/**
 * Seeds the tenant, measures earning alone, then earning while runPointsMaintenance reviews every
 * member (sent to the members subgraph directly: the review of 100,000 members may outlast the
 * gateway's per-fetch timeout). Returns the figures; checks the review's outcome in the database.
 */
export async function runTierReviewBench({ kit, system, log }) {
  const tenant = `bench-tiers-${randomUUID().slice(0, 8)}`;
  const token = await kit.signUserToken({ sub: 'bench-admin', tenant, roles: ['admin'] }, system.secrets.JWT_SECRET);
  const headers = { authorization: `Bearer ${token}` };
  const tiers = {};
  for (const tier of TIERS) tiers[tier.name] = (await graphql(system.gatewayUrl, headers, 'mutation($input: TierInput!) { upsertTier(input: $input) { id } }', { input: tier })).upsertTier.id;

  const db = new pg.Client({ connectionString: system.databases.members });
  await db.connect();
  try {
    // Today's daily review counts as done, so the maintenance job leaves the measured run alone.
    await db.query(`INSERT INTO tier_reviews (tenant, day) VALUES ($1, current_date), ($1, current_date + 1) ON CONFLICT DO NOTHING`, [tenant]);
    log(`tier review: seeding ${MEMBERS.toLocaleString('en')} members on Gold with earn_days…`);
    const seeded = performance.now();
    // Per member: points 5 days ago of 0–5,400 by member (g % 7 × 900), 500 points 100 days ago, and
    // 6,000 points 14 months ago (outside the 12-month window). The window holds 500–5,900: two in
    // seven keep Gold, one in seven falls to Bronze, the rest to Silver.
    await db.query(
      `WITH m AS (
         INSERT INTO members (tenant, email, tier_id)
         SELECT $1, 'tier-bench-' || g || '@example.com', $2 FROM generate_series(1, $3) g
         RETURNING id, tenant),
       a AS (INSERT INTO point_accounts (member_id, tenant) SELECT id, tenant FROM m)
       INSERT INTO earn_days (tenant, member_id, day, points)
       SELECT m.tenant, m.id, d.day, d.points
       FROM (SELECT id, tenant, row_number() OVER () AS g FROM m) m
       CROSS JOIN LATERAL (VALUES (current_date - 5, ((m.g % 7) * 900)::int), (current_date - 100, 500), ((current_date - interval '14 months')::date, 6000)) AS d(day, points)
       WHERE d.points > 0`,
      [tenant, tiers.Gold, MEMBERS],
    );
    await db.query('ANALYZE members; ANALYZE earn_days; ANALYZE point_accounts');
    log(`tier review: seeded in ${((performance.now() - seeded) / 1000).toFixed(1)} s`);
    const { rows: sample } = await db.query('SELECT id FROM members WHERE tenant = $1 ORDER BY random() LIMIT $2', [tenant, LOAD_MEMBERS]);
    const memberIds = sample.map((row) => row.id);
    const { rows: expectedRows } = await db.query(
      `SELECT count(*) FILTER (WHERE q < 1000)::int AS bronze, count(*) FILTER (WHERE q >= 1000 AND q < 5000)::int AS silver, count(*) FILTER (WHERE q >= 5000)::int AS gold
       FROM (SELECT m.id, (SELECT COALESCE(sum(points), 0) FROM earn_days d WHERE d.member_id = m.id AND d.day >= current_date - interval '12 months') AS q
             FROM members m WHERE m.tenant = $1) s`,
      [tenant],
    );
    const expected = expectedRows[0];

    log(`tier review: adjustPoints without a review, ${BASELINE_SECONDS} s`);
    await earnLoad({ gatewayUrl: system.gatewayUrl, token, memberIds, seconds: 2 }); // warm-up
    const alone = await earnLoad({ gatewayUrl: system.gatewayUrl, token, memberIds, seconds: BASELINE_SECONDS });

    log('tier review: runPointsMaintenance over every member, with adjustPoints alongside');
    const direct = { [kit.IDENTITY_HEADER]: await kit.signIdentity({ tenant, principal: 'bench', roles: ['admin'], scopes: [] }, system.secrets.SERVICE_SECRET) };
    let finished;
    const reviewDone = new Promise((resolve) => (finished = resolve));
    const during = earnLoad({ gatewayUrl: system.gatewayUrl, token, memberIds, until: reviewDone });
    await new Promise((r) => setTimeout(r, 500)); // the load is running before the review starts
    const started = performance.now();
    const run = await graphql(system.urls.members, direct, 'mutation { runPointsMaintenance { tiersChanged } }').finally(() => finished());
    const reviewSeconds = (performance.now() - started) / 1000;
    const withReview = await during;

    const { rows: tiersNow } = await db.query('SELECT tier_id, count(*)::int AS n FROM members WHERE tenant = $1 GROUP BY tier_id', [tenant]);
    const held = Object.fromEntries(tiersNow.map((row) => [row.tier_id, row.n]));
    const changed = run.runPointsMaintenance.tiersChanged;
    // Members credited by the load are reviewed with their new points, and members the load held
    // while the review came by are left to the next review: allow for both, nothing more.
    const counts = { bronze: held[tiers.Bronze] ?? 0, silver: held[tiers.Silver] ?? 0, gold: held[tiers.Gold] ?? 0 };
    const drift = Math.abs(counts.gold - expected.gold);
    if (drift > LOAD_MEMBERS || Math.abs(changed - (expected.bronze + expected.silver)) > LOAD_MEMBERS) {
      throw new Error(`tier review outcome looks wrong: changed ${changed}, now ${JSON.stringify(counts)}, expected ${JSON.stringify(expected)}`);
    }
    return { members: MEMBERS, changed, reviewSeconds, alone, withReview, ratio: withReview.rps / alone.rps, counts };
  } finally {
    await db.end();
  }
}

/** The bench's summary lines. */
export function printTierReview(result, verdict) {
  console.log(
    `tier review of ${result.members.toLocaleString('en')} members: ${result.reviewSeconds.toFixed(1)} s (${result.changed} changed)  target < ${TARGET_REVIEW_SECONDS} s   ${verdict(result.reviewSeconds < TARGET_REVIEW_SECONDS)}`,
  );
  console.log(
    `adjustPoints during/without review: ${result.ratio.toFixed(2)} (${result.withReview.rps.toFixed(0)} vs ${result.alone.rps.toFixed(0)} req/s)  target ≥ ${TARGET_EARN_RATIO.toFixed(2)}   ${verdict(result.ratio >= TARGET_EARN_RATIO)}`,
  );
}
