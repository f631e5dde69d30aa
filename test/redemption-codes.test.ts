import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from '@jest/globals';
import { codes, gql, newTenant, ok, sql, token } from './support/system';

// The point-of-sale flow: a member redeems, a till looks the code up and takes it, once.

type Tenant = Awaited<ReturnType<typeof newTenant>>;
interface Redeemed {
  id: string;
  code: string;
  codeExpiresAt: string | null;
}

const FIELDS = 'id status code codeExpiresAt fulfilledAt fulfilledStoreId pointsSpent reward { name }';
const BY_CODE = `query($code: String!) { redemptionByCode(code: $code) { ${FIELDS} } }`;
const FULFIL = `mutation($code: String!, $storeId: String) { fulfilRedemption(code: $code, storeId: $storeId) { ${FIELDS} } }`;

/** A member with 1,000 points who redeemed a reward whose codes are valid for `codeValidDays`. */
async function redeemed(t: Tenant, codeValidDays: number | null = 30): Promise<Redeemed & { member: string }> {
  const member = await t.enroll();
  await t.adjust(member, 1000);
  const reward = await ok<{ createReward: { id: string } }>(
    'mutation($input: RewardInput!) { createReward(input: $input) { id codeValidDays } }',
    { input: { name: 'Cinema ticket', type: 'PRODUCT', costPoints: 300, codeValidDays } },
    { token: t.admin },
  );
  const { redeemReward } = await ok<{ redeemReward: Redeemed }>(
    'mutation($input: RedeemRewardInput!) { redeemReward(input: $input) { id code codeExpiresAt } }',
    { input: { memberId: member, rewardId: reward.createReward.id, idempotencyKey: randomUUID() } },
    { token: t.admin },
  );
  return { ...redeemReward, member };
}

/** A till's key: it may look codes up and take them, and nothing else. */
async function till(t: Tenant): Promise<string> {
  const { createApiKey } = await ok<{ createApiKey: { secret: string } }>(
    'mutation { createApiKey(input: { name: "till 1", scopes: ["redemptions:write"] }) { secret } }',
    {},
    { token: t.admin },
  );
  return createApiKey.secret;
}

const fulfilledEvents = async (redemptionId: string) =>
  (await sql<{ n: number }>('rewards', `SELECT count(*)::int AS n FROM outbox WHERE type = 'REDEMPTION_FULFILLED' AND payload->>'redemptionId' = $1`, [redemptionId]))[0]!.n;

describe('redemption codes at the till', () => {
  it('are looked up as typed, taken once, and then cannot be cancelled', async () => {
    const t = await newTenant();
    const redemption = await redeemed(t, 30);
    const apiKey = await till(t);
    const expires = Date.parse(redemption.codeExpiresAt!);
    assert.ok(Math.abs(expires - (Date.now() + 30 * 86_400_000)) < 600_000, `codeExpiresAt ${redemption.codeExpiresAt} is 30 days out`);

    // As a cashier might type it: lower case, no dashes.
    const typed = redemption.code.replaceAll('-', '').toLowerCase();
    const found = await ok<{ redemptionByCode: { id: string; status: string; fulfilledAt: string | null; reward: { name: string } } }>(BY_CODE, { code: typed }, { apiKey });
    assert.deepEqual(found.redemptionByCode, { ...found.redemptionByCode, id: redemption.id, status: 'COMPLETED', fulfilledAt: null, reward: { name: 'Cinema ticket' } });

    const taken = await ok<{ fulfilRedemption: { fulfilledAt: string; fulfilledStoreId: string; code: string } }>(FULFIL, { code: typed, storeId: 'store-9' }, { apiKey });
    assert.ok(taken.fulfilRedemption.fulfilledAt);
    assert.equal(taken.fulfilRedemption.fulfilledStoreId, 'store-9');
    assert.equal(taken.fulfilRedemption.code, redemption.code);

    const again = await gql(FULFIL, { code: redemption.code }, { apiKey });
    assert.deepEqual(codes(again), ['CONFLICT']);
    assert.match(again.errors![0]!.message, /already used/);
    assert.equal(await fulfilledEvents(redemption.id), 1, 'one REDEMPTION_FULFILLED event');

    // The reward was handed over: no refund any more, and the points stay spent.
    const cancel = await gql('mutation($id: ID!) { cancelRedemption(id: $id) { id } }', { id: redemption.id }, { token: t.admin });
    assert.deepEqual(codes(cancel), ['CONFLICT']);
    assert.equal(await t.balance(redemption.member), 700);
  });

  it('are taken exactly once when tills race for the same code', async () => {
    const t = await newTenant();
    const redemption = await redeemed(t);
    const apiKey = await till(t);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => gql(FULFIL, { code: redemption.code, storeId: `store-${i}` }, { apiKey })));
    const outcomes = results.map((r) => codes(r)[0] ?? 'OK').sort();
    assert.deepEqual(outcomes, ['CONFLICT', 'CONFLICT', 'CONFLICT', 'CONFLICT', 'CONFLICT', 'CONFLICT', 'CONFLICT', 'CONFLICT', 'CONFLICT', 'OK']);
    assert.equal(await fulfilledEvents(redemption.id), 1);
  });

  it('are invisible to other tenants and refused when cancelled or expired', async () => {
    const t = await newTenant();
    const other = await newTenant();
    const redemption = await redeemed(t);
    const stranger = await token(other.tenant, ['admin']);
    assert.equal((await ok<{ redemptionByCode: null }>(BY_CODE, { code: redemption.code }, { token: stranger })).redemptionByCode, null);
    assert.deepEqual(codes(await gql(FULFIL, { code: redemption.code }, { token: stranger })), ['NOT_FOUND']);
    assert.deepEqual(codes(await gql(FULFIL, { code: 'not a code' }, { token: t.admin })), ['NOT_FOUND']);

    const cancelled = await redeemed(t);
    await ok('mutation($id: ID!) { cancelRedemption(id: $id) { id } }', { id: cancelled.id }, { token: t.admin });
    const refused = await gql(FULFIL, { code: cancelled.code }, { token: t.admin });
    assert.deepEqual(codes(refused), ['CONFLICT']);
    assert.match(refused.errors![0]!.message, /cancelled/);

    // Time passing, without waiting 30 days: the code's validity is moved to a minute ago.
    const expired = await redeemed(t);
    await sql('rewards', `UPDATE redemptions SET code_expires_at = now() - interval '1 minute' WHERE id = $1`, [expired.id]);
    const late = await gql(FULFIL, { code: expired.code }, { token: t.admin });
    assert.deepEqual(codes(late), ['REWARD_UNAVAILABLE']);
    assert.equal((await sql<{ fulfilled_at: Date | null }>('rewards', 'SELECT fulfilled_at FROM redemptions WHERE id = $1', [expired.id]))[0]!.fulfilled_at, null);

    // Without codeValidDays a code is valid until used.
    assert.equal((await redeemed(t, null)).codeExpiresAt, null);
  });

  it('cannot be enumerated: unknown codes are rate-limited per caller', async () => {
    const t = await newTenant();
    const redemption = await redeemed(t);
    const apiKey = await till(t);
    const guess = () => `${randomUUID().replace(/[^a-hj-km-np-z2-9]/gi, '').slice(0, 12).padEnd(12, 'A')}`;
    for (let i = 0; i < 20; i++) assert.equal((await ok<{ redemptionByCode: null }>(BY_CODE, { code: guess() }, { apiKey })).redemptionByCode, null);
    assert.deepEqual(codes(await gql(BY_CODE, { code: guess() }, { apiKey })), ['RATE_LIMITED']);
    assert.deepEqual(codes(await gql(FULFIL, { code: guess() }, { apiKey })), ['RATE_LIMITED']);
    // A real code still works for that caller, and another caller has its own budget.
    assert.equal((await ok<{ redemptionByCode: { id: string } }>(BY_CODE, { code: redemption.code }, { apiKey })).redemptionByCode.id, redemption.id);
    assert.equal((await ok<{ redemptionByCode: null }>(BY_CODE, { code: guess() }, { token: t.admin })).redemptionByCode, null);
  });

  it('refuses codeValidDays out of range and other roles', async () => {
    const t = await newTenant();
    for (const codeValidDays of [0, 3651]) {
      const refused = await gql('mutation($input: RewardInput!) { createReward(input: $input) { id } }', { input: { name: 'x', type: 'PRODUCT', costPoints: 1, codeValidDays } }, { token: t.admin });
      assert.deepEqual(codes(refused), ['BAD_USER_INPUT']);
    }
    const redemption = await redeemed(t);
    const marketer = await token(t.tenant, ['marketer']);
    assert.deepEqual(codes(await gql(FULFIL, { code: redemption.code }, { token: marketer })), ['FORBIDDEN']);
    const member = await token(t.tenant, ['member'], { memberId: redemption.member });
    assert.deepEqual(codes(await gql(FULFIL, { code: redemption.code }, { token: member })), ['FORBIDDEN']);
    assert.equal((await sql<{ fulfilled_at: Date | null }>('rewards', 'SELECT fulfilled_at FROM redemptions WHERE id = $1', [redemption.id]))[0]!.fulfilled_at, null);
  });
});
