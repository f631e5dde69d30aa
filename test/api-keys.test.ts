import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from '@jest/globals';
import { codes, gql, newTenant, ok } from './support/system';

// API keys through the gateway: each scope admits its calls and nothing else, keys are listed with
// their usage, and an expired key stops at its expiry.

type Tenant = Awaited<ReturnType<typeof newTenant>>;
interface CreatedKey {
  id: string;
  secret: string;
}

const CREATE_KEY = 'mutation($input: ApiKeyInput!) { createApiKey(input: $input) { apiKey { id scopes expiresAt lastUsedAt } secret } }';
const LIST_KEYS = '{ apiKeys { id name scopes createdAt revokedAt expiresAt lastUsedAt } }';
const RECORD = 'mutation($input: ActivityInput!) { recordActivity(input: $input) { pointsEarned transaction { points } } }';
const REDEEM = 'mutation($input: RedeemRewardInput!) { redeemReward(input: $input) { id status pointsSpent reward { name } } }';
const CATALOG = '{ rewards { totalCount } }';
const MEMBER = 'query($id: ID!) { member(id: $id) { id points { balance } tier { name } } }';

async function createKey(t: Tenant, scopes: string[], extra: Record<string, unknown> = {}): Promise<CreatedKey> {
  const data = await ok<{ createApiKey: { apiKey: { id: string }; secret: string } }>(CREATE_KEY, { input: { name: scopes.join(' '), scopes, ...extra } }, { token: t.admin });
  return { id: data.createApiKey.apiKey.id, secret: data.createApiKey.secret };
}

/** A member with 500 points, a reward of 100 and a campaign of 10 points per purchase. */
async function program(t: Tenant) {
  const member = await t.enroll();
  await t.adjust(member, 500);
  const reward = await ok<{ createReward: { id: string } }>(
    'mutation($input: RewardInput!) { createReward(input: $input) { id } }',
    { input: { name: 'Coffee', type: 'PRODUCT', costPoints: 100, stock: 10 } },
    { token: t.admin },
  );
  const campaign = await ok<{ createCampaign: { id: string } }>(
    'mutation($input: CampaignInput!) { createCampaign(input: $input) { id } }',
    { input: { name: 'Visit', rules: [{ name: 'visit', trigger: 'PURCHASE', calculation: 'FIXED', points: 10 }] } },
    { token: t.admin },
  );
  await ok('mutation($id: ID!) { activateCampaign(id: $id) { id } }', { id: campaign.createCampaign.id }, { token: t.admin });
  return { member, reward: reward.createReward.id };
}

describe('API keys', () => {
  it('admit each scope’s calls and nothing more', async () => {
    const t = await newTenant();
    const { member, reward } = await program(t);
    const purchase = () => ({ input: { memberId: member, type: 'PURCHASE', amount: 1000, idempotencyKey: randomUUID() } });
    const redemption = () => ({ input: { memberId: member, rewardId: reward, idempotencyKey: randomUUID() } });
    const keys = {
      catalog: await createKey(t, ['catalog:read']),
      members: await createKey(t, ['members:read']),
      activities: await createKey(t, ['activities:write']),
      redemptions: await createKey(t, ['redemptions:write']),
    };
    const as = (key: CreatedKey) => ({ apiKey: key.secret });

    // catalog:read: the catalog only.
    assert.deepEqual(codes(await gql(CATALOG, {}, as(keys.catalog))), []);
    assert.deepEqual(codes(await gql(MEMBER, { id: member }, as(keys.catalog))), ['FORBIDDEN']);
    assert.deepEqual(codes(await gql(RECORD, purchase(), as(keys.catalog))), ['FORBIDDEN']);

    // members:read: members, their points and tiers; no writes, no catalog.
    const read = await gql<{ member: { points: { balance: number } } }>(MEMBER, { id: member }, as(keys.members));
    assert.deepEqual(codes(read), []);
    assert.equal(read.data!.member.points.balance, 500);
    assert.deepEqual(codes(await gql('{ members { totalCount } }', {}, as(keys.members))), []);
    assert.deepEqual(codes(await gql(CATALOG, {}, as(keys.members))), ['FORBIDDEN']);
    assert.deepEqual(codes(await t.adjust(member, 5, randomUUID(), as(keys.members))), ['FORBIDDEN']);
    assert.deepEqual(codes(await gql(REDEEM, redemption(), as(keys.members))), ['FORBIDDEN']);

    // activities:write: record purchases and returns, see the transaction it made; read nothing else.
    const earned = await gql<{ recordActivity: { pointsEarned: number; transaction: { points: number } } }>(RECORD, purchase(), as(keys.activities));
    assert.deepEqual(codes(earned), []);
    assert.equal(earned.data!.recordActivity.transaction.points, 10);
    assert.deepEqual(codes(await gql(MEMBER, { id: member }, as(keys.activities))), ['FORBIDDEN']);
    assert.deepEqual(codes(await gql(REDEEM, redemption(), as(keys.activities))), ['FORBIDDEN']);

    // redemptions:write: redeem and read what it redeemed; not the member, not activities.
    const redeemed = await gql<{ redeemReward: { status: string; pointsSpent: number; reward: { name: string } } }>(REDEEM, redemption(), as(keys.redemptions));
    assert.deepEqual(codes(redeemed), []);
    assert.deepEqual(redeemed.data!.redeemReward, { ...redeemed.data!.redeemReward, status: 'COMPLETED', pointsSpent: 100, reward: { name: 'Coffee' } });
    assert.deepEqual(codes(await gql(RECORD, purchase(), as(keys.redemptions))), ['FORBIDDEN']);
    assert.deepEqual(codes(await gql(MEMBER, { id: member }, as(keys.redemptions))), ['FORBIDDEN']);

    // No key reaches staff operations, whatever its scopes.
    const all = await createKey(t, ['catalog:read', 'members:read', 'activities:write', 'redemptions:write']);
    assert.deepEqual(codes(await gql(LIST_KEYS, {}, as(all))), ['FORBIDDEN']);
    assert.deepEqual(codes(await gql(CREATE_KEY, { input: { name: 'escalate', scopes: ['members:read'] } }, as(all))), ['FORBIDDEN']);
    assert.deepEqual(codes(await t.adjust(member, 5, randomUUID(), as(all))), ['FORBIDDEN']);

    // The ledger saw exactly the allowed moves: 500 + 10 earned − 100 redeemed.
    assert.equal(await t.balance(member), 410);
  });

  it('are listed per tenant with their scopes, expiry and last use', async () => {
    const t = await newTenant();
    const other = await newTenant();
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const used = await createKey(t, ['catalog:read'], { expiresAt });
    const unused = await createKey(t, ['members:read']);
    await createKey(other, ['catalog:read']);

    await ok('{ rewards { totalCount } }', {}, { apiKey: used.secret });
    const { apiKeys } = await ok<{ apiKeys: { id: string; name: string; createdAt: string; scopes: string[]; expiresAt: string | null; lastUsedAt: string | null; revokedAt: string | null }[] }>(
      LIST_KEYS,
      {},
      { token: t.admin },
    );
    assert.deepEqual(apiKeys.map((k) => k.id), [unused.id, used.id], 'newest first, this tenant only');
    const [listedUnused, listedUsed] = apiKeys;
    assert.equal(listedUsed!.expiresAt, expiresAt);
    assert.ok(listedUsed!.lastUsedAt && Math.abs(Date.parse(listedUsed!.lastUsedAt) - Date.now()) < 600_000, 'marked used');
    assert.deepEqual(listedUnused, { id: unused.id, name: 'members:read', scopes: ['members:read'], createdAt: listedUnused!.createdAt, revokedAt: null, expiresAt: null, lastUsedAt: null });
  });

  it('refuses an expiry in the past and an unknown scope, and writes nothing', async () => {
    const t = await newTenant();
    const past = await gql(CREATE_KEY, { input: { name: 'late', scopes: ['catalog:read'], expiresAt: new Date(Date.now() - 1000).toISOString() } }, { token: t.admin });
    assert.deepEqual(codes(past), ['BAD_USER_INPUT']);
    assert.match(past.errors![0]!.message, /expiresAt/);
    const unknown = await gql(CREATE_KEY, { input: { name: 'wide', scopes: ['members:write'] } }, { token: t.admin });
    assert.deepEqual(codes(unknown), ['BAD_USER_INPUT']);
    assert.match(unknown.errors![0]!.message, /catalog:read, members:read, activities:write, redemptions:write/);
    assert.deepEqual((await ok<{ apiKeys: unknown[] }>(LIST_KEYS, {}, { token: t.admin })).apiKeys, []);
  });

  it('stop working at their expiry, not a cache period later', async () => {
    const t = await newTenant();
    const expiresAt = Date.now() + 3000;
    const key = await createKey(t, ['catalog:read'], { expiresAt: new Date(expiresAt).toISOString() });
    const until = (at: number) => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
    assert.deepEqual(codes(await gql(CATALOG, {}, { apiKey: key.secret })), []);
    // Verified again just before its expiry: a look-up cached for the full period would outlive it.
    await until(expiresAt - 400);
    assert.deepEqual(codes(await gql(CATALOG, {}, { apiKey: key.secret })), []);
    await until(expiresAt + 50);
    const refused = await gql(CATALOG, {}, { apiKey: key.secret });
    assert.deepEqual(codes(refused), ['UNAUTHENTICATED']);
    assert.equal(refused.status, 401);
  });
});
