import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, describe, it } from 'node:test';
import type { Client } from 'graphql-ws';
import { boundedStream, createLedgerClient } from '@loyalty/kit';
import { startService, type Service } from './support/processes';
import { drained, feed, registered, wsClient } from './support/subscriptions';
import { gatewayUrl, newTenant, ok, serviceSecret, sql, subgraphUrls, token } from './support/system';

const databases = JSON.parse(process.env.TEST_DATABASES ?? '{}') as Record<string, string>;

const BALANCE = `subscription($memberId: ID) {
  pointsBalanceChanged(memberId: $memberId) {
    balance
    delta
    occurredAt
    transaction { id type points balanceAfter reference }
    member { id email tier { name } availableRewards { name } eligibleCampaigns { name } }
  }
}`;

interface BalanceEvent {
  pointsBalanceChanged: {
    balance: number;
    delta: number;
    occurredAt: string;
    transaction: { id: string; type: string; points: number; balanceAfter: number; reference: string | null };
    member: { id: string; email: string; tier: { name: string }; availableRewards: { name: string }[]; eligibleCampaigns: { name: string }[] };
  };
}

const clients: Client[] = [];
const replicas: Service[] = [];
const open = (t: string | undefined, url?: string, closed?: (e: { code: number; reason: string }) => void) => {
  const client = wsClient(t, url, closed);
  clients.push(client);
  return client;
};
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});
after(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
});

describe('subscriptions', () => {
  it('delivers a purchase to the member with the new balance, the transaction and fields of every subgraph', async () => {
    const t = await newTenant();
    const member = await t.enroll({ email: 'live@example.com', country: 'DE' });
    await ok('mutation { createReward(input: { name: "Mug", type: PRODUCT, costPoints: 100 }) { id } }', {}, { token: t.admin });
    const { createCampaign } = await ok<{ createCampaign: { id: string } }>(
      'mutation { createCampaign(input: { name: "Double", rules: [{ name: "per euro", trigger: PURCHASE, calculation: PER_AMOUNT, points: 2 }] }) { id } }',
      {},
      { token: t.admin },
    );
    await ok('mutation($id: ID!) { activateCampaign(id: $id) { id } }', { id: createCampaign.id }, { token: t.admin });

    const events = feed<BalanceEvent>(open(await token(t.tenant, ['member'], { memberId: member })), BALANCE);
    await registered(1);
    const integration = await token(t.tenant, ['integration']);
    const earned = await ok<{ recordActivity: { transaction: { id: string } } }>(
      'mutation($input: ActivityInput!) { recordActivity(input: $input) { transaction { id } } }',
      { input: { memberId: member, type: 'PURCHASE', amount: 6000, idempotencyKey: randomUUID() } },
      { token: integration },
    );
    const [event] = await events.until(1);
    const e = event!.pointsBalanceChanged;
    assert.equal(e.balance, 120);
    assert.equal(e.delta, 120);
    assert.deepEqual(e.transaction, { id: earned.recordActivity.transaction.id, type: 'EARN', points: 120, balanceAfter: 120, reference: e.transaction.reference });
    assert.deepEqual(e.member, { id: member, email: 'live@example.com', tier: { name: 'Base' }, availableRewards: [{ name: 'Mug' }], eligibleCampaigns: [{ name: 'Double' }] });
    assert.ok(Date.parse(e.occurredAt) > Date.now() - 60_000);
  });

  it('keeps order and isolation: a member feed, the staff feed, another tenant', async () => {
    const t = await newTenant();
    const other = await newTenant();
    const [a, b] = [await t.enroll(), await t.enroll()];
    const stranger = await other.enroll();
    const memberFeed = feed<BalanceEvent>(open(await token(t.tenant, ['member'], { memberId: a })), 'subscription { pointsBalanceChanged { balance delta member { id } } }');
    const staffFeed = feed<BalanceEvent>(open(await token(t.tenant, ['agent'])), 'subscription { pointsBalanceChanged { balance delta member { id } } }');
    await registered(2);
    await Promise.all([
      ...Array.from({ length: 20 }, () => t.adjust(a!, 10)),
      t.adjust(b!, 5),
      other.adjust(stranger, 7),
    ]);
    const mine = await memberFeed.until(20);
    const all = await staffFeed.until(21);
    // In ledger order, each balance the previous one plus its delta, never another member's.
    assert.deepEqual(mine.map((m) => m.pointsBalanceChanged.balance), Array.from({ length: 20 }, (_, i) => (i + 1) * 10));
    assert.ok(mine.every((m) => m.pointsBalanceChanged.member.id === a && m.pointsBalanceChanged.delta === 10));
    assert.deepEqual(new Set(all.map((m) => m.pointsBalanceChanged.member.id)), new Set([a, b]));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(memberFeed.results.length, 20, 'exactly once');
    assert.equal(staffFeed.results.length, 21, 'nothing of the other tenant');
  });

  it('fires tierChanged once on an upgrade, with the previous and the new tier', async () => {
    const t = await newTenant();
    for (const tier of [{ name: 'Blue', rank: 0, qualifyingPoints: 0 }, { name: 'Gold', rank: 1, qualifyingPoints: 500 }]) {
      await ok('mutation($input: TierInput!) { upsertTier(input: $input) { id } }', { input: { ...tier, earnMultiplier: 1 } }, { token: t.admin });
    }
    const member = await t.enroll();
    const tiers = feed<{ tierChanged: { previousTier: { name: string } | null; tier: { name: string; rank: number }; member: { id: string } } }>(
      open(t.admin),
      'subscription($m: ID) { tierChanged(memberId: $m) { previousTier { name } tier { name rank } member { id } } }',
      { m: member },
    );
    await registered(1);
    const ledger = createLedgerClient({ url: subgraphUrls.members, serviceSecret, service: 'test' });
    for (const points of [300, 300, 300]) {
      await ledger.credit({ tenant: t.tenant, memberId: member, points, type: 'EARN', idempotencyKey: randomUUID(), reference: 'order' });
    }
    const [change] = await tiers.until(1);
    assert.deepEqual(change, { tierChanged: { previousTier: { name: 'Blue' }, tier: { name: 'Gold', rank: 1 }, member: { id: member } } });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(tiers.results.length, 1);
  });

  it('refuses no token and a bad token at connection, and another member’s id per subscription', async () => {
    const t = await newTenant();
    const [mine, theirs] = [await t.enroll(), await t.enroll()];
    for (const bad of [undefined, 'not-a-jwt']) {
      const closed = new Promise<{ code: number; reason: string }>((resolve) => {
        const client = open(bad, undefined, resolve);
        feed(client, 'subscription { pointsBalanceChanged { balance } }');
      });
      const event = await closed;
      assert.equal(event.code, 4401);
      assert.match(event.reason, /Unauthorized/);
    }
    const client = open(await token(t.tenant, ['member'], { memberId: mine }));
    const foreign = feed(client, 'subscription($m: ID) { pointsBalanceChanged(memberId: $m) { balance } }', { m: theirs });
    await assert.rejects(foreign.until(1), /FORBIDDEN/);
    const integrationFeed = feed(open(await token(t.tenant, ['integration'])), 'subscription { pointsBalanceChanged { balance } }');
    await assert.rejects(integrationFeed.until(1), /FORBIDDEN/);
    // The same connection still serves the member's own events.
    const own = feed<BalanceEvent>(client, 'subscription { pointsBalanceChanged { balance } }');
    await registered(1);
    await t.adjust(mine, 42);
    assert.equal((await own.until(1))[0]!.pointsBalanceChanged.balance, 42);
  });

  it('delivers on every gateway replica, and survives a lost bus connection without losing events', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const replica = await startService('gateway', {
      MEMBERS_URL: subgraphUrls.members,
      CAMPAIGNS_URL: subgraphUrls.campaigns,
      REWARDS_URL: subgraphUrls.rewards,
      ANALYTICS_URL: subgraphUrls.analytics,
      EVENT_BUS_URL: databases.events!,
    });
    replicas.push(replica);
    const query = 'subscription($m: ID) { pointsBalanceChanged(memberId: $m) { balance } }';
    const first = feed<BalanceEvent>(open(t.admin), query, { m: member });
    const second = feed<BalanceEvent>(open(t.admin, replica.url), query, { m: member });
    await registered(1);
    await registered(1, replica.url);
    await t.adjust(member, 1);
    assert.equal((await first.until(1))[0]!.pointsBalanceChanged.balance, 1);
    assert.equal((await second.until(1))[0]!.pointsBalanceChanged.balance, 1);

    // Cut every gateway's bus connection, change the balance meanwhile: nothing is lost.
    await sql('events', `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'bus-consumer'`);
    await t.adjust(member, 2);
    await t.adjust(member, 3);
    assert.deepEqual((await first.until(3)).map((e) => e.pointsBalanceChanged.balance), [1, 3, 6]);
    assert.deepEqual((await second.until(3)).map((e) => e.pointsBalanceChanged.balance), [1, 3, 6]);
  });

  it('releases everything on unsubscribe and disconnect', async () => {
    const t = await newTenant();
    const client = open(t.admin);
    const feeds = [feed(client, 'subscription { pointsBalanceChanged { balance } }'), feed(client, 'subscription { tierChanged { tier { name } } }')];
    const other = open(t.admin);
    feed(other, 'subscription { pointsBalanceChanged { delta } }');
    await registered(3);
    feeds[0]!.stop();
    await other.dispose();
    feeds[1]!.stop();
    assert.equal(await drained(), 0);
    assert.equal(await drained(gatewayUrl), 0);
  });

  it('bounds what a slow subscriber may buffer, then ends its stream', async () => {
    let overflowed = 0;
    let ended = 0;
    const { iterator, push } = boundedStream<{ data: { n: number } }>(3, () => overflowed++, () => ended++);
    for (let i = 0; i < 3; i++) push({ data: { n: i } });
    assert.equal(overflowed, 0);
    push({ data: { n: 3 } });
    assert.equal(overflowed, 1);
    assert.equal(ended, 1);
    assert.deepEqual(await iterator.next(), { value: undefined, done: true }, 'the buffer is dropped, not kept');
  });
});
