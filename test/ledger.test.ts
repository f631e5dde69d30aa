import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from '@jest/globals';
import { createLedgerClient, DomainError } from '@loyalty/kit';
import { codes, gql, newTenant, ok, serviceSecret, sql, subgraphUrls } from './support/system';

/** balance row, sum of entries and sum of open lots must always agree. */
async function assertReconciled(memberId: string, expected: number) {
  const [row] = await sql<{ balance: number; entries: number; lots: number }>(
    'members',
    `SELECT a.balance,
            (SELECT COALESCE(sum(points), 0)::int FROM ledger_entries WHERE member_id = a.member_id) AS entries,
            (SELECT COALESCE(sum(remaining), 0)::int FROM point_lots WHERE member_id = a.member_id) AS lots
     FROM point_accounts a WHERE a.member_id = $1`,
    [memberId],
  );
  assert.deepEqual(row, { balance: expected, entries: expected, lots: expected });
}

describe('points ledger', () => {
  it('replays the first result for the same key and input, and moves nothing again', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const key = randomUUID();
    const first = await t.adjust(member, 250, key);
    const again = await t.adjust(member, 250, key);
    assert.equal(first.errors, undefined);
    assert.deepEqual(again.data, first.data);
    assert.equal(await t.balance(member), 250);
    await assertReconciled(member, 250);
  });

  it('refuses the same key with a different input with IDEMPOTENCY_CONFLICT', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const key = randomUUID();
    await t.adjust(member, 100, key);
    const conflict = await t.adjust(member, 101, key);
    assert.deepEqual(codes(conflict), ['IDEMPOTENCY_CONFLICT']);
    assert.equal(conflict.errors?.[0]?.extensions?.field, 'idempotencyKey');
    assert.equal(await t.balance(member), 100);
  });

  it('scopes idempotency keys to the tenant', async () => {
    const a = await newTenant();
    const b = await newTenant();
    const key = randomUUID();
    const ma = await a.enroll();
    const mb = await b.enroll();
    assert.equal((await a.adjust(ma, 10, key)).errors, undefined);
    assert.equal((await b.adjust(mb, 20, key)).errors, undefined);
    assert.equal(await b.balance(mb), 20);
  });

  it('fails a debit beyond the balance with INSUFFICIENT_POINTS and changes nothing', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await t.adjust(member, 100);
    const count = async () => (await sql<{ n: number }>('members', 'SELECT count(*)::int AS n FROM ledger_entries WHERE member_id = $1', [member]))[0]!.n;
    const before = await count();
    const key = randomUUID();
    const result = await t.adjust(member, -101, key);
    assert.deepEqual(codes(result), ['INSUFFICIENT_POINTS']);
    assert.equal(await t.balance(member), 100);
    assert.equal(await count(), before);
    // The failed attempt did not burn its key: the same key works once the input is affordable.
    assert.equal((await t.adjust(member, -101, key)).errors?.[0]?.extensions?.code, 'INSUFFICIENT_POINTS');
    await t.adjust(member, 1);
    assert.equal((await t.adjust(member, -101, key)).errors, undefined);
    assert.equal(await t.balance(member), 0);
  });

  it('lets exactly 12 of 40 concurrent debits of 100 through on a balance of 1200', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await t.adjust(member, 1200);
    const results = await Promise.all(Array.from({ length: 40 }, () => t.adjust(member, -100)));
    const succeeded = results.filter((r) => !r.errors);
    const refused = results.filter((r) => r.errors);
    assert.equal(succeeded.length, 12);
    assert.ok(refused.every((r) => codes(r)[0] === 'INSUFFICIENT_POINTS'), JSON.stringify(refused[0]?.errors));
    assert.equal(await t.balance(member), 0);
    await assertReconciled(member, 0);
    // Each success saw a distinct balance: the debits were serialised, none overlapped.
    const after = succeeded.map((r) => r.data!.adjustPoints.balanceAfter).sort((x, y) => x - y);
    assert.deepEqual(after, Array.from({ length: 12 }, (_, i) => i * 100));
  });

  it('replays concurrent requests with one key as one movement', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const key = randomUUID();
    const results = await Promise.all(Array.from({ length: 10 }, () => t.adjust(member, 70, key)));
    assert.ok(results.every((r) => !r.errors));
    assert.equal(new Set(results.map((r) => r.data!.adjustPoints.id)).size, 1);
    assert.equal(await t.balance(member), 70);
  });

  it('draws debits from the lots that expire soonest and records the allocation', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const ledger = createLedgerClient({ url: subgraphUrls.members, serviceSecret, service: 'test' });
    const inDays = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString();
    const late = await ledger.credit({ tenant: t.tenant, memberId: member, points: 100, type: 'EARN', idempotencyKey: randomUUID(), reference: 'late', expiresAt: inDays(90) });
    const never = await ledger.credit({ tenant: t.tenant, memberId: member, points: 100, type: 'EARN', idempotencyKey: randomUUID(), reference: 'never' });
    const soon = await ledger.credit({ tenant: t.tenant, memberId: member, points: 100, type: 'EARN', idempotencyKey: randomUUID(), reference: 'soon', expiresAt: inDays(10) });
    const debit = await ledger.debit({ tenant: t.tenant, memberId: member, points: 150, type: 'REDEEM', idempotencyKey: randomUUID(), reference: 'order-1' });
    assert.equal(debit.balanceAfter, 150);
    const allocations = await sql<{ reference: string; points: number }>(
      'members',
      `SELECT e.reference, a.points FROM lot_allocations a JOIN point_lots l ON l.id = a.lot_id JOIN ledger_entries e ON e.id = l.entry_id
       WHERE a.entry_id = $1 ORDER BY a.points DESC`,
      [debit.id],
    );
    assert.deepEqual(allocations, [
      { reference: 'soon', points: 100 },
      { reference: 'late', points: 50 },
    ]);
    const expiring = await ok<{ member: { points: { expiring: number; in100: number } } }>(
      'query($id: ID!) { member(id: $id) { points { expiring(withinDays: 30) in100: expiring(withinDays: 100) } } }',
      { id: member },
      { token: t.admin },
    );
    assert.deepEqual(expiring.member.points, { expiring: 0, in100: 50 });
    assert.ok(late.id && never.id && soon.id);
    await assertReconciled(member, 150);
  });

  it('serves the internal API to services only, with keys of its own scope', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const ledger = createLedgerClient({ url: subgraphUrls.members, serviceSecret, service: 'campaigns' });
    const key = `activity:${randomUUID()}`;
    assert.equal(await ledger.findByKey(t.tenant, key), null);
    const credit = await ledger.credit({ tenant: t.tenant, memberId: member, points: 40, type: 'EARN', idempotencyKey: key, reference: 'act-1' });
    assert.deepEqual(await ledger.findByKey(t.tenant, key), credit);
    assert.deepEqual(await ledger.credit({ tenant: t.tenant, memberId: member, points: 40, type: 'EARN', idempotencyKey: key, reference: 'act-1' }), credit);
    await assert.rejects(
      ledger.debit({ tenant: t.tenant, memberId: member, points: 41, type: 'REDEEM', idempotencyKey: randomUUID(), reference: 'r' }),
      (error: unknown) => error instanceof DomainError && error.code === 'INSUFFICIENT_POINTS',
    );
    // Another service's keys live in another scope; a wrong signature is refused outright.
    const rewards = createLedgerClient({ url: subgraphUrls.members, serviceSecret, service: 'rewards' });
    assert.equal(await rewards.findByKey(t.tenant, key), null);
    const forged = createLedgerClient({ url: subgraphUrls.members, serviceSecret: 'x'.repeat(40), service: 'campaigns' });
    await assert.rejects(forged.findByKey(t.tenant, key));
  });

  it("keeps a service key's refusal final: a stale retry after the caller gave up never moves points", async () => {
    // Rewards fails a redemption when its debit is refused; a second settler that still holds the
    // redemption as PENDING may ask again later, when the balance would cover it. With the refusal
    // not recorded under the key, that debit went through and the FAILED redemption kept the points.
    const t = await newTenant();
    const member = await t.enroll();
    await t.adjust(member, 100);
    const rewards = createLedgerClient({ url: subgraphUrls.members, serviceSecret, service: 'rewards' });
    const debit = { tenant: t.tenant, memberId: member, points: 150, type: 'REDEEM' as const, idempotencyKey: `redemption:${randomUUID()}`, reference: 'r-1' };
    const insufficient = (error: unknown) => error instanceof DomainError && error.code === 'INSUFFICIENT_POINTS';
    await assert.rejects(rewards.debit(debit), insufficient);
    await t.adjust(member, 100);
    await assert.rejects(rewards.debit(debit), insufficient, 'the same key is refused again, though the balance would now cover it');
    assert.equal(await rewards.findByKey(t.tenant, debit.idempotencyKey), null);
    assert.equal(await t.balance(member), 200);
    await assertReconciled(member, 200);
    // The public API keeps its rule: a refused attempt does not use up the client's key.
    const key = randomUUID();
    assert.deepEqual(codes(await t.adjust(member, -300, key)), ['INSUFFICIENT_POINTS']);
    await t.adjust(member, 100);
    assert.equal((await t.adjust(member, -300, key)).errors, undefined);
    assert.equal(await t.balance(member), 0);
  });

  it('upgrades the tier in the crediting transaction once EARN points reach the threshold', async () => {
    const t = await newTenant();
    for (const tier of [
      { name: 'Blue', rank: 0, qualifyingPoints: 0, earnMultiplier: 1 },
      { name: 'Silver', rank: 1, qualifyingPoints: 500, earnMultiplier: 1.5 },
    ]) {
      await ok('mutation($input: TierInput!) { upsertTier(input: $input) { id } }', { input: tier }, { token: t.admin });
    }
    const member = await t.enroll();
    const ledger = createLedgerClient({ url: subgraphUrls.members, serviceSecret, service: 'campaigns' });
    // ADJUST credits do not qualify for tiers; EARN credits do.
    await t.adjust(member, 1000);
    const tierOf = async () =>
      (await ok<{ member: { tier: { name: string }; tierProgress: { qualifyingPoints: number; pointsToNext: number | null } } }>(
        'query($id: ID!) { member(id: $id) { tier { name } tierProgress { qualifyingPoints pointsToNext } } }',
        { id: member },
        { token: t.admin },
      )).member;
    assert.deepEqual(await tierOf(), { tier: { name: 'Blue' }, tierProgress: { qualifyingPoints: 0, pointsToNext: 500 } });
    await ledger.credit({ tenant: t.tenant, memberId: member, points: 499, type: 'EARN', idempotencyKey: randomUUID(), reference: 'a' });
    assert.equal((await tierOf()).tier.name, 'Blue');
    await ledger.credit({ tenant: t.tenant, memberId: member, points: 1, type: 'EARN', idempotencyKey: randomUUID(), reference: 'b' });
    assert.deepEqual(await tierOf(), { tier: { name: 'Silver' }, tierProgress: { qualifyingPoints: 500, pointsToNext: null } });
  });

  it('keeps the ledger append-only in the database itself', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await t.adjust(member, 5);
    await assert.rejects(sql('members', 'UPDATE ledger_entries SET points = 6 WHERE member_id = $1', [member]), /append-only/);
    await assert.rejects(sql('members', 'DELETE FROM ledger_entries WHERE member_id = $1', [member]), /append-only/);
  });

  it('refuses a credit past 2^31 − 1 as BAD_USER_INPUT on points, through the API and the internal route', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const max = 2 ** 31 - 1;
    for (let i = 0; i < 21; i++) assert.equal((await t.adjust(member, 100_000_000)).errors, undefined);
    const top = await t.adjust(member, max - 2_100_000_000);
    assert.equal(top.data?.adjustPoints.balanceAfter, max, JSON.stringify(top.errors));
    const over = await t.adjust(member, 1);
    assert.deepEqual(codes(over), ['BAD_USER_INPUT'], JSON.stringify(over));
    assert.equal(over.errors![0]!.extensions!.field, 'points');
    const ledger = createLedgerClient({ url: subgraphUrls.members, serviceSecret, service: 'test' });
    await assert.rejects(
      ledger.credit({ tenant: t.tenant, memberId: member, points: 1, type: 'EARN', idempotencyKey: randomUUID(), reference: 'over' }),
      (error: unknown) => error instanceof DomainError && error.code === 'BAD_USER_INPUT' && error.field === 'points',
    );
    // An activity that would earn past it is refused on the member it credits, and its budget released.
    const { createCampaign } = await ok<{ createCampaign: { id: string } }>(
      'mutation { createCampaign(input: { name: "Visit", rules: [{ name: "visit", trigger: PURCHASE, calculation: FIXED, points: 10 }], budget: { maxPoints: 100 } }) { id } }',
      {},
      { token: t.admin },
    );
    await ok('mutation($id: ID!) { activateCampaign(id: $id) { id } }', { id: createCampaign.id }, { token: t.admin });
    const earned = await gql('mutation($input: ActivityInput!) { recordActivity(input: $input) { pointsEarned } }', {
      input: { memberId: member, type: 'PURCHASE', amount: 100, idempotencyKey: randomUUID() },
    }, { token: t.admin });
    assert.deepEqual(earned.errors?.map((e) => [e.extensions?.code, e.extensions?.field]), [['BAD_USER_INPUT', 'memberId']], JSON.stringify(earned));
    const budget = await ok<{ campaign: { budget: { pointsIssued: number } } }>('query($id: ID!) { campaign(id: $id) { budget { pointsIssued } } }', { id: createCampaign.id }, { token: t.admin });
    assert.equal(budget.campaign.budget.pointsIssued, 0);
    // Spending makes room again; the ledger stays whole.
    assert.equal((await t.adjust(member, -10)).data?.adjustPoints.balanceAfter, max - 10);
    const [row] = await sql<{ balance: number; entries: string; lots: string }>(
      'members',
      `SELECT a.balance, (SELECT sum(points)::text FROM ledger_entries WHERE member_id = a.member_id) AS entries,
              (SELECT sum(remaining)::text FROM point_lots WHERE member_id = a.member_id) AS lots
       FROM point_accounts a WHERE a.member_id = $1`,
      [member],
    );
    assert.deepEqual(row, { balance: max - 10, entries: String(max - 10), lots: String(max - 10) });
  });
});
