import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, it } from '@jest/globals';
import type { Client } from 'graphql-ws';
import { createLedgerClient } from '@loyalty/kit';
import { feed, waitFor, wsClient } from './support/subscriptions';
import { newTenant, ok, serviceSecret, sql, subgraphUrls } from './support/system';

const ledger = createLedgerClient({ url: subgraphUrls.members, serviceSecret, service: 'campaigns' });
const clients: Client[] = [];
afterAll(async () => {
  await Promise.all(clients.map(async (client) => client.dispose()));
});

type Tenant = Awaited<ReturnType<typeof newTenant>>;
interface Standing {
  tier: { name: string };
  tierProgress: { current: { name: string }; qualifyingPoints: number; retainedUntil: string | null };
}

const TIERS = [
  { name: 'Bronze', rank: 0, qualifyingPoints: 0 },
  { name: 'Silver', rank: 1, qualifyingPoints: 1000 },
  { name: 'Gold', rank: 2, qualifyingPoints: 5000 },
  { name: 'Platinum', rank: 3, qualifyingPoints: 8000 },
];

/** A tenant with `tiers` and a tier policy (the defaults for what `tierPolicy` leaves out). */
async function program(tierPolicy: Record<string, unknown> = {}, tiers = TIERS) {
  const t = await newTenant();
  await ok('mutation($input: ProgramInput!) { updateProgram(input: $input) { timeZone } }', { input: { tierPolicy } }, { token: t.admin });
  const ids: Record<string, string> = {};
  for (const tier of tiers) {
    const data = await ok<{ upsertTier: { id: string } }>('mutation($input: TierInput!) { upsertTier(input: $input) { id } }', { input: { ...tier, earnMultiplier: 1 } }, { token: t.admin });
    ids[tier.name] = data.upsertTier.id;
  }
  return { ...t, ids };
}

const earn = (t: Tenant, memberId: string, points: number, orderId?: string) =>
  ledger.credit({ tenant: t.tenant, memberId, points, type: 'EARN', idempotencyKey: randomUUID(), reference: orderId ?? 'test', ...(orderId ? { orderId } : {}) });

const standing = async (t: Tenant, memberId: string): Promise<Standing> =>
  (
    await ok<{ member: Standing }>(
      'query($id: ID!) { member(id: $id) { tier { name } tierProgress { current { name } qualifyingPoints retainedUntil } } }',
      { id: memberId },
      { token: t.admin },
    )
  ).member;

const tierName = async (t: Tenant, memberId: string) => (await standing(t, memberId)).tier.name;

const maintain = async (t: Tenant) =>
  (await ok<{ runPointsMaintenance: { tiersChanged: number } }>('mutation { runPointsMaintenance { tiersChanged } }', {}, { token: t.admin })).runPointsMaintenance.tiersChanged;

/** Moves every point a member earned back by `interval` (e.g. '13 months'): time passing, for the window. */
const age = (memberId: string, interval: string) => sql('members', `UPDATE earn_days SET day = day - $2::interval WHERE member_id = $1`, [memberId, interval]);

const tierEvents = (tenant: string) =>
  sql<{ key: string; payload: { memberId: string; previousTierId: string | null; tierId: string } }>(
    'members',
    `SELECT key, payload FROM outbox WHERE tenant = $1 AND type = 'TIER_CHANGED' ORDER BY id`,
    [tenant],
  );

/**
 * A tierChanged feed on `member`, live once this returns: a balance feed on the same connection,
 * subscribed after it, has heard a move.
 */
async function tierFeed<T>(t: Tenant, member: string, query: string) {
  const client = wsClient(t.admin);
  clients.push(client);
  const changes = feed<T>(client, query, { m: member });
  const balances = feed(client, 'subscription($m: ID) { pointsBalanceChanged(memberId: $m) { balance } }', { m: member });
  await waitFor('the subscriptions are live', async () => {
    if (balances.results.length === 0) await t.adjust(member, 1);
    return balances.results.length > 0;
  });
  return changes;
}

describe('tier review', () => {
  it("moves a member down when its tier's threshold is raised, with tierChanged", async () => {
    const t = await program({}, TIERS.slice(0, 3));
    const member = await t.enroll();
    const changes = await tierFeed<{ tierChanged: { previousTier: { name: string } | null; tier: { name: string }; member: { id: string } } }>(
      t,
      member,
      'subscription($m: ID) { tierChanged(memberId: $m) { previousTier { name } tier { name } member { id } } }',
    );
    await earn(t, member, 8250);
    assert.deepEqual(await standing(t, member), { tier: { name: 'Gold' }, tierProgress: { current: { name: 'Gold' }, qualifyingPoints: 8250, retainedUntil: null } });

    await ok('mutation($input: TierInput!) { upsertTier(input: $input) { id } }', { input: { name: 'Gold', rank: 2, qualifyingPoints: 1_000_000, earnMultiplier: 1 } }, { token: t.admin });
    // A small tenant is reviewed before upsertTier answers.
    assert.equal(await tierName(t, member), 'Silver');
    assert.deepEqual(await changes.until(2), [
      { tierChanged: { previousTier: { name: 'Bronze' }, tier: { name: 'Gold' }, member: { id: member } } },
      { tierChanged: { previousTier: { name: 'Gold' }, tier: { name: 'Silver' }, member: { id: member } } },
    ]);
    assert.deepEqual(
      (await tierEvents(t.tenant)).map((e) => [e.payload.previousTierId, e.payload.tierId]),
      [
        [t.ids.Bronze, t.ids.Gold],
        [t.ids.Gold, t.ids.Silver],
      ],
    );
    // Reviewing again changes nothing.
    assert.equal(await maintain(t), 0);
  });

  it('takes a member below every tier down to the built-in base, and tierChanged shows it', async () => {
    const t = await program({}, [{ name: 'Silver', rank: 1, qualifyingPoints: 1000 }]);
    const member = await t.enroll();
    const changes = await tierFeed<{ tierChanged: { previousTier: { name: string } | null; tier: { id: string; name: string } } }>(
      t,
      member,
      'subscription($m: ID) { tierChanged(memberId: $m) { previousTier { name } tier { id name } } }',
    );
    await earn(t, member, 1500);
    await ok('mutation($input: TierInput!) { upsertTier(input: $input) { id } }', { input: { name: 'Silver', rank: 1, qualifyingPoints: 1_000_000, earnMultiplier: 1 } }, { token: t.admin });
    assert.equal(await tierName(t, member), 'Base');
    assert.deepEqual(await changes.until(2), [
      { tierChanged: { previousTier: null, tier: { id: t.ids.Silver, name: 'Silver' } } },
      { tierChanged: { previousTier: { name: 'Silver' }, tier: { id: 'base', name: 'Base' } } },
    ]);
  });

  it('takes ONE_LEVEL one rank down and TO_QUALIFIED to the tier the window qualifies for', async () => {
    for (const [downgrade, expected] of [
      ['ONE_LEVEL', 'Gold'],
      ['TO_QUALIFIED', 'Silver'],
    ] as const) {
      const t = await program({ downgrade });
      const [member, keeper] = [await t.enroll(), await t.enroll()];
      await earn(t, member, 9000);
      await earn(t, keeper, 9000);
      await age(member, '13 months');
      await earn(t, member, 1200);
      assert.deepEqual(await standing(t, member), { tier: { name: 'Platinum' }, tierProgress: { current: { name: 'Platinum' }, qualifyingPoints: 1200, retainedUntil: null } });
      assert.equal(await maintain(t), 1, downgrade);
      assert.equal(await tierName(t, member), expected, downgrade);
      assert.equal(await tierName(t, keeper), 'Platinum');
      const [event] = (await tierEvents(t.tenant)).filter((e) => e.payload.previousTierId === t.ids.Platinum);
      assert.deepEqual(event?.payload, { memberId: member, previousTierId: t.ids.Platinum, tierId: t.ids[expected] });
    }
  });

  it('keeps the tier through a grace period, shows its end, and downgrades after it', async () => {
    const t = await program({ graceDays: 30 });
    const [member, recovers] = [await t.enroll(), await t.enroll()];
    for (const id of [member, recovers]) {
      await earn(t, id, 6000);
      await age(id, '13 months');
    }
    const before = Date.now();
    assert.equal(await maintain(t), 0, 'a grace period is no tier change');
    const first = await standing(t, member);
    assert.equal(first.tier.name, 'Gold');
    assert.equal(first.tierProgress.current.name, 'Gold');
    assert.equal(first.tierProgress.qualifyingPoints, 0);
    const until = Date.parse(first.tierProgress.retainedUntil!);
    assert.ok(Math.abs(until - (before + 30 * 86_400_000)) < 60_000, first.tierProgress.retainedUntil!);
    // A second review neither restarts nor ends the grace period.
    assert.equal(await maintain(t), 0);
    assert.deepEqual(await standing(t, member), first);

    // Earning the tier back during the grace ends it, in the crediting transaction.
    await earn(t, recovers, 5000);
    assert.deepEqual((await standing(t, recovers)).tierProgress, { current: { name: 'Gold' }, qualifyingPoints: 5000, retainedUntil: null });

    // The grace period is over.
    await sql('members', `UPDATE members SET tier_retained_until = now() - interval '1 minute' WHERE id = $1`, [member]);
    assert.equal(await maintain(t), 1);
    assert.deepEqual(await standing(t, member), { tier: { name: 'Bronze' }, tierProgress: { current: { name: 'Bronze' }, qualifyingPoints: 0, retainedUntil: null } });
    assert.equal(await tierName(t, recovers), 'Gold');
  });

  it('keeps every tier under NEVER, and starts no grace period', async () => {
    const t = await program({ downgrade: 'NEVER', graceDays: 10 });
    const member = await t.enroll();
    await earn(t, member, 9000);
    await age(member, '2 years');
    assert.equal(await maintain(t), 0);
    assert.deepEqual(await standing(t, member), { tier: { name: 'Platinum' }, tierProgress: { current: { name: 'Platinum' }, qualifyingPoints: 0, retainedUntil: null } });
    await ok('mutation($input: TierInput!) { upsertTier(input: $input) { id } }', { input: { name: 'Platinum', rank: 3, qualifyingPoints: 50_000, earnMultiplier: 1 } }, { token: t.admin });
    assert.equal(await tierName(t, member), 'Platinum');
    assert.deepEqual(await tierEvents(t.tenant).then((events) => events.filter((e) => e.payload.previousTierId === t.ids.Platinum)), []);
  });

  it('counts EARN points net of returns', async () => {
    const t = await program();
    const member = await t.enroll();
    await earn(t, member, 6000, 'order-1');
    assert.equal(await tierName(t, member), 'Gold');
    const returned = await ledger.reverseOrder({ tenant: t.tenant, memberId: member, orderId: 'order-1', points: 2000, idempotencyKey: randomUUID() });
    assert.equal(returned.reversed, 2000);
    assert.equal((await standing(t, member)).tierProgress.qualifyingPoints, 4000);
    assert.equal(await maintain(t), 1);
    assert.equal(await tierName(t, member), 'Silver');
  });

  it('qualifies on the months of tierPolicy.windowMonths', async () => {
    const t = await program({ windowMonths: 6 });
    const member = await t.enroll();
    await earn(t, member, 6000);
    await age(member, '4 months');
    // Earned before the window: never counted, whatever the window.
    await sql('members', `INSERT INTO earn_days (tenant, member_id, day, points) VALUES ($1, $2, current_date - interval '7 months', 3000)`, [t.tenant, member]);
    assert.deepEqual((await standing(t, member)).tierProgress, { current: { name: 'Gold' }, qualifyingPoints: 6000, retainedUntil: null });
    assert.equal(await maintain(t), 0);

    await ok('mutation { updateProgram(input: { tierPolicy: { windowMonths: 3 } }) { timeZone } }', {}, { token: t.admin });
    assert.equal((await standing(t, member)).tierProgress.qualifyingPoints, 0);
    assert.equal(await maintain(t), 1);
    assert.equal(await tierName(t, member), 'Bronze');

    await ok('mutation { updateProgram(input: { tierPolicy: { windowMonths: 12 } }) { timeZone } }', {}, { token: t.admin });
    assert.equal((await standing(t, member)).tierProgress.qualifyingPoints, 9000);
    // The review upgrades too: the window now holds Platinum's points.
    assert.equal(await maintain(t), 1);
    assert.equal(await tierName(t, member), 'Platinum');
  });

  it('takes each member down exactly one rank when runs race, and one rank a day', async () => {
    const t = await program({ downgrade: 'ONE_LEVEL' });
    const members = await Promise.all(Array.from({ length: 25 }, () => t.enroll()));
    const busy = await t.enroll();
    for (const member of members) await earn(t, member, 9000);
    await Promise.all(members.map((member) => age(member, '13 months')));

    // Three runs at once, while another member earns.
    const runs = Promise.all([maintain(t), maintain(t), maintain(t)]);
    for (let i = 0; i < 10; i++) await earn(t, busy, 100);
    const counts = await runs;
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      members.length,
      `runs changed ${counts.join(' + ')}`,
    );
    const tiers = await sql<{ tier_id: string; n: number }>('members', 'SELECT tier_id, count(*)::int AS n FROM members WHERE id = ANY($1) GROUP BY tier_id', [members]);
    assert.deepEqual(tiers, [{ tier_id: t.ids.Gold, n: members.length }]);
    const downgrades = (await tierEvents(t.tenant)).filter((e) => e.payload.previousTierId === t.ids.Platinum);
    assert.deepEqual(downgrades.map((e) => e.key).sort(), [...members].sort());
    assert.equal(await tierName(t, busy), 'Silver');

    // Another review the same day takes nobody further; the next day's does.
    assert.equal(await maintain(t), 0);
    await sql('members', `UPDATE members SET tier_downgraded_at = tier_downgraded_at - interval '1 day' WHERE id = ANY($1)`, [members]);
    assert.equal(await maintain(t), members.length);
    assert.equal(await tierName(t, members[0]!), 'Silver');
  });
});
