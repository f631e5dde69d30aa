import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, it } from '@jest/globals';
import { faultyProxy, startService, waitFor as waitUntil, type Service } from './support/processes';
import { codes, gatewayCredential, gql, newTenant, ok, serviceSecret, sql, subgraphUrls, token, type Caller } from './support/system';

// Reward code pools: imported codes (coupons, gift cards) handed out one per redemption.

type Tenant = Awaited<ReturnType<typeof newTenant>>;

const ADD = 'mutation($rewardId: ID!, $codes: [String!]!) { addRewardCodes(rewardId: $rewardId, codes: $codes) { id codesAvailable } }';
const REDEEM = 'mutation($input: RedeemRewardInput!) { redeemReward(input: $input) { id status code pointsSpent } }';
const BY_CODE = 'query($code: String!) { redemptionByCode(code: $code) { id status code fulfilledAt } }';
const FULFIL = 'mutation($code: String!) { fulfilRedemption(code: $code, storeId: "store-1") { id code fulfilledAt } }';
const CANCEL = 'mutation($id: ID!) { cancelRedemption(id: $id) { id status } }';

async function reward(t: Tenant, input: Record<string, unknown> = {}): Promise<string> {
  const { createReward } = await ok<{ createReward: { id: string } }>(
    'mutation($input: RewardInput!) { createReward(input: $input) { id } }',
    { input: { name: 'Gift card', type: 'GIFT_CARD', costPoints: 100, ...input } },
    { token: t.admin },
  );
  return createReward.id;
}

const redeem = (memberId: string, rewardId: string, caller: Caller) =>
  gql<{ redeemReward: { id: string; status: string; code: string | null } }>(REDEEM, { input: { memberId, rewardId, idempotencyKey: randomUUID() } }, caller);

async function member(t: Tenant, points = 1000): Promise<string> {
  const id = await t.enroll();
  await t.adjust(id, points);
  return id;
}

const codesAvailable = async (t: Tenant, rewardId: string, caller: Caller = { token: t.admin }) =>
  (await ok<{ reward: { codesAvailable: number | null } }>('query($id: ID!) { reward(id: $id) { codesAvailable } }', { id: rewardId }, caller)).reward.codesAvailable;

const poolRows = async (rewardId: string) =>
  (await sql<{ n: number }>('rewards', 'SELECT count(*)::int AS n FROM reward_codes WHERE reward_id = $1', [rewardId]))[0]!.n;

const databases = JSON.parse(process.env.TEST_DATABASES ?? '{}') as Record<string, string>;

// A rewards replica reaching members through a proxy that can refuse debits; stopped after each test.
const stoppable: { stop?: () => Promise<void>; close?: () => Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(stoppable.splice(0).map((s) => (s.stop ? s.stop() : s.close!())));
});

async function replicaWithoutDebits() {
  const proxy = await faultyProxy(subgraphUrls.members, /\/internal\/ledger\/debit/);
  stoppable.push(proxy);
  const replica: Service = await startService('rewards', {
    DATABASE_URL: databases.rewards!,
    EVENT_BUS_URL: databases.events!,
    MEMBERS_URL: proxy.url,
    SERVICE_SECRET: serviceSecret,
    REDEMPTION_RECOVERY_INTERVAL_MS: '200',
    REDEMPTION_RECOVERY_AFTER_MS: '300',
  });
  stoppable.push(replica);
  return { proxy, url: `${replica.url}/graphql` };
}

describe('reward code pools', () => {
  it('hand out the imported codes in import order, and work at the till', async () => {
    const t = await newTenant();
    const rewardId = await reward(t);
    assert.equal(await codesAvailable(t, rewardId), null, 'no pool yet');
    const added = await ok<{ addRewardCodes: { id: string; codesAvailable: number } }>(ADD, { rewardId, codes: ['gift-0001-aaaa', 'GIFT-0002-BBBB', ' Gift 0003 CCCC '] }, { token: t.admin });
    assert.deepEqual(added.addRewardCodes, { id: rewardId, codesAvailable: 3 });

    const m = await member(t);
    const first = await redeem(m, rewardId, { token: t.admin });
    const second = await redeem(m, rewardId, { token: t.admin });
    assert.deepEqual(codes(first), []);
    assert.equal(first.data!.redeemReward.status, 'COMPLETED');
    // Handed out as imported (trimmed), oldest first.
    assert.equal(first.data!.redeemReward.code, 'gift-0001-aaaa');
    assert.equal(second.data!.redeemReward.code, 'GIFT-0002-BBBB');
    assert.equal(await codesAvailable(t, rewardId), 1);

    // A till types it in any case, with or without dashes and spaces.
    const found = await ok<{ redemptionByCode: { id: string; code: string } }>(BY_CODE, { code: 'GIFT0001AAAA' }, { token: t.admin });
    assert.equal(found.redemptionByCode.id, first.data!.redeemReward.id);
    const taken = await ok<{ fulfilRedemption: { id: string; code: string; fulfilledAt: string } }>(FULFIL, { code: 'gift 0001 AAAA' }, { token: t.admin });
    assert.equal(taken.fulfilRedemption.id, first.data!.redeemReward.id);
    assert.ok(taken.fulfilRedemption.fulfilledAt);
    assert.deepEqual(codes(await gql(FULFIL, { code: 'gift-0001-aaaa' }, { token: t.admin })), ['CONFLICT']);
    // A pool code not handed out yet belongs to no redemption.
    assert.equal((await ok<{ redemptionByCode: null }>(BY_CODE, { code: 'gift-0003-cccc' }, { token: t.admin })).redemptionByCode, null);
    assert.deepEqual(codes(await gql(FULFIL, { code: 'gift-0003-cccc' }, { token: t.admin })), ['NOT_FOUND']);

    // Another tenant's till finds nothing.
    const stranger = await token((await newTenant()).tenant, ['admin']);
    assert.equal((await ok<{ redemptionByCode: null }>(BY_CODE, { code: 'GIFT-0002-BBBB' }, { token: stranger })).redemptionByCode, null);

    // The audit entry counts the codes and never lists them.
    const audit = await sql<{ after: Record<string, unknown> }>('rewards', `SELECT after FROM audit_entries WHERE tenant = $1 AND action = 'addRewardCodes'`, [t.tenant]);
    assert.deepEqual(audit.map((a) => a.after), [{ codesAdded: 3 }]);
  });

  it('refuse with OUT_OF_STOCK once the pool is empty, whatever stock says, with nothing debited', async () => {
    const t = await newTenant();
    const rewardId = await reward(t, { stock: 100 });
    await ok(ADD, { rewardId, codes: ['ONLY-ONE'] }, { token: t.admin });
    const m = await member(t);
    assert.equal((await redeem(m, rewardId, { token: t.admin })).data!.redeemReward.code, 'ONLY-ONE');
    const refused = await redeem(m, rewardId, { token: t.admin });
    assert.deepEqual(codes(refused), ['OUT_OF_STOCK']);
    assert.equal(await t.balance(m), 900, 'one debit only');
    const [row] = await sql<{ n: number; stock: number }>(
      'rewards',
      `SELECT (SELECT count(*)::int FROM redemptions WHERE reward_id = $1) AS n, (SELECT stock FROM rewards WHERE id = $1) AS stock`,
      [rewardId],
    );
    assert.deepEqual(row, { n: 1, stock: 99 }, 'the refusal wrote nothing and took no stock');
    // Members are not offered it either.
    const available = await ok<{ member: { availableRewards: { id: string }[] } }>('query($id: ID!) { member(id: $id) { availableRewards { id } } }', { id: m }, { token: t.admin });
    assert.ok(!available.member.availableRewards.some((r) => r.id === rewardId));

    // Restocking the pool makes it redeemable again.
    await ok(ADD, { rewardId, codes: ['SECOND'] }, { token: t.admin });
    assert.equal((await redeem(m, rewardId, { token: t.admin })).data!.redeemReward.code, 'SECOND');
  });

  it('never reissue a cancelled redemption’s code; a failed one’s goes back to the pool', async () => {
    const t = await newTenant();
    const rewardId = await reward(t);
    await ok(ADD, { rewardId, codes: ['CODE-A', 'CODE-B'] }, { token: t.admin });
    const m = await member(t);
    const first = (await redeem(m, rewardId, { token: t.admin })).data!.redeemReward;
    assert.equal(first.code, 'CODE-A');
    assert.equal((await ok<{ cancelRedemption: { status: string } }>(CANCEL, { id: first.id }, { token: t.admin })).cancelRedemption.status, 'CANCELLED');
    assert.equal(await t.balance(m), 1000, 'refunded');
    assert.equal(await codesAvailable(t, rewardId), 1, 'the cancelled code stays out of the pool');
    // The cancelled code is not valid at a till.
    assert.deepEqual(codes(await gql(FULFIL, { code: 'CODE-A' }, { token: t.admin })), ['CONFLICT']);

    // Too few points: the ledger refuses, the redemption FAILS and its code goes back.
    const poor = await member(t, 50);
    assert.deepEqual(codes(await redeem(poor, rewardId, { token: t.admin })), ['INSUFFICIENT_POINTS']);
    assert.equal(await codesAvailable(t, rewardId), 1);

    const second = (await redeem(m, rewardId, { token: t.admin })).data!.redeemReward;
    assert.equal(second.code, 'CODE-B');
    assert.deepEqual(codes(await redeem(m, rewardId, { token: t.admin })), ['OUT_OF_STOCK']);
    const handedOut = await sql<{ code: string }>('rewards', `SELECT code FROM redemptions WHERE reward_id = $1 AND status IN ('COMPLETED', 'CANCELLED') ORDER BY created_at`, [rewardId]);
    assert.deepEqual(handedOut.map((r) => r.code), ['CODE-A', 'CODE-B']);
  });

  it('hold a PENDING redemption’s code until it settles: COMPLETED shows it, FAILED gives it back', async () => {
    const t = await newTenant();
    const rewardId = await reward(t);
    await ok(ADD, { rewardId, codes: ['HELD-1', 'HELD-2'] }, { token: t.admin });
    const rich = await member(t, 500);
    const doomed = await member(t, 500);
    const { proxy, url } = await replicaWithoutDebits();
    const pos = { headers: await gatewayCredential({ tenant: t.tenant, principal: 'pos', roles: ['integration'], scopes: [] }) };
    proxy.setMode('refuse');
    const reserve = (m: string) => gql<{ redeemReward: { id: string; status: string; code: string | null } }>(REDEEM, { input: { memberId: m, rewardId, idempotencyKey: randomUUID() } }, pos, url);
    const held = (await reserve(rich)).data!.redeemReward;
    const lost = (await reserve(doomed)).data!.redeemReward;
    await t.adjust(doomed, -500); // its debit will be refused once members answers
    assert.deepEqual([held.status, held.code, lost.status, lost.code], ['PENDING', null, 'PENDING', null], 'no code handed out while PENDING');
    assert.equal(await codesAvailable(t, rewardId), 0, 'both codes held');
    assert.deepEqual(codes(await redeem(rich, rewardId, { token: t.admin })), ['OUT_OF_STOCK']);

    proxy.setMode('pass');
    const status = async (id: string) => (await sql<{ status: string; code: string | null }>('rewards', 'SELECT status, code FROM redemptions WHERE id = $1', [id]))[0]!;
    assert.deepEqual(await waitUntil('the held redemption to complete', async () => ((await status(held.id)).status === 'COMPLETED' ? status(held.id) : undefined)), { status: 'COMPLETED', code: 'HELD-1' });
    await waitUntil('the doomed redemption to fail', async () => ((await status(lost.id)).status === 'FAILED' ? true : undefined));
    assert.equal(await codesAvailable(t, rewardId), 1, 'the failed redemption’s code is back');
    assert.equal((await redeem(rich, rewardId, { token: t.admin })).data!.redeemReward.code, 'HELD-2');
  });

  it('refuse duplicates and bad codes with BAD_USER_INPUT, writing nothing', async () => {
    const t = await newTenant();
    const rewardId = await reward(t);
    const other = await reward(t);
    await ok(ADD, { rewardId, codes: ['KEEP-1', 'KEEP-2'] }, { token: t.admin });

    const cases: [string[], string][] = [
      [['NEW-1', 'NEW-2', 'NEW-3', 'new 2'], 'codes.3'], // in the list (as a till would type it)
      [['NEW-1', 'keep-2'], 'codes.1'], // already in the tenant's pool
      [[], 'codes'],
      [['OK', '   '], 'codes.1'],
      [['x'.repeat(65)], 'codes.0'],
      [['OK', 'tab\there'], 'codes.1'],
      [['OK', 'naïve'], 'codes.1'],
      [Array.from({ length: 10_001 }, (_, i) => `C${i}`), 'codes'],
    ];
    for (const [list, field] of cases) {
      for (const target of [rewardId, other]) {
        const refused = await gql(ADD, { rewardId: target, codes: list }, { token: t.admin });
        assert.deepEqual(codes(refused), ['BAD_USER_INPUT'], `${field}: ${JSON.stringify(refused.errors)}`);
        assert.equal(refused.errors![0]!.extensions!.field, field);
      }
    }
    // A generated code already given out (as a till would type it) cannot be imported either.
    const plain = await reward(t);
    const given = (await redeem(await member(t), plain, { token: t.admin })).data!.redeemReward.code!;
    const clash = await gql(ADD, { rewardId: other, codes: ['NEW-1', given.replaceAll('-', '').toLowerCase()] }, { token: t.admin });
    assert.deepEqual(codes(clash), ['BAD_USER_INPUT']);
    assert.equal(clash.errors![0]!.extensions!.field, 'codes.1');
    assert.equal(await poolRows(rewardId), 2);
    assert.equal(await poolRows(other), 0);
    assert.equal(await codesAvailable(t, other), null, 'a refused import leaves no pool behind');

    // Another tenant may import the same codes.
    const t2 = await newTenant();
    const theirs = await reward(t2);
    await ok(ADD, { rewardId: theirs, codes: ['KEEP-1', 'KEEP-2'] }, { token: t2.admin });
    const m = await member(t2);
    assert.equal((await redeem(m, theirs, { token: t2.admin })).data!.redeemReward.code, 'KEEP-1');

    // A large import in one call.
    const many = Array.from({ length: 10_000 }, (_, i) => `BULK-${String(i).padStart(5, '0')}`);
    assert.equal((await ok<{ addRewardCodes: { codesAvailable: number } }>(ADD, { rewardId: other, codes: many }, { token: t.admin })).addRewardCodes.codesAvailable, 10_000);
  });

  it('are NOT_FOUND for an unknown or another tenant’s reward, and for admins and marketers only', async () => {
    const t = await newTenant();
    const other = await newTenant();
    const rewardId = await reward(t);
    const theirs = await reward(other);
    assert.deepEqual(codes(await gql(ADD, { rewardId: theirs, codes: ['X'] }, { token: t.admin })), ['NOT_FOUND']);
    assert.deepEqual(codes(await gql(ADD, { rewardId: randomUUID(), codes: ['X'] }, { token: t.admin })), ['NOT_FOUND']);
    assert.equal(await poolRows(theirs), 0);

    const marketer = await token(t.tenant, ['marketer']);
    assert.deepEqual(codes(await gql(ADD, { rewardId, codes: ['M-1'] }, { token: marketer })), []);
    assert.equal(await codesAvailable(t, rewardId, { token: marketer }), 1);
    for (const roles of [['agent'], ['integration']]) {
      const caller = { token: await token(t.tenant, roles) };
      assert.deepEqual(codes(await gql(ADD, { rewardId, codes: ['A-1'] }, caller)), ['FORBIDDEN']);
      const read = await gql('query($id: ID!) { reward(id: $id) { codesAvailable } }', { id: rewardId }, caller);
      assert.deepEqual(codes(read), ['FORBIDDEN'], 'codesAvailable is for those who import codes');
    }
    const m = await t.enroll();
    const memberToken = await token(t.tenant, ['member'], { memberId: m });
    assert.deepEqual(codes(await gql(ADD, { rewardId, codes: ['A-1'] }, { token: memberToken })), ['FORBIDDEN']);
    assert.equal(await poolRows(rewardId), 1);
  });

  it('give 10 distinct codes to 50 concurrent redemptions of a pool of 10, losing no points', async () => {
    const t = await newTenant();
    const rewardId = await reward(t);
    const pool = Array.from({ length: 10 }, (_, i) => `RACE-${i}`);
    await ok(ADD, { rewardId, codes: pool }, { token: t.admin });
    const members = await Promise.all(Array.from({ length: 25 }, () => member(t, 500)));
    // Two attempts per member, all at once: members race each other, and each member with itself.
    const results = await Promise.all(members.flatMap((m) => [redeem(m, rewardId, { token: t.admin }), redeem(m, rewardId, { token: t.admin })]));
    const outcomes = results.map((r) => codes(r)[0] ?? r.data!.redeemReward.status);
    assert.equal(outcomes.filter((o) => o === 'COMPLETED').length, 10, JSON.stringify(outcomes));
    assert.equal(outcomes.filter((o) => o === 'OUT_OF_STOCK').length, 40, JSON.stringify(outcomes));
    const handed = results.filter((r) => !r.errors).map((r) => r.data!.redeemReward.code!);
    assert.deepEqual([...handed].sort(), [...pool].sort(), '10 distinct pool codes');
    assert.equal(await codesAvailable(t, rewardId), 0);

    // In the databases: every COMPLETED redemption has exactly one debit, no debit without one, and balances are the ledger's sums.
    const redemptions = await sql<{ id: string; status: string; code: string }>('rewards', 'SELECT id, status, code FROM redemptions WHERE tenant = $1', [t.tenant]);
    assert.deepEqual(redemptions.map((r) => r.status), Array(10).fill('COMPLETED'));
    const taken = await sql<{ redemption_id: string; code: string }>('rewards', 'SELECT redemption_id, code FROM reward_codes WHERE reward_id = $1', [rewardId]);
    assert.deepEqual(new Map(taken.map((c) => [c.redemption_id, c.code])), new Map(redemptions.map((r) => [r.id, r.code])), 'each code taken by the redemption that shows it');
    const debits = await sql<{ reference: string; n: number }>('members', `SELECT reference, count(*)::int AS n FROM ledger_entries WHERE tenant = $1 AND type = 'REDEEM' GROUP BY reference`, [t.tenant]);
    assert.deepEqual(new Map(debits.map((d) => [d.reference, d.n])), new Map(redemptions.map((r) => [r.id, 1])));
    const accounts = await sql<{ member_id: string; balance: number; ledger: number }>(
      'members',
      `SELECT a.member_id, a.balance, (SELECT coalesce(sum(points), 0)::int FROM ledger_entries e WHERE e.member_id = a.member_id) AS ledger FROM point_accounts a WHERE a.tenant = $1`,
      [t.tenant],
    );
    assert.equal(accounts.length, 25);
    for (const a of accounts) assert.equal(a.balance, a.ledger, `member ${a.member_id}: balance = sum of its ledger entries`);
    assert.equal(accounts.reduce((sum, a) => sum + a.balance, 0), 25 * 500 - 10 * 100);
  });

  it('make an erased member’s pool codes untypeable and never reissued', async () => {
    const t = await newTenant();
    const rewardId = await reward(t);
    await ok(ADD, { rewardId, codes: ['ERASE-ME', 'NEXT'] }, { token: t.admin });
    const m = await member(t);
    assert.equal((await redeem(m, rewardId, { token: t.admin })).data!.redeemReward.code, 'ERASE-ME');
    await ok('mutation($id: ID!) { eraseMember(id: $id) { id } }', { id: m }, { token: t.admin });
    await waitFor(async () => (await sql<{ code: string }>('rewards', `SELECT code FROM reward_codes WHERE reward_id = $1 AND redemption_id IS NOT NULL`, [rewardId]))[0]?.code.startsWith('erased:'));
    assert.equal((await ok<{ redemptionByCode: null }>(BY_CODE, { code: 'ERASE-ME' }, { token: t.admin })).redemptionByCode, null);
    assert.equal(await codesAvailable(t, rewardId), 1);
    const n = await member(t);
    assert.equal((await redeem(n, rewardId, { token: t.admin })).data!.redeemReward.code, 'NEXT');
  });
});

async function waitFor(check: () => Promise<boolean | undefined>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out waiting for the erasure to reach rewards');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
