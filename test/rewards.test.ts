import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { faultyProxy, startService, waitFor, type Service } from './support/processes';
import { codes, gatewayCredential, gql, newTenant, ok, serviceSecret, sql, subgraphUrls, token, type Caller } from './support/system';

const CREATE = 'mutation($input: RewardInput!) { createReward(input: $input) { id stock } }';
const REDEEM = 'mutation($input: RedeemRewardInput!) { redeemReward(input: $input) { id status code pointsSpent } }';
const databases = JSON.parse(process.env.TEST_DATABASES ?? '{}') as Record<string, string>;

type Tenant = Awaited<ReturnType<typeof newTenant>>;

async function createReward(t: Tenant, input: Record<string, unknown>): Promise<string> {
  const data = await ok<{ createReward: { id: string } }>(CREATE, { input: { name: 'Coffee', type: 'PRODUCT', costPoints: 100, ...input } }, { token: t.admin });
  return data.createReward.id;
}

function redeem(memberId: string, rewardId: string, caller: Caller, idempotencyKey = randomUUID(), url?: string) {
  return gql<{ redeemReward: { id: string; status: string; code: string | null; pointsSpent: number } }>(
    REDEEM,
    { input: { memberId, rewardId, idempotencyKey, storeId: 'store-1' } },
    caller,
    url,
  );
}

/** Every COMPLETED redemption has exactly one debit; every debit a COMPLETED or CANCELLED redemption; stock adds up. */
async function assertInvariants(tenant: string, rewardId: string, initialStock: number | null) {
  const redemptions = await sql<{ id: string; status: string }>('rewards', 'SELECT id, status FROM redemptions WHERE tenant = $1 AND reward_id = $2', [tenant, rewardId]);
  const debits = await sql<{ reference: string; n: number }>(
    'members',
    `SELECT reference, count(*)::int AS n FROM ledger_entries WHERE tenant = $1 AND type = 'REDEEM' GROUP BY reference`,
    [tenant],
  );
  const debitsByRedemption = new Map(debits.map((d) => [d.reference, d.n]));
  const status = new Map(redemptions.map((r) => [r.id, r.status]));
  for (const r of redemptions.filter((r) => r.status === 'COMPLETED' || r.status === 'CANCELLED')) {
    assert.equal(debitsByRedemption.get(r.id), 1, `redemption ${r.id} has exactly one debit`);
  }
  for (const d of debits) {
    if (!status.has(d.reference)) continue; // another reward of the tenant
    assert.ok(['COMPLETED', 'CANCELLED'].includes(status.get(d.reference)!), `debit for ${d.reference} belongs to a completed redemption`);
  }
  assert.equal(redemptions.filter((r) => r.status === 'PENDING').length, 0, 'nothing left pending');
  if (initialStock !== null) {
    const [{ stock }] = (await sql<{ stock: number }>('rewards', 'SELECT stock FROM rewards WHERE id = $1', [rewardId])) as [{ stock: number }];
    assert.equal(stock + redemptions.filter((r) => r.status === 'COMPLETED').length, initialStock, 'stock + completed = initial stock');
  }
}

const replicas: Service[] = [];
after(async () => {
  await Promise.all(replicas.map((replica) => replica.stop()));
});

describe('rewards and redemption', () => {
  it('gives exactly 10 of 30 concurrent redemptions of a reward with stock 10, with distinct codes', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await t.adjust(member, 10_000);
    const reward = await createReward(t, { stock: 10, costPoints: 250 });
    const results = await Promise.all(Array.from({ length: 30 }, () => redeem(member, reward, { token: t.admin })));
    const completed = results.filter((r) => r.data?.redeemReward.status === 'COMPLETED');
    assert.equal(completed.length, 10);
    assert.equal(results.filter((r) => codes(r)[0] === 'OUT_OF_STOCK').length, 20);
    const codesSeen = completed.map((r) => r.data!.redeemReward.code!);
    assert.equal(new Set(codesSeen).size, 10);
    assert.ok(codesSeen.every((code) => /^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/.test(code)), codesSeen.join());
    assert.equal(await t.balance(member), 10_000 - 10 * 250);
    await assertInvariants(t.tenant, reward, 10);
  });

  it('lets exactly 3 of 10 concurrent 1000-point redemptions through on a balance of 3500', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await t.adjust(member, 3500);
    const reward = await createReward(t, { costPoints: 1000 });
    const results = await Promise.all(Array.from({ length: 10 }, () => redeem(member, reward, { token: t.admin })));
    assert.equal(results.filter((r) => r.data?.redeemReward.status === 'COMPLETED').length, 3);
    assert.ok(results.filter((r) => r.errors).every((r) => codes(r)[0] === 'INSUFFICIENT_POINTS'));
    assert.equal(await t.balance(member), 500);
    await assertInvariants(t.tenant, reward, null);
  });

  it('replays the same key as the same redemption, refuses it for another input, and refunds a cancellation once', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await t.adjust(member, 1000);
    const reward = await createReward(t, { stock: 5, costPoints: 300 });
    const other = await createReward(t, { costPoints: 10 });
    const key = randomUUID();
    const first = await redeem(member, reward, { token: t.admin }, key);
    const again = await redeem(member, reward, { token: t.admin }, key);
    assert.deepEqual(again.data, first.data);
    assert.deepEqual(codes(await redeem(member, other, { token: t.admin }, key)), ['IDEMPOTENCY_CONFLICT']);
    assert.equal(await t.balance(member), 700);

    const id = first.data!.redeemReward.id;
    const cancel = 'mutation($id: ID!) { cancelRedemption(id: $id, reason: "changed mind") { status } }';
    const cancels = await Promise.all([gql(cancel, { id }, { token: t.admin }), gql(cancel, { id }, { token: t.admin })]);
    assert.ok(cancels.every((c) => c.data?.cancelRedemption.status === 'CANCELLED'), JSON.stringify(cancels));
    assert.equal((await ok<{ cancelRedemption: { status: string } }>(cancel, { id }, { token: t.admin })).cancelRedemption.status, 'CANCELLED');
    assert.equal(await t.balance(member), 1000);
    const reversals = await sql<{ n: number }>('members', `SELECT count(*)::int AS n FROM ledger_entries WHERE reference = $1 AND type = 'REVERSAL'`, [id]);
    assert.equal(reversals[0]!.n, 1);
    const [{ stock }] = (await sql<{ stock: number }>('rewards', 'SELECT stock FROM rewards WHERE id = $1', [reward])) as [{ stock: number }];
    assert.equal(stock, 5);
  });

  it('fails each gate with its code and changes nothing', async () => {
    const t = await newTenant();
    await ok('mutation { upsertTier(input: { name: "Gold", rank: 2, qualifyingPoints: 5000, earnMultiplier: 2 }) { id } }', {}, { token: t.admin });
    const member = await t.enroll();
    await t.adjust(member, 5000);
    const hour = 3_600_000;
    const gold = await createReward(t, { minTierRank: 2, stock: 3 });
    const inactive = await createReward(t, { active: false, stock: 3 });
    const future = await createReward(t, { validFrom: new Date(Date.now() + hour).toISOString(), stock: 3 });
    const past = await createReward(t, { validFrom: new Date(Date.now() - 2 * hour).toISOString(), validUntil: new Date(Date.now() - hour).toISOString(), stock: 3 });
    const once = await createReward(t, { limitPerMember: 1, stock: 3 });
    const pricey = await createReward(t, { costPoints: 5001, stock: 3 });
    assert.deepEqual(codes(await redeem(member, gold, { token: t.admin })), ['NOT_ELIGIBLE']);
    assert.deepEqual(codes(await redeem(member, inactive, { token: t.admin })), ['REWARD_UNAVAILABLE']);
    assert.deepEqual(codes(await redeem(member, future, { token: t.admin })), ['REWARD_UNAVAILABLE']);
    assert.deepEqual(codes(await redeem(member, past, { token: t.admin })), ['REWARD_UNAVAILABLE']);
    assert.deepEqual(codes(await redeem(member, pricey, { token: t.admin })), ['INSUFFICIENT_POINTS']);
    assert.equal((await redeem(member, once, { token: t.admin })).data?.redeemReward.status, 'COMPLETED');
    assert.deepEqual(codes(await redeem(member, once, { token: t.admin })), ['NOT_ELIGIBLE']);
    assert.deepEqual(codes(await redeem(member, randomUUID(), { token: t.admin })), ['NOT_FOUND']);
    assert.deepEqual(codes(await redeem(randomUUID(), once, { token: t.admin })), ['NOT_FOUND']);
    await ok('mutation($id: ID!) { updateMember(id: $id, input: { status: SUSPENDED }) { id } }', { id: member }, { token: t.admin });
    assert.deepEqual(codes(await redeem(member, pricey, { token: t.admin })), ['NOT_ELIGIBLE']);
    assert.equal(await t.balance(member), 4900);
    const stocks = await sql<{ stock: number }>('rewards', 'SELECT stock FROM rewards WHERE tenant = $1 AND id <> $2', [t.tenant, once]);
    assert.ok(stocks.every((r) => r.stock === 3));
    const [{ n }] = (await sql<{ n: number }>('rewards', `SELECT count(*)::int AS n FROM redemptions WHERE tenant = $1`, [t.tenant])) as [{ n: number }];
    assert.equal(n, 1);
  });

  it('refuses bad catalog input, naming the field', async () => {
    const t = await newTenant();
    const cases: [Record<string, unknown>, string][] = [
      [{ costPoints: -5 }, 'costPoints'],
      [{ stock: -1 }, 'stock'],
      [{ validFrom: '2026-02-01T00:00:00Z', validUntil: '2026-01-01T00:00:00Z' }, 'validUntil'],
      [{ name: '' }, 'name'],
    ];
    for (const [input, field] of cases) {
      const result = await gql(CREATE, { input: { name: 'X', type: 'PRODUCT', costPoints: 10, ...input } }, { token: t.admin });
      assert.deepEqual(codes(result), ['BAD_USER_INPUT'], JSON.stringify(result));
      assert.equal(result.errors![0]!.extensions!.field, field);
    }
    const update = await gql('mutation($id: ID!) { updateReward(id: $id, input: { name: "X", type: PRODUCT, costPoints: 1 }) { id } }', { id: randomUUID() }, { token: t.admin });
    assert.deepEqual(codes(update), ['NOT_FOUND']);
    const [{ n }] = (await sql<{ n: number }>('rewards', 'SELECT count(*)::int AS n FROM rewards WHERE tenant = $1', [t.tenant])) as [{ n: number }];
    assert.equal(n, 0);
  });

  it('lets a member redeem for itself only, and shows its redemptions and what it can afford', async () => {
    const t = await newTenant();
    const [me, other] = [await t.enroll(), await t.enroll()];
    await t.adjust(me, 600);
    const cheap = await createReward(t, { costPoints: 200, name: 'Cheap' });
    await createReward(t, { costPoints: 10_000, name: 'Dear' });
    const memberToken = await token(t.tenant, ['member'], { memberId: me });
    assert.deepEqual(codes(await redeem(other, cheap, { token: memberToken })), ['FORBIDDEN']);
    const mine = await redeem(me, cheap, { token: memberToken });
    assert.equal(mine.data?.redeemReward.status, 'COMPLETED');
    assert.deepEqual(codes(await gql('mutation($id: ID!) { cancelRedemption(id: $id) { id } }', { id: mine.data!.redeemReward.id }, { token: memberToken })), ['FORBIDDEN']);
    const view = await ok<{ me: { points: { balance: number }; availableRewards: { name: string }[]; redemptions: { totalCount: number; edges: { node: { status: string; reward: { name: string }; member: { id: string; email: string } } }[] } } }>(
      '{ me { points { balance } availableRewards { name } redemptions { totalCount edges { node { status reward { name } member { id email } } } } } }',
      {},
      { token: memberToken },
    );
    assert.equal(view.me.points.balance, 400);
    assert.deepEqual(view.me.availableRewards.map((r) => r.name), ['Cheap']);
    assert.equal(view.me.redemptions.totalCount, 1);
    assert.equal(view.me.redemptions.edges[0]!.node.reward.name, 'Cheap');
    assert.equal(view.me.redemptions.edges[0]!.node.member.id, me);
  });

  it('shows each tenant only its own catalog, also to partner keys', async () => {
    const a = await newTenant();
    const b = await newTenant();
    await createReward(a, { name: 'Only in A' });
    const key = await ok<{ createApiKey: { secret: string } }>('mutation { createApiKey(input: { name: "p", scopes: ["catalog:read"] }) { secret } }', {}, { token: b.admin });
    for (const caller of [{ token: b.admin }, { apiKey: key.createApiKey.secret }]) {
      const catalog = await ok<{ rewards: { totalCount: number } }>('{ rewards(first: 50) { totalCount edges { node { name } } } }', {}, caller);
      assert.equal(catalog.rewards.totalCount, 0);
    }
    const ofA = await ok<{ rewards: { edges: { node: { name: string } }[] } }>('{ rewards(first: 50) { edges { node { name } } } }', {}, { token: a.admin });
    assert.deepEqual(ofA.rewards.edges.map((e) => e.node.name), ['Only in A']);
  });

  it('settles a redemption whose debit was lost or never made, once members is reachable again', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await t.adjust(member, 1000);
    const reward = await createReward(t, { stock: 5, costPoints: 100 });
    // A second rewards replica that reaches members through a proxy we can break.
    const proxy = await faultyProxy(subgraphUrls.members, /\/internal\/ledger\/debit/);
    const replica = await startService('rewards', {
      DATABASE_URL: databases.rewards!,
      EVENT_BUS_URL: databases.events!,
      MEMBERS_URL: proxy.url,
      SERVICE_SECRET: serviceSecret,
      REDEMPTION_RECOVERY_INTERVAL_MS: '200',
      REDEMPTION_RECOVERY_AFTER_MS: '300',
    });
    replicas.push(replica);
    const caller = { headers: await gatewayCredential({ tenant: t.tenant, principal: 'pos', roles: ['integration'], scopes: [] }) };
    const status = async (id: string) =>
      (await gql<{ redemption: { status: string; code: string | null } }>('query($id: ID!) { redemption(id: $id) { status code } }', { id }, caller, `${replica.url}/graphql`)).data!.redemption;
    const settled = (id: string) =>
      waitFor(`redemption ${id} to leave PENDING`, async () => {
        const current = await status(id);
        return current.status !== 'PENDING' && current;
      });

    // 1. The debit never reaches members: PENDING, stock taken, no points moved.
    proxy.setMode('refuse');
    const refused = await redeem(member, reward, caller, randomUUID(), `${replica.url}/graphql`);
    assert.equal(refused.data?.redeemReward.status, 'PENDING', JSON.stringify(refused));
    assert.equal(await t.balance(member), 1000);
    // 2. The debit reaches members but the answer is lost: members moved the points.
    proxy.setMode('lose-response');
    const lost = await redeem(member, reward, caller, randomUUID(), `${replica.url}/graphql`);
    assert.equal(lost.data?.redeemReward.status, 'PENDING');
    assert.equal(await t.balance(member), 900);
    // Members is reachable again: recovery settles both, each with exactly one debit.
    proxy.setMode('pass');
    const first = await settled(refused.data!.redeemReward.id);
    const second = await settled(lost.data!.redeemReward.id);
    assert.equal(first.status, 'COMPLETED');
    assert.equal(second.status, 'COMPLETED');
    assert.ok(first.code && second.code);
    assert.equal(await t.balance(member), 800);

    // 3. Pending again, and the member can no longer pay by the time members answers: FAILED, stock back.
    proxy.setMode('refuse');
    const doomed = await redeem(member, reward, caller, randomUUID(), `${replica.url}/graphql`);
    assert.equal(doomed.data?.redeemReward.status, 'PENDING');
    await t.adjust(member, -800);
    proxy.setMode('pass');
    assert.equal((await settled(doomed.data!.redeemReward.id)).status, 'FAILED');
    assert.equal(await t.balance(member), 0);
    await assertInvariants(t.tenant, reward, 5);
    await proxy.close();
  });
});
