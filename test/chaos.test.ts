import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from '@jest/globals';
import { faultyProxy, startService } from './support/processes';
import { strayAllocations } from './support/ledger';
import { gatewayCredential, gql, newTenant, ok, serviceSecret, sql, type Caller } from './support/system';

const databases = JSON.parse(process.env.TEST_DATABASES ?? '{}') as Record<string, string>;

/** A deterministic PRNG (mulberry32): a failing run can be replayed with its seed. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ADJUST = 'mutation($input: AdjustPointsInput!) { adjustPoints(input: $input) { id } }';
const ACTIVITY = 'mutation($input: ActivityInput!) { recordActivity(input: $input) { pointsEarned } }';
const REDEEM = 'mutation($input: RedeemRewardInput!) { redeemReward(input: $input) { id status } }';
const CANCEL = 'mutation($id: ID!) { cancelRedemption(id: $id, reason: "chaos") { id status } }';

interface Op {
  url: () => string;
  query: string;
  variables: Record<string, unknown>;
}

describe('chaos', () => {
  it('keeps every money invariant through concurrent earn/redeem/cancel/adjust while services are SIGKILLed', async () => {
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 100_000);
    const rand = random(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
    const t = await newTenant();
    const members = await Promise.all(Array.from({ length: 8 }, () => t.enroll()));
    for (const m of members) await t.adjust(m, 3000);
    const rewards: { id: string; stock: number }[] = [];
    for (const [i, cost] of [100, 250, 400].entries()) {
      const stock = 40 + i * 20;
      const created = await ok<{ createReward: { id: string } }>(
        'mutation($input: RewardInput!) { createReward(input: $input) { id } }',
        { input: { name: `Chaos ${i}`, type: 'PRODUCT', costPoints: cost, stock } },
        { token: t.admin },
      );
      rewards.push({ id: created.createReward.id, stock });
    }
    const campaign = await ok<{ createCampaign: { id: string } }>(
      'mutation($input: CampaignInput!) { createCampaign(input: $input) { id } }',
      { input: { name: 'Chaos earn', rules: [{ name: 'per euro', trigger: 'PURCHASE', calculation: 'PER_AMOUNT', points: 1, amountStep: 100 }], budget: { maxPoints: 50_000 } } },
      { token: t.admin },
    );
    await ok('mutation($id: ID!) { activateCampaign(id: $id) { id } }', { id: campaign.createCampaign.id }, { token: t.admin });

    // Our own replicas of members, campaigns and rewards on the shared databases; campaigns and
    // rewards reach members through a proxy, so members can be killed and restarted behind it.
    const common = { EVENT_BUS_URL: databases.events!, SERVICE_SECRET: serviceSecret };
    let membersReplica = await startService('members', { ...common, DATABASE_URL: databases.members! });
    const membersProxy = await faultyProxy(membersReplica.url, /^$/);
    const jobs = { REDEMPTION_RECOVERY_INTERVAL_MS: '200', REDEMPTION_RECOVERY_AFTER_MS: '300', ACTIVITY_CREDIT_RETRY_INTERVAL_MS: '200', ACTIVITY_CREDIT_RETRY_AFTER_MS: '300' };
    const campaigns = await startService('campaigns', { ...common, ...jobs, DATABASE_URL: databases.campaigns!, MEMBERS_URL: membersProxy.url });
    let rewardsReplica = await startService('rewards', { ...common, ...jobs, DATABASE_URL: databases.rewards!, MEMBERS_URL: membersProxy.url });
    const staff: Caller = { headers: await gatewayCredential({ tenant: t.tenant, principal: 'chaos-agent', roles: ['admin'], scopes: [] }) };

    /** Every redemption a caller was told about: cancellations pick among them (PENDING ones are CONFLICT). */
    const redeemed: string[] = [];
    /** Outcomes by operation and code, for the failure message and the no-internal-error check. */
    const outcomes: Record<string, number> = {};
    const makeOp = (): Op => {
      const roll = rand();
      const memberId = pick(members);
      if (roll < 0.25) {
        return { url: () => membersReplica.url, query: ADJUST, variables: { input: { memberId, points: pick([50, 120, -80, -200]), reason: 'chaos', idempotencyKey: randomUUID() } } };
      }
      if (roll < 0.55) {
        return {
          url: () => campaigns.url,
          query: ACTIVITY,
          variables: { input: { memberId, type: 'PURCHASE', amount: 1000 + Math.floor(rand() * 20_000), currency: 'EUR', orderId: randomUUID(), idempotencyKey: randomUUID() } },
        };
      }
      if (roll < 0.8 || redeemed.length === 0) {
        return { url: () => rewardsReplica.url, query: REDEEM, variables: { input: { memberId, rewardId: pick(rewards).id, idempotencyKey: randomUUID() } } };
      }
      return { url: () => rewardsReplica.url, query: CANCEL, variables: { id: pick(redeemed) } };
    };

    /** One attempt; a dead or restarting service is a network error, which a client retries with the same key. */
    const attempt = async (op: Op) => {
      const result = await gql<Record<string, { id?: string; status?: string }>>(op.query, op.variables, staff, `${op.url()}/graphql`).catch(() => undefined);
      const redemption = result?.data?.redeemReward;
      if (redemption?.id) redeemed.push(redemption.id);
      const outcome = `${/\{\s*(\w+)/.exec(op.query)![1]} ${result ? (result.errors?.[0]?.extensions?.code ?? 'ok') : 'unreachable'}`;
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      return result !== undefined && result.status < 500;
    };

    // Load runs until the kill schedule is over (bounded by MAX_OPS), so crashes land mid-flight.
    const MAX_OPS = 3000;
    const unsure: Op[] = [];
    let started = 0;
    let killing = true;
    const worker = async () => {
      while (killing && started < MAX_OPS) {
        started++;
        const op = makeOp();
        if (!(await attempt(op))) unsure.push(op);
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, worker));

    // SIGKILL members and rewards in turn, restarting each behind the same address for callers.
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    for (const victim of ['members', 'rewards', 'members', 'rewards'] as const) {
      await pause(600);
      if (victim === 'members') {
        membersReplica.child.kill('SIGKILL');
        await pause(200);
        membersReplica = await startService('members', { ...common, DATABASE_URL: databases.members! });
        membersProxy.setTarget(membersReplica.url);
      } else {
        rewardsReplica.child.kill('SIGKILL');
        await pause(200);
        rewardsReplica = await startService('rewards', { ...common, ...jobs, DATABASE_URL: databases.rewards!, MEMBERS_URL: membersProxy.url });
      }
    }
    await pause(300);
    killing = false;
    await load;
    assert.ok(started > 100, `only ${started} operations ran`);
    const internal = Object.entries(outcomes).filter(([outcome]) => outcome.endsWith('INTERNAL_SERVER_ERROR'));
    assert.deepEqual(internal, [], `seed ${seed}: a service being down is not a bug of the caller's; outcomes ${JSON.stringify(outcomes)}`);

    // Clients retry whatever they could not be sure of, with the same idempotency key.
    for (const op of unsure) {
      for (let i = 0; i < 20 && !(await attempt(op)); i++) await new Promise((r) => setTimeout(r, 100));
    }

    // The recovery jobs settle what the crashes left in between.
    const settled = async () => {
      const [r] = await sql<{ n: number }>('rewards', `SELECT count(*)::int AS n FROM redemptions WHERE tenant = $1 AND status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')`, [t.tenant]);
      const [a] = await sql<{ n: number }>('campaigns', `SELECT count(*)::int AS n FROM activities WHERE tenant = $1 AND credit_status = 'PENDING'`, [t.tenant]);
      return r!.n + a!.n;
    };
    for (let i = 0; i < 150 && (await settled()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await settled(), 0, `seed ${seed}: redemptions, cancellations and credits left unsettled`);

    // 1. Per member: balance = sum of entries = sum of open lots ≥ 0.
    const accounts = await sql<{ member_id: string; balance: number; entries: number; lots: number }>(
      'members',
      `SELECT a.member_id, a.balance,
              (SELECT COALESCE(sum(points), 0)::int FROM ledger_entries e WHERE e.member_id = a.member_id) AS entries,
              (SELECT COALESCE(sum(remaining), 0)::int FROM point_lots l WHERE l.member_id = a.member_id) AS lots
       FROM point_accounts a WHERE a.tenant = $1`,
      [t.tenant],
    );
    assert.equal(accounts.length, members.length);
    for (const a of accounts) {
      assert.ok(a.balance >= 0, `seed ${seed}: ${a.member_id} balance ${a.balance} < 0`);
      assert.deepEqual({ entries: a.entries, lots: a.lots }, { entries: a.balance, lots: a.balance }, `seed ${seed}: ledger of ${a.member_id}`);
    }
    // 2. No key moved points twice.
    const twice = await sql('members', 'SELECT source, idempotency_key FROM ledger_entries WHERE tenant = $1 GROUP BY 1, 2 HAVING count(*) > 1', [t.tenant]);
    assert.deepEqual(twice, [], `seed ${seed}: keys that moved points twice`);
    assert.deepEqual(await strayAllocations({ tenant: t.tenant }), [], `seed ${seed}: allocations without their entry or lot`);
    // 3. Every COMPLETED redemption has exactly one debit; every CANCELLED one a debit and one reversal; FAILED none.
    const redemptions = await sql<{ id: string; status: string; reward_id: string }>('rewards', 'SELECT id, status, reward_id FROM redemptions WHERE tenant = $1', [t.tenant]);
    const moves = await sql<{ reference: string; type: string; n: number }>(
      'members',
      `SELECT reference, type, count(*)::int AS n FROM ledger_entries WHERE tenant = $1 AND type IN ('REDEEM', 'REVERSAL') GROUP BY 1, 2`,
      [t.tenant],
    );
    const count = (id: string, type: string) => moves.find((m) => m.reference === id && m.type === type)?.n ?? 0;
    for (const r of redemptions) {
      const expected = { COMPLETED: [1, 0], CANCELLED: [1, 1], FAILED: [0, 0] }[r.status];
      assert.ok(expected, `seed ${seed}: redemption ${r.id} ended ${r.status}`);
      assert.deepEqual([count(r.id, 'REDEEM'), count(r.id, 'REVERSAL')], expected, `seed ${seed}: ledger moves of ${r.status} redemption ${r.id}`);
    }
    const known = new Set(redemptions.map((r) => r.id));
    assert.deepEqual(moves.filter((m) => !known.has(m.reference)), [], `seed ${seed}: debits or reversals without a redemption`);
    // 4. Stock: what is left + what is held by COMPLETED redemptions = what there was.
    for (const reward of rewards) {
      const [{ stock }] = (await sql<{ stock: number }>('rewards', 'SELECT stock FROM rewards WHERE id = $1', [reward.id])) as [{ stock: number }];
      const held = redemptions.filter((r) => r.reward_id === reward.id && r.status === 'COMPLETED').length;
      assert.equal(stock + held, reward.stock, `seed ${seed}: stock of reward ${reward.id}`);
    }
    // 5. Every credited activity has exactly one EARN entry; the budget counts what the ledger holds.
    const activities = await sql<{ id: string; points_earned: number; credit_status: string }>('campaigns', 'SELECT id, points_earned, credit_status FROM activities WHERE tenant = $1', [t.tenant]);
    const earns = await sql<{ reference: string; points: number }>('members', `SELECT reference, points FROM ledger_entries WHERE tenant = $1 AND type = 'EARN'`, [t.tenant]);
    const earned = new Map(earns.map((e) => [e.reference, e.points]));
    assert.equal(earns.length, new Set(earns.map((e) => e.reference)).size, `seed ${seed}: an activity earned twice`);
    for (const a of activities.filter((a) => a.credit_status === 'CREDITED')) assert.equal(earned.get(a.id), a.points_earned, `seed ${seed}: credit of activity ${a.id}`);
    const [{ issued }] = (await sql<{ issued: string }>('campaigns', 'SELECT points_issued::text AS issued FROM campaigns WHERE id = $1', [campaign.createCampaign.id])) as [{ issued: string }];
    assert.equal(Number(issued), earns.reduce((sum, e) => sum + e.points, 0), `seed ${seed}: budget issued = EARN on the ledger`);
    // 6. Analytics follows the bus to the same outstanding points as the ledger.
    const ledger = accounts.reduce((sum, a) => sum + a.balance, 0);
    let outstanding = -1;
    for (let i = 0; i < 100; i++) {
      outstanding = Number((await ok<{ programStats: { pointsOutstanding: number } }>('{ programStats { pointsOutstanding } }', {}, { token: t.admin })).programStats.pointsOutstanding);
      if (outstanding === ledger) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(outstanding, ledger, `seed ${seed}: analytics pointsOutstanding vs the ledger`);
  });
});
