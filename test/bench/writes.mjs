// Writes that scale: what the write paths cost against the floor of the database itself, measured
// in the same run at concurrency 10, alternated in rounds so a noisy neighbour slows them alike.
//
// 1. the floor: the minimal ledger write (BEGIN; INSERT an entry; UPDATE a balance; COMMIT) with raw
//    `pg` against the members database server, on scratch tables of its own, spread over 1,000
//    balance rows and on one hot row;
// 2. adjustPoints through the gateway over 1,000 members, and on one hot member;
// 3. recordActivity (a campaign with a budget and a per-member cap) and redeemReward (a reward with
//    stock and a per-member limit) over the same 1,000 members.
//
// A tenant of its own, so the other phases' members and campaigns are left as they are.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { inParallel, startCampaign } from './load.mjs';

const MEMBERS = 1000;
const CONNECTIONS = 10;
const OPENING_BALANCE = 1_000_000;

export const WRITE_TARGETS = {
  adjustOverFloor: 0.3, // adjustPoints over 1,000 members ÷ floor over 1,000 rows
  activityOverAdjust: 0.6, // recordActivity over 1,000 members ÷ adjustPoints over 1,000 members
  redeemOverAdjust: 0.6, // redeemReward over 1,000 members ÷ adjustPoints over 1,000 members
  hotAdjustOverHotFloor: 0.2, // adjustPoints on one member ÷ floor on one row
};

// A budget and a per-member cap far above what the bench earns: every activity reserves both.
const CAMPAIGN = {
  name: 'Writes bench',
  budget: { maxPoints: 2_000_000_000 },
  rules: [
    { name: 'visit', trigger: 'PURCHASE', calculation: 'FIXED', points: 5, maxPointsPerMember: 1_000_000_000, capPeriod: 'MONTH' },
    { name: 'per 1.00', trigger: 'PURCHASE', calculation: 'PER_AMOUNT', points: 1, amountStep: 100, minOrderAmount: 1000 },
  ],
};
const REWARD = { name: 'Writes bench reward', type: 'PRODUCT', costPoints: 1, stock: 100_000_000, limitPerMember: 1_000_000 };

const ADJUST = `mutation Adjust($input: AdjustPointsInput!) { adjustPoints(input: $input) { id balanceAfter } }`;
const ACTIVITY = `mutation Record($input: ActivityInput!) { recordActivity(input: $input) { pointsEarned transaction { id } } }`;
const REDEEM = `mutation Redeem($input: RedeemRewardInput!) { redeemReward(input: $input) { id status code } }`;
const ENROLL = `mutation Enroll($input: EnrollMemberInput!) { enrollMember(input: $input) { id } }`;

/** The floor: `connections` clients each looping the minimal ledger write for `seconds`, on `rows` balance rows. */
async function floorPhase({ url, name, rows, seconds, log }) {
  log(`${name}, concurrency ${CONNECTIONS}: ${seconds} s`);
  const clients = await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return client;
  }));
  const latencies = [];
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(clients.map(async (client) => {
    while (performance.now() < until) {
      const t = performance.now();
      const account = Math.floor(Math.random() * rows);
      await client.query('BEGIN');
      await client.query('INSERT INTO bench_floor_entries (account, points) VALUES ($1, -1)', [account]);
      await client.query('UPDATE bench_floor_balances SET balance = balance - 1 WHERE id = $1', [account]);
      await client.query('COMMIT');
      latencies.push(performance.now() - t);
    }
  }));
  const duration = (performance.now() - started) / 1000;
  await Promise.all(clients.map((client) => client.end()));
  const sorted = Float64Array.from(latencies).sort();
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  return { name, connections: CONNECTIONS, requests: latencies.length, duration, rps: latencies.length / duration, latencies: sorted, p50: at(50), p99: at(99), okResponses: latencies.length };
}

/**
 * Seeds the tenant and measures the six phases. `runPhase`, `pool` and `graphql` are the bench's own
 * (run.mjs). Resolves to the pooled phases and the ratios with their targets.
 */
export async function runWrites({ kit, system, runId, runPhase, pool, graphql, log, rounds, seconds, warmup }) {
  const { gatewayUrl, secrets } = system;
  const tenant = `bench-writes-${runId.slice(0, 8)}`;
  const headers = { authorization: `Bearer ${await kit.signUserToken({ sub: 'bench-writes', tenant, roles: ['admin'] }, secrets.JWT_SECRET)}` };
  const call = (query, input) => graphql(gatewayUrl, headers, query, { input });

  log(`writes: seeding ${MEMBERS + 1} members with ${OPENING_BALANCE} points each, a campaign and a reward…`);
  const members = [];
  await inParallel(MEMBERS + 1, CONNECTIONS, async (i) => {
    const { enrollMember } = await call(ENROLL, { email: `bench+writes-${i}-${runId}@example.com` });
    await call(ADJUST, { memberId: enrollMember.id, points: OPENING_BALANCE, reason: 'bench: opening balance', idempotencyKey: `seed:${randomUUID()}` });
    members.push(enrollMember.id);
  });
  const hot = members.pop();
  await startCampaign(gatewayUrl, headers, CAMPAIGN);
  const { createReward } = await graphql(gatewayUrl, headers, 'mutation($input: RewardInput!) { createReward(input: $input) { id } }', { input: REWARD });

  const scratch = new pg.Client({ connectionString: system.databases.members });
  await scratch.connect();
  await scratch.query(`DROP TABLE IF EXISTS bench_floor_entries, bench_floor_balances;
    CREATE TABLE bench_floor_balances (id int PRIMARY KEY, balance bigint NOT NULL);
    CREATE TABLE bench_floor_entries (id bigserial PRIMARY KEY, account int NOT NULL, points int NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
    INSERT INTO bench_floor_balances SELECT i, ${OPENING_BALANCE} FROM generate_series(0, ${MEMBERS - 1}) i;`);

  let turn = 0;
  const anyMember = () => members[turn++ % members.length];
  const phase = (name, query, input, check) => ({
    name,
    url: gatewayUrl,
    headers,
    connections: CONNECTIONS,
    setupRequest: (request) => ({ ...request, body: JSON.stringify({ query, variables: { input: { ...input(), idempotencyKey: `bench:${randomUUID()}` } } }) }),
    check,
  });
  const adjusted = (body) => Number.isInteger(body.data?.adjustPoints?.balanceAfter);
  const phases = [
    (timing) => floorPhase({ url: system.databases.members, name: `floor: pg write, ${MEMBERS} rows`, rows: MEMBERS, seconds: timing.seconds, log }),
    (timing) => floorPhase({ url: system.databases.members, name: 'floor: pg write, 1 hot row', rows: 1, seconds: timing.seconds, log }),
    (timing) => runPhase({ ...phase(`adjustPoints, ${MEMBERS} members`, ADJUST, () => ({ memberId: anyMember(), points: -1, reason: 'bench: writes' }), adjusted), ...timing }),
    (timing) => runPhase({ ...phase('adjustPoints, 1 hot member', ADJUST, () => ({ memberId: hot, points: -1, reason: 'bench: writes' }), adjusted), ...timing }),
    // 5 (visit, capped) + 25 per 1.00 = 30.
    (timing) =>
      runPhase({
        ...phase(`recordActivity, ${MEMBERS} members`, ACTIVITY, () => ({ memberId: anyMember(), type: 'PURCHASE', amount: 2500, currency: 'EUR' }), (body) =>
          body.data?.recordActivity?.pointsEarned === 30 && typeof body.data.recordActivity.transaction?.id === 'string'),
        ...timing,
      }),
    (timing) =>
      runPhase({
        ...phase(`redeemReward, ${MEMBERS} members`, REDEEM, () => ({ memberId: anyMember(), rewardId: createReward.id }), (body) =>
          body.data?.redeemReward?.status === 'COMPLETED' && typeof body.data.redeemReward.code === 'string'),
        ...timing,
      }),
  ];
  const measured = phases.map(() => []);
  try {
    for (let round = 0; round < rounds; round++) {
      for (const [i, run] of phases.entries()) measured[i].push(await run({ seconds: seconds, warmup: round === 0 ? warmup : 0 }));
    }
  } finally {
    await scratch.query('DROP TABLE IF EXISTS bench_floor_entries, bench_floor_balances');
    await scratch.end();
  }
  const [floor, floorHot, adjust, adjustHot, activity, redeem] = measured.map(pool);
  const ratios = [
    [`adjustPoints/floor (${MEMBERS} members/rows)`, adjust.rps / floor.rps, WRITE_TARGETS.adjustOverFloor],
    [`recordActivity/adjustPoints (${MEMBERS})`, activity.rps / adjust.rps, WRITE_TARGETS.activityOverAdjust],
    [`redeemReward/adjustPoints (${MEMBERS})`, redeem.rps / adjust.rps, WRITE_TARGETS.redeemOverAdjust],
    ['hot adjustPoints/hot floor (1 row)', adjustHot.rps / floorHot.rps, WRITE_TARGETS.hotAdjustOverHotFloor],
  ];
  return { phases: [floor, floorHot, adjust, adjustHot, activity, redeem], ratios };
}

/** The ratio lines, as the bench prints its verdicts. */
export function printWrites({ ratios }, verdict) {
  for (const [what, ratio, target] of ratios) {
    console.log(`${`${what} (c=${CONNECTIONS}):`.padEnd(48)} ${ratio.toFixed(2)}     target ≥ ${target.toFixed(2)}   ${verdict(ratio >= target)}`);
  }
}
