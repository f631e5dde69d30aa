import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, it } from '@jest/globals';
import { IDENTITY_HEADER, serviceIdentity, signIdentity } from '@loyalty/kit';
import { startService, type Service } from './support/processes';
import { codes, gatewayCredential, gatewayUrl, gql, newTenant, ok, serviceSecret, sql, subgraphUrls, token } from './support/system';

const databases = JSON.parse(process.env.TEST_DATABASES ?? '{}') as Record<string, string>;
const REPORTS = `query($range: DateRangeInput) {
  programStats(range: $range) { members activeMembers pointsIssued pointsRedeemed pointsExpired pointsOutstanding redemptions purchaseRevenue }
  topRewards(range: $range) { reward { id } redemptions pointsSpent }
  redemptionsByStore(range: $range) { storeId redemptions pointsSpent }
}`;

/** Waits until an analytics instance has applied everything on the bus. */
async function caughtUp(analyticsUrl = subgraphUrls.analytics): Promise<void> {
  const headers = { [IDENTITY_HEADER]: await signIdentity(serviceIdentity('test', '*'), serviceSecret) };
  for (let i = 0; i < 200; i++) {
    const [{ head }] = (await sql<{ head: string }>('events', 'SELECT COALESCE(max(position), 0)::text AS head FROM bus_events')) as [{ head: string }];
    const { position } = (await (await fetch(`${analyticsUrl}/internal/analytics/position`, { headers })).json()) as { position: string };
    if (BigInt(position) >= BigInt(head)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('analytics did not catch up with the bus');
}

const replicas: Service[] = [];
afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
});

describe('analytics', () => {
  it('reports what the ledger and the redemptions say, and a replay into an empty read model agrees', async () => {
    const t = await newTenant();
    const integration = await token(t.tenant, ['integration']);
    const [a, b, c] = [await t.enroll(), await t.enroll(), await t.enroll()];
    const { createCampaign } = await ok<{ createCampaign: { id: string } }>(
      'mutation { createCampaign(input: { name: "Per euro", rules: [{ name: "1 per 1.00", trigger: PURCHASE, calculation: PER_AMOUNT, points: 1 }] }) { id } }',
      {},
      { token: t.admin },
    );
    await ok('mutation($id: ID!) { activateCampaign(id: $id) { id } }', { id: createCampaign.id }, { token: t.admin });
    const purchase = (memberId: string, amount: number, storeId: string) =>
      ok('mutation($input: ActivityInput!) { recordActivity(input: $input) { pointsEarned } }', {
        input: { memberId, type: 'PURCHASE', amount, currency: 'EUR', storeId, idempotencyKey: randomUUID() },
      }, { token: integration });
    await purchase(a, 50_000, 'berlin');
    await purchase(b, 30_000, 'paris');
    await purchase(a, 20_000, 'paris');
    await t.adjust(c, 100);
    await t.adjust(a, -20);
    const reward = (await ok<{ createReward: { id: string } }>('mutation { createReward(input: { name: "Mug", type: PRODUCT, costPoints: 150 }) { id } }', {}, { token: t.admin })).createReward.id;
    const cheap = (await ok<{ createReward: { id: string } }>('mutation { createReward(input: { name: "Pen", type: PRODUCT, costPoints: 20 }) { id } }', {}, { token: t.admin })).createReward.id;
    const redeem = (memberId: string, rewardId: string, storeId: string) =>
      ok<{ redeemReward: { id: string } }>('mutation($input: RedeemRewardInput!) { redeemReward(input: $input) { id } }', {
        input: { memberId, rewardId, storeId, idempotencyKey: randomUUID() },
      }, { token: t.admin });
    await redeem(a, reward, 'berlin');
    const cancelled = await redeem(b, reward, 'paris');
    await redeem(b, cheap, 'paris');
    await redeem(c, cheap, 'berlin');
    await ok('mutation($id: ID!) { cancelRedemption(id: $id) { status } }', { id: cancelled.redeemReward.id }, { token: t.admin });

    await caughtUp();
    const reports = await ok<{
      programStats: Record<string, number>;
      topRewards: { reward: { id: string }; redemptions: number; pointsSpent: number }[];
      redemptionsByStore: { storeId: string; redemptions: number; pointsSpent: number }[];
    }>(REPORTS, {}, { token: t.admin });

    // The truth, from the owners' own records.
    const [ledger] = (await sql<Record<string, number>>(
      'members',
      `SELECT COALESCE(sum(points) FILTER (WHERE type IN ('EARN', 'ADJUST')), 0)::int AS issued,
              COALESCE(-sum(points) FILTER (WHERE type IN ('REDEEM', 'REVERSAL')), 0)::int AS redeemed,
              COALESCE(sum(points), 0)::int AS outstanding
       FROM ledger_entries WHERE tenant = $1`,
      [t.tenant],
    )) as [Record<string, number>];
    const [{ balances }] = (await sql<{ balances: number }>('members', 'SELECT sum(balance)::int AS balances FROM point_accounts WHERE tenant = $1', [t.tenant])) as [{ balances: number }];
    assert.deepEqual(reports.programStats, {
      members: 3,
      activeMembers: 3,
      pointsIssued: ledger.issued,
      pointsRedeemed: ledger.redeemed,
      pointsExpired: 0,
      pointsOutstanding: balances,
      redemptions: 3,
      purchaseRevenue: 100_000,
    });
    assert.equal(ledger.outstanding, balances);
    assert.deepEqual(reports.topRewards, [
      { reward: { id: cheap }, redemptions: 2, pointsSpent: 40 },
      { reward: { id: reward }, redemptions: 1, pointsSpent: 150 },
    ]);
    assert.deepEqual(reports.redemptionsByStore, [
      { storeId: 'berlin', redemptions: 2, pointsSpent: 170 },
      { storeId: 'paris', redemptions: 1, pointsSpent: 20 },
    ]);
    const performance = await ok<{ campaign: { performance: { pointsIssued: number; members: number; activities: number } } }>(
      'query($id: ID!) { campaign(id: $id) { performance { pointsIssued members activities } } }',
      { id: createCampaign.id },
      { token: t.admin },
    );
    assert.deepEqual(performance.campaign.performance, { pointsIssued: 1000, members: 2, activities: 3 });
    const timeline = await ok<{ pointsTimeline: { start: string; pointsIssued: number; pointsRedeemed: number; redemptions: number }[] }>(
      'query($range: DateRangeInput!) { pointsTimeline(range: $range, interval: DAY) { start pointsIssued pointsRedeemed redemptions } }',
      { range: { from: new Date(Date.now() - 2 * 86_400_000).toISOString(), to: new Date().toISOString() } },
      { token: t.admin },
    );
    assert.equal(timeline.pointsTimeline.length, 3);
    assert.deepEqual(timeline.pointsTimeline.at(-1), { start: `${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`, pointsIssued: ledger.issued, pointsRedeemed: ledger.redeemed, redemptions: 3 });

    // The operator's consistency check says the same.
    const { checkOutstanding } = await import('../scripts/check-outstanding.mjs');
    const check = await checkOutstanding({ gatewayUrl, membersUrl: subgraphUrls.members, tenant: t.tenant, jwtSecret: process.env.JWT_SECRET!, serviceSecret });
    assert.deepEqual(check, { tenant: t.tenant, reported: balances, balances, consistent: true });

    // Replay the whole stream into an empty read model: a second analytics on a fresh database.
    const fresh = `${new URL(databases.analytics!).pathname.slice(1)}_replay_${process.pid}`;
    const replayUrl = Object.assign(new URL(databases.analytics!), { pathname: `/${fresh}` }).toString();
    const replay = await startService('analytics', { DATABASE_URL: replayUrl, EVENT_BUS_URL: databases.events!, SERVICE_SECRET: serviceSecret });
    replicas.push(replay);
    await caughtUp(replay.url);
    const replayed = await gql(REPORTS, {}, { headers: await gatewayCredential({ tenant: t.tenant, principal: 'admin', roles: ['admin'], scopes: [] }) }, `${replay.url}/graphql`);
    assert.deepEqual(replayed.data, reports);
    // Applying the same events again changes nothing.
    await replay.stop();
    const again = await startService('analytics', { DATABASE_URL: replayUrl, EVENT_BUS_URL: databases.events!, SERVICE_SECRET: serviceSecret });
    replicas.push(again);
    await caughtUp(again.url);
    const afterRestart = await gql(REPORTS, {}, { headers: await gatewayCredential({ tenant: t.tenant, principal: 'admin', roles: ['admin'], scopes: [] }) }, `${again.url}/graphql`);
    assert.deepEqual(afterRestart.data, reports);
  });

  it('keeps tenants apart and validates ranges and intervals', async () => {
    const a = await newTenant();
    const b = await newTenant();
    await a.adjust(await a.enroll(), 500);
    await caughtUp();
    const stats = await ok<{ programStats: { members: number; pointsIssued: number } }>('{ programStats { members pointsIssued } }', {}, { token: b.admin });
    assert.deepEqual(stats.programStats, { members: 0, pointsIssued: 0 });
    const bad = await gql('query { pointsTimeline(range: { from: "2026-02-01T00:00:00Z", to: "2026-01-01T00:00:00Z" }, interval: WEEK) { start } }', {}, { token: a.admin });
    assert.deepEqual(codes(bad), ['BAD_USER_INPUT']);
    assert.deepEqual(codes(await gql('{ pointsTimeline(range: {}, interval: HOUR) { start } }', {}, { token: a.admin })), ['BAD_USER_INPUT']);
    assert.deepEqual(codes(await gql('{ topRewards(limit: 0) { redemptions } }', {}, { token: a.admin })), ['BAD_USER_INPUT']);
    assert.deepEqual(codes(await gql('{ programStats { members } }', {}, { token: await token(a.tenant, ['agent']) })), ['FORBIDDEN']);
    const weeks = await ok<{ pointsTimeline: { start: string }[] }>(
      '{ pointsTimeline(range: { from: "2026-01-05T00:00:00Z", to: "2026-02-01T00:00:00Z" }, interval: WEEK) { start } }',
      {},
      { token: a.admin },
    );
    assert.deepEqual(weeks.pointsTimeline.map((p) => p.start.slice(0, 10)), ['2026-01-05', '2026-01-12', '2026-01-19', '2026-01-26']);
  });

  it('reports sums past 2^31 as SafeInt: program, campaign, timeline, rewards and stores', async () => {
    const t = await newTenant();
    const members = [await t.enroll(), await t.enroll()];
    const { createCampaign } = await ok<{ createCampaign: { id: string } }>(
      'mutation { createCampaign(input: { name: "Jackpot", rules: [{ name: "1M per 1.00", trigger: PURCHASE, calculation: PER_AMOUNT, points: 1000000 }] }) { id } }',
      {},
      { token: t.admin },
    );
    await ok('mutation($id: ID!) { activateCampaign(id: $id) { id } }', { id: createCampaign.id }, { token: t.admin });
    // 22 activities of 100,000,000 points (the most one move may carry): 2,200,000,000 > 2^31 − 1.
    for (let i = 0; i < 22; i++) {
      const earned = await ok<{ recordActivity: { pointsEarned: number } }>('mutation($input: ActivityInput!) { recordActivity(input: $input) { pointsEarned } }', {
        input: { memberId: members[i % 2], type: 'PURCHASE', amount: 10_000, currency: 'EUR', idempotencyKey: randomUUID() },
      }, { token: t.admin });
      assert.equal(earned.recordActivity.pointsEarned, 100_000_000);
    }
    const issued = 2_200_000_000;
    // Redemptions at that scale would need thousands of calls: the per-reward and per-store read
    // models are written directly (rows of this test's tenant only).
    const reward = randomUUID();
    const today = new Date().toISOString().slice(0, 10);
    await sql('analytics', 'INSERT INTO reward_days (tenant, reward_id, day, redemptions, points_spent) VALUES ($1, $2, $3, 3, 3000000000)', [t.tenant, reward, today]);
    await sql('analytics', 'INSERT INTO store_days (tenant, store_id, day, redemptions, points_spent) VALUES ($1, $2, $3, 3, 3000000000)', [t.tenant, 'berlin', today]);
    await caughtUp();
    const reports = await ok<Record<string, unknown>>(
      `query($id: ID!, $range: DateRangeInput!) {
         programStats { pointsIssued pointsOutstanding purchaseRevenue }
         campaign(id: $id) { budget { pointsIssued } performance { pointsIssued activities } }
         pointsTimeline(range: $range, interval: MONTH) { pointsIssued }
         topRewards { reward { id } redemptions pointsSpent }
         redemptionsByStore { storeId redemptions pointsSpent } }`,
      { id: createCampaign.id, range: { from: new Date().toISOString(), to: new Date().toISOString() } },
      { token: t.admin },
    );
    assert.deepEqual(reports, {
      programStats: { pointsIssued: issued, pointsOutstanding: issued, purchaseRevenue: 220_000 },
      campaign: { budget: { pointsIssued: issued }, performance: { pointsIssued: issued, activities: 22 } },
      pointsTimeline: [{ pointsIssued: issued }],
      topRewards: [{ reward: { id: reward }, redemptions: 3, pointsSpent: 3_000_000_000 }],
      redemptionsByStore: [{ storeId: 'berlin', redemptions: 3, pointsSpent: 3_000_000_000 }],
    });
    const { checkOutstanding } = await import('../scripts/check-outstanding.mjs');
    const check = await checkOutstanding({ gatewayUrl, membersUrl: subgraphUrls.members, tenant: t.tenant, jwtSecret: process.env.JWT_SECRET!, serviceSecret });
    assert.deepEqual(check, { tenant: t.tenant, reported: issued, balances: issued, consistent: true });
  });
});
