// The points lifecycle on the write path: what holding a purchase's points pending (an earning rule
// with pendingDays) and recording a return cost, each as a ratio of plain recordActivity measured
// in the same run, alternated in rounds so a noisy neighbour slows all three alike.
//
// Two tenants of their own, so the bench tenant's campaign and member are left as they are: one
// runs the plain campaign, the other the same campaign with pendingDays. Returns take back a slice
// (1.00) of one of a few large orders at a time, round-robin, so every return is a real ledger
// reversal (an order of 10,000.00 earns 10,010 points) and the orders never run out.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { startCampaign } from './load.mjs';

const ORDERS = 40;
const ORDER_AMOUNT = 1_000_000;
const RETURN_AMOUNT = 100;

const CAMPAIGN = (pendingDays) => ({
  name: `Lifecycle bench (pendingDays ${pendingDays})`,
  rules: [
    { name: 'visit', trigger: 'PURCHASE', calculation: 'FIXED', points: 5, pendingDays, happyHours: [{ daysOfWeek: [1, 2, 3, 4, 5, 6, 7], startTime: '00:00', endTime: '24:00', multiplier: 2 }] },
    { name: 'per 1.00', trigger: 'PURCHASE', calculation: 'PER_AMOUNT', points: 1, amountStep: 100, minOrderAmount: 1000, pendingDays },
  ],
});

const ACTIVITY = `mutation Record($input: ActivityInput!) {
  recordActivity(input: $input) { pointsEarned transaction { id pendingUntil } }
}`;
const RETURN = `mutation Return($input: ReturnInput!) {
  recordReturn(input: $input) { pointsReversed pointsUnrecovered transaction { id } }
}`;

/**
 * Measures plain recordActivity, recordActivity with a pending rule and recordReturn through the
 * gateway at concurrency 10. `runPhase`, `pool` and `graphql` are the bench's own (run.mjs).
 * Resolves to the pooled phases and the two ratios.
 */
export async function runReturns({ kit, system, runId, runPhase, pool, graphql, log, rounds, seconds, warmup }) {
  const { gatewayUrl, secrets } = system;
  const tenantOf = async (suffix, pendingDays) => {
    const tenant = `bench-${suffix}-${runId.slice(0, 8)}`;
    const headers = { authorization: `Bearer ${await kit.signUserToken({ sub: `bench-${suffix}`, tenant, roles: ['admin'] }, secrets.JWT_SECRET)}` };
    await startCampaign(gatewayUrl, headers, CAMPAIGN(pendingDays));
    const enroll = async () =>
      (await graphql(gatewayUrl, headers, 'mutation($input: EnrollMemberInput!) { enrollMember(input: $input) { id } }', { input: { email: `bench+${randomUUID()}@example.com` } })).enrollMember
        .id;
    return { headers, enroll };
  };
  log('lifecycle: seeding two tenants (plain and pendingDays 7 campaigns) and large orders to return…');
  const plain = await tenantOf('plain', 0);
  const held = await tenantOf('held', 7);
  const earner = await plain.enroll();
  const heldEarner = await held.enroll();
  const returner = await plain.enroll();
  const orders = [];
  for (let i = 0; i < ORDERS; i++) {
    const orderId = `bench-order:${runId}:${i}`;
    await graphql(gatewayUrl, plain.headers, ACTIVITY, {
      input: { memberId: returner, type: 'PURCHASE', amount: ORDER_AMOUNT, currency: 'EUR', orderId, idempotencyKey: `bench:${randomUUID()}` },
    });
    orders.push(orderId);
  }

  const phase = (name, headers, query, input, check) => ({
    name,
    url: gatewayUrl,
    headers,
    connections: 10,
    setupRequest: (request) => ({ ...request, body: JSON.stringify({ query, variables: { input: { ...input(), idempotencyKey: `bench:${randomUUID()}` } } }) }),
    check,
  });
  const purchase = (memberId) => () => ({ memberId, type: 'PURCHASE', amount: 2500, currency: 'EUR', orderId: `bench:${randomUUID()}` });
  const plainPhase = phase('recordActivity, plain', plain.headers, ACTIVITY, purchase(earner), (body) =>
    body.data?.recordActivity?.pointsEarned === 35 && body.data.recordActivity.transaction?.pendingUntil === null,
  );
  const heldPhase = phase('recordActivity, pendingDays 7', held.headers, ACTIVITY, purchase(heldEarner), (body) =>
    body.data?.recordActivity?.pointsEarned === 35 && typeof body.data.recordActivity.transaction?.pendingUntil === 'string',
  );
  let next = 0;
  const returnPhase = phase('recordReturn (1.00 of an order)', plain.headers, RETURN, () => ({ memberId: returner, orderId: orders[next++ % ORDERS], amount: RETURN_AMOUNT }), (body) =>
    Number.isInteger(body.data?.recordReturn?.pointsReversed) && body.data.recordReturn.pointsReversed + body.data.recordReturn.pointsUnrecovered >= 1,
  );

  const measured = [];
  for (let round = 0; round < rounds; round++) {
    const timing = { seconds, warmup: round === 0 ? warmup : 0 };
    measured.push([await runPhase({ ...plainPhase, ...timing }), await runPhase({ ...heldPhase, ...timing }), await runPhase({ ...returnPhase, ...timing })]);
  }
  const phases = [0, 1, 2].map((i) => pool(measured.map((r) => r[i])));

  // The returns' member must still satisfy the ledger's invariants: balance = sum of entries = open lots.
  const db = new pg.Client({ connectionString: system.databases.members });
  await db.connect();
  try {
    const { rows } = await db.query(
      `SELECT a.balance, a.pending,
              (SELECT COALESCE(sum(points), 0)::int FROM ledger_entries WHERE member_id = a.member_id) AS entries,
              (SELECT COALESCE(sum(remaining), 0)::int FROM point_lots WHERE member_id = a.member_id) AS lots,
              (SELECT count(*)::int FROM ledger_entries WHERE member_id = a.member_id AND type = 'REVERSAL') AS reversals
       FROM point_accounts a WHERE a.member_id = $1`,
      [returner],
    );
    const ledger = rows[0];
    if (ledger.balance + ledger.pending !== ledger.entries || ledger.entries !== ledger.lots || ledger.reversals < phases[2].okResponses) {
      throw new Error(`ledger mismatch after returns: ${JSON.stringify(ledger)} after ${phases[2].okResponses} answered returns`);
    }
  } finally {
    await db.end();
  }
  const [plainRun, heldRun, returnRun] = phases;
  return { phases, pendingRatio: heldRun.rps / plainRun.rps, returnRatio: returnRun.rps / plainRun.rps };
}
