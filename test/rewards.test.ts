import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { afterEach, describe, it } from '@jest/globals';
import { faultyProxy, startService, waitFor, type Service } from './support/processes';
import { codes, gatewayCredential, gql, newTenant, ok, serviceSecret, sql, subgraphUrls, token, type Caller } from './support/system';

const CREATE = 'mutation($input: RewardInput!) { createReward(input: $input) { id stock } }';
const REDEEM = 'mutation($input: RedeemRewardInput!) { redeemReward(input: $input) { id status code pointsSpent } }';
const CANCEL = 'mutation($id: ID!) { cancelRedemption(id: $id, reason: "changed mind") { id status code } }';
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

/**
 * Every COMPLETED redemption has exactly one debit; every debit a COMPLETED or CANCELLED redemption;
 * every CANCELLED one exactly one reversal and every reversal a CANCELLED one; stock adds up.
 */
async function assertInvariants(tenant: string, rewardId: string, initialStock: number | null) {
  const redemptions = await sql<{ id: string; status: string }>('rewards', 'SELECT id, status FROM redemptions WHERE tenant = $1 AND reward_id = $2', [tenant, rewardId]);
  const reversals = await sql<{ reference: string; n: number }>(
    'members',
    `SELECT reference, count(*)::int AS n FROM ledger_entries WHERE tenant = $1 AND type = 'REVERSAL' GROUP BY reference`,
    [tenant],
  );
  const reversalsByRedemption = new Map(reversals.map((r) => [r.reference, r.n]));
  for (const r of redemptions) {
    assert.equal(reversalsByRedemption.get(r.id) ?? 0, r.status === 'CANCELLED' ? 1 : 0, `redemption ${r.id} (${r.status}) has ${r.status === 'CANCELLED' ? 'exactly one' : 'no'} reversal`);
  }
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
  assert.equal(redemptions.filter((r) => r.status === 'PENDING' || r.status === 'CANCELLING').length, 0, 'nothing left pending or half cancelled');
  if (initialStock !== null) {
    const [{ stock }] = (await sql<{ stock: number }>('rewards', 'SELECT stock FROM rewards WHERE id = $1', [rewardId])) as [{ stock: number }];
    assert.equal(stock + redemptions.filter((r) => r.status === 'COMPLETED').length, initialStock, 'stock + completed = initial stock');
  }
}

// Replicas share the rewards database: one left running would recover what the next test breaks on purpose.
const replicas: Service[] = [];
const proxies: Awaited<ReturnType<typeof faultyProxy>>[] = [];
afterEach(async () => {
  await Promise.all(replicas.splice(0).map((replica) => replica.stop()));
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

/** A members proxy we can break, stopped when the file ends (also when a test fails). */
async function membersProxy(faulty: RegExp) {
  const proxy = await faultyProxy(subgraphUrls.members, faulty);
  proxies.push(proxy);
  return proxy;
}

/** One more rewards replica reaching members at `membersUrl`; its recovery job looks every 200 ms at what is older than `recoverAfterMs`. */
async function rewardsReplica(membersUrl: string, recoverAfterMs = 300): Promise<Service> {
  const replica = await startService('rewards', {
    DATABASE_URL: databases.rewards!,
    EVENT_BUS_URL: databases.events!,
    MEMBERS_URL: membersUrl,
    SERVICE_SECRET: serviceSecret,
    REDEMPTION_RECOVERY_INTERVAL_MS: '200',
    REDEMPTION_RECOVERY_AFTER_MS: String(recoverAfterMs),
  });
  replicas.push(replica);
  return replica;
}


const storedStatus = async (id: string) => (await sql<{ status: string; failure_code: string | null }>('rewards', 'SELECT status, failure_code FROM redemptions WHERE id = $1', [id]))[0]!;
const stockOf = async (rewardId: string) => (await sql<{ stock: number }>('rewards', 'SELECT stock FROM rewards WHERE id = $1', [rewardId]))[0]!.stock;
const reversalsOf = async (id: string) =>
  (await sql<{ n: number }>('members', `SELECT count(*)::int AS n FROM ledger_entries WHERE reference = $1 AND type = 'REVERSAL'`, [id]))[0]!.n;

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
    const cancelOnce = () => gql<{ cancelRedemption: { status: string } }>(cancel, { id }, { token: t.admin });
    const cancels = await Promise.all([cancelOnce(), cancelOnce()]);
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
    assert.deepEqual(codes(await gql('mutation($id: ID!) { cancelRedemption(id: $id) { id } }', { id: mine.data.redeemReward.id }, { token: memberToken })), ['FORBIDDEN']);
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

  it('keeps a scarce reward for a member who can pay while another floods it with redemptions it cannot afford', async () => {
    const t = await newTenant();
    const flood = async (url?: string, caller: Caller = { token: t.admin }) => {
      const [poor, rich] = [await t.enroll(), await t.enroll()];
      await t.adjust(poor, 100);
      await t.adjust(rich, 10_000);
      const reward = await createReward(t, { stock: 3, costPoints: 100 });
      const ofPoor = await Promise.all(Array.from({ length: 12 }, () => redeem(poor, reward, caller, randomUUID(), url)));
      const ofRich = await Promise.all(Array.from({ length: 2 }, () => redeem(rich, reward, caller, randomUUID(), url)));
      return { poor, rich, reward, ofPoor, ofRich };
    };
    const outcome = (r: Awaited<ReturnType<typeof redeem>>) => r.data?.redeemReward.status ?? codes(r).join();
    const assertSettled = async ({ poor, rich, reward }: { poor: string; rich: string; reward: string }) => {
      assert.equal(await t.balance(poor), 0);
      assert.equal(await t.balance(rich), 9800);
      assert.equal(await stockOf(reward), 0);
      const failed = await sql<{ n: number }>('rewards', `SELECT count(*)::int AS n FROM redemptions WHERE reward_id = $1 AND status = 'FAILED'`, [reward]);
      assert.equal(failed[0]!.n, 0, 'no attempt took stock it could not pay for');
      await assertInvariants(t.tenant, reward, 3);
    };

    // Through the gateway, the flood and the other member's redemptions at once.
    const [poor, rich] = [await t.enroll(), await t.enroll()];
    await t.adjust(poor, 100);
    await t.adjust(rich, 10_000);
    const reward = await createReward(t, { stock: 3, costPoints: 100 });
    const results = await Promise.all([
      ...Array.from({ length: 12 }, () => redeem(poor, reward, { token: t.admin })),
      ...Array.from({ length: 2 }, () => redeem(rich, reward, { token: t.admin })),
    ]);
    assert.deepEqual(results.slice(12).map(outcome), ['COMPLETED', 'COMPLETED'], JSON.stringify(results.slice(12)));
    const ofPoor = results.slice(0, 12).map(outcome);
    assert.equal(ofPoor.filter((o) => o === 'COMPLETED').length, 1, ofPoor.join());
    // The rest are refused before they take stock (out of stock only once the other member emptied it).
    assert.ok(ofPoor.every((o) => ['COMPLETED', 'INSUFFICIENT_POINTS', 'OUT_OF_STOCK'].includes(o)), ofPoor.join());
    await assertSettled({ poor, rich, reward });

    // While the debits wait for members, the flood's reservations would hold the stock for as long.
    const proxy = await membersProxy(/\/internal\/ledger\/debit/);
    const replica = await rewardsReplica(proxy.url);
    const pos = { headers: await gatewayCredential({ tenant: t.tenant, principal: 'pos', roles: ['integration'], scopes: [] }) };
    proxy.setMode('refuse');
    const slow = await flood(`${replica.url}/graphql`, pos);
    assert.deepEqual(slow.ofPoor.map(outcome).sort(), [...Array<string>(11).fill('INSUFFICIENT_POINTS'), 'PENDING'], JSON.stringify(slow.ofPoor.map(outcome)));
    assert.deepEqual(slow.ofRich.map(outcome), ['PENDING', 'PENDING'], JSON.stringify(slow.ofRich));
    proxy.setMode('pass');
    for (const r of [...slow.ofPoor, ...slow.ofRich].filter((r) => r.data)) {
      const id = r.data!.redeemReward.id;
      await waitFor(`redemption ${id} to be COMPLETED`, async () => ((await storedStatus(id)).status === 'COMPLETED' ? true : undefined));
    }
    await assertSettled(slow);
  });

  it('counts a member\'s redemptions without its failed attempts unless asked for them', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await t.adjust(member, 500);
    const reward = await createReward(t, { costPoints: 100 });
    // Two attempts reserved while the debit cannot be made, then the balance is gone: both FAILED.
    const proxy = await membersProxy(/\/internal\/ledger\/debit/);
    const replica = await rewardsReplica(proxy.url);
    const caller = { headers: await gatewayCredential({ tenant: t.tenant, principal: 'pos', roles: ['integration'], scopes: [] }) };
    proxy.setMode('refuse');
    const doomed = [await redeem(member, reward, caller, randomUUID(), `${replica.url}/graphql`), await redeem(member, reward, caller, randomUUID(), `${replica.url}/graphql`)];
    assert.ok(doomed.every((r) => r.data?.redeemReward.status === 'PENDING'), JSON.stringify(doomed));
    await t.adjust(member, -500);
    proxy.setMode('pass');
    for (const r of doomed) await waitFor(`redemption ${r.data!.redeemReward.id} to fail`, async () => ((await storedStatus(r.data!.redeemReward.id)).status === 'FAILED' ? true : undefined));
    // Then three that succeed, one of them cancelled.
    await t.adjust(member, 300);
    const done = [];
    for (let i = 0; i < 3; i++) done.push((await redeem(member, reward, { token: t.admin })).data!.redeemReward.id);
    await ok(CANCEL, { id: done[0] }, { token: t.admin });

    type Page = { totalCount: number; edges: { node: { status: string } }[] };
    const view = await ok<{ member: { all: Page; failed: Page; completed: Page; everything: Page; none: Page } }>(
      `query($id: ID!) { member(id: $id) {
        all: redemptions { totalCount edges { node { status } } }
        failed: redemptions(status: [FAILED]) { totalCount edges { node { status } } }
        completed: redemptions(status: [COMPLETED], first: 1) { totalCount edges { node { status } } }
        everything: redemptions(status: [PENDING, COMPLETED, FAILED, CANCELLED]) { totalCount edges { node { status } } }
        none: redemptions(status: []) { totalCount edges { node { status } } }
      } }`,
      { id: member },
      { token: t.admin },
    );
    const statuses = (page: Page) => page.edges.map((e) => e.node.status).sort();
    assert.equal(view.member.all.totalCount, 3);
    assert.deepEqual(statuses(view.member.all), ['CANCELLED', 'COMPLETED', 'COMPLETED']);
    assert.equal(view.member.failed.totalCount, 2);
    assert.deepEqual(statuses(view.member.failed), ['FAILED', 'FAILED']);
    assert.equal(view.member.completed.totalCount, 2);
    assert.deepEqual(statuses(view.member.completed), ['COMPLETED']);
    assert.equal(view.member.everything.totalCount, 5);
    assert.equal(view.member.everything.edges.length, 5);
    assert.deepEqual(view.member.none, { totalCount: 0, edges: [] });
  });

  it('shows member tokens and catalog keys only rewards that can be redeemed today', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const hour = 3_600_000;
    const live = await createReward(t, { name: 'Live' });
    const inactive = await createReward(t, { name: 'Inactive', active: false });
    const later = await createReward(t, { name: 'Later', validFrom: new Date(Date.now() + hour).toISOString() });
    const key = await ok<{ createApiKey: { secret: string } }>('mutation { createApiKey(input: { name: "p", scopes: ["catalog:read"] }) { secret } }', {}, { token: t.admin });
    const catalog = '{ all: rewards(filter: { activeOnly: false }, first: 50) { totalCount edges { node { name } } } }';
    const one = 'query($id: ID!) { reward(id: $id) { name } }';
    const names = (data: { all: { edges: { node: { name: string } }[] } }) => data.all.edges.map((e) => e.node.name).sort();

    const staff = await ok<{ all: { totalCount: number; edges: { node: { name: string } }[] } }>(catalog, {}, { token: t.admin });
    assert.deepEqual(names(staff), ['Inactive', 'Later', 'Live']);
    assert.equal(staff.all.totalCount, 3);
    assert.equal((await ok<{ reward: { name: string } }>(one, { id: inactive }, { token: t.admin })).reward.name, 'Inactive');

    const memberToken = await token(t.tenant, ['member'], { memberId: member });
    for (const [who, caller] of [['member token', { token: memberToken }], ['catalog key', { apiKey: key.createApiKey.secret }]] as const) {
      const seen = await ok<{ all: { totalCount: number; edges: { node: { name: string } }[] } }>(catalog, {}, caller);
      assert.deepEqual(names(seen), ['Live'], who);
      assert.equal(seen.all.totalCount, 1);
      assert.equal((await ok<{ reward: { name: string } | null }>(one, { id: live }, caller)).reward?.name, 'Live');
      for (const hidden of [inactive, later]) assert.equal((await ok<{ reward: null }>(one, { id: hidden }, caller)).reward, null);
    }
    // Neither through an entity reference another subgraph hands the gateway.
    const entities = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Reward { name } } }';
    const representations = [live, inactive, later].map((id) => ({ __typename: 'Reward', id }));
    for (const roles of [['member'], ['partner']] as const) {
      const headers = await gatewayCredential({ tenant: t.tenant, principal: 'x', roles: [...roles], memberId: roles[0] === 'member' ? member : undefined, scopes: ['catalog:read'] });
      const result = await gql<{ _entities: ({ name: string } | null)[] }>(entities, { r: representations }, { headers }, `${subgraphUrls.rewards}/graphql`);
      assert.deepEqual(result.data?._entities, [{ name: 'Live' }, null, null], JSON.stringify(result));
    }
  });

  it('finishes a cancellation whose refund was refused, answered into the void, or cut short by a crash', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await t.adjust(member, 1000);
    const reward = await createReward(t, { stock: 5, costPoints: 100 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await redeem(member, reward, { token: t.admin })).data!.redeemReward.id);
    assert.equal(await t.balance(member), 700);
    const proxy = await membersProxy(/\/internal\/ledger\/credit/);
    // This replica's recovery job waits a minute, so each step below shows what the mutation alone did.
    const first = await rewardsReplica(proxy.url, 60_000);
    const agent = { headers: await gatewayCredential({ tenant: t.tenant, principal: 'agent-1', roles: ['agent'], scopes: [] }) };
    const cancel = (id: string, replica: Service) => gql<{ cancelRedemption: { status: string; code: string | null } }>(CANCEL, { id }, agent, `${replica.url}/graphql`);

    // 1. The refund never reaches members: nothing moved, the redemption still stands as it was.
    proxy.setMode('refuse');
    const refused = await cancel(ids[0]!, first);
    assert.deepEqual(codes(refused), [], JSON.stringify(refused));
    assert.equal(refused.data?.cancelRedemption.status, 'COMPLETED');
    assert.equal(await t.balance(member), 700);
    // 2. The refund is made but its answer is lost: asking again refunds nothing more.
    proxy.setMode('lose-response');
    for (let i = 0; i < 2; i++) {
      const lost = await cancel(ids[1]!, first);
      assert.deepEqual(codes(lost), [], JSON.stringify(lost));
      assert.equal(lost.data?.cancelRedemption.status, 'COMPLETED');
    }
    assert.equal(await reversalsOf(ids[1]!), 1);
    assert.equal(await t.balance(member), 800);
    // 3. The process is killed after members made the refund, before it could record the cancellation.
    proxy.setMode('hold-response');
    const cut = cancel(ids[2]!, first).catch(() => undefined);
    await waitFor('the refund of the third redemption in the ledger', async () => ((await reversalsOf(ids[2]!)) === 1 ? true : undefined));
    const exited = once(first.child, 'exit');
    first.child.kill('SIGKILL');
    await exited;
    await cut;
    assert.equal(await stockOf(reward), 2);

    // A restarted process finds every unfinished cancellation and finishes it, once.
    proxy.setMode('pass');
    const second = await rewardsReplica(proxy.url);
    for (const id of ids) await waitFor(`redemption ${id} to be CANCELLED`, async () => ((await storedStatus(id)).status === 'CANCELLED' ? true : undefined));
    for (const id of ids) {
      const replay = await cancel(id, second);
      assert.equal(replay.data?.cancelRedemption.status, 'CANCELLED', JSON.stringify(replay));
      assert.equal(await reversalsOf(id), 1, `one reversal for ${id}`);
    }
    assert.equal(await t.balance(member), 1000);
    assert.equal(await stockOf(reward), 5);
    const events = await sql<{ n: number }>('rewards', `SELECT count(*)::int AS n FROM outbox WHERE type = 'REDEMPTION_CANCELLED' AND payload->>'redemptionId' = ANY($1)`, [ids]);
    assert.equal(events[0]!.n, 3, 'one REDEMPTION_CANCELLED event per redemption');
    await assertInvariants(t.tenant, reward, 5);
  });

  it('reserves a redemption as PENDING while members is down, and applies the member gates when it settles', async () => {
    const t = await newTenant();
    await ok('mutation { upsertTier(input: { name: "Gold", rank: 2, qualifyingPoints: 5000, earnMultiplier: 2 }) { id } }', {}, { token: t.admin });
    const [rich, poor, suspended] = [await t.enroll(), await t.enroll(), await t.enroll()];
    await t.adjust(rich, 1000);
    await t.adjust(poor, 50);
    await t.adjust(suspended, 1000);
    await ok('mutation($id: ID!) { updateMember(id: $id, input: { status: SUSPENDED }) { id } }', { id: suspended }, { token: t.admin });
    const reward = await createReward(t, { stock: 5, costPoints: 100 });
    const gold = await createReward(t, { stock: 5, costPoints: 100, minTierRank: 2 });
    const proxy = await membersProxy(/\/internal\//);
    const replica = await rewardsReplica(proxy.url);
    const caller = { headers: await gatewayCredential({ tenant: t.tenant, principal: 'pos', roles: ['integration'], scopes: [] }) };
    const attempts: [string, string, string][] = [
      [rich, reward, 'COMPLETED'],
      [poor, reward, 'INSUFFICIENT_POINTS'],
      [suspended, reward, 'NOT_ELIGIBLE'],
      [rich, gold, 'NOT_ELIGIBLE'],
    ];
    const keys = attempts.map(() => randomUUID());

    proxy.setMode('refuse');
    const results = await Promise.all(attempts.map(([m, r], i) => redeem(m, r, caller, keys[i], `${replica.url}/graphql`)));
    for (const result of results) {
      assert.deepEqual(codes(result), [], JSON.stringify(result));
      assert.equal(result.data?.redeemReward.status, 'PENDING');
      assert.equal(result.data?.redeemReward.code, null);
    }
    assert.equal(await stockOf(reward), 2);
    assert.equal(await stockOf(gold), 4);
    // What a member could redeem needs its balance: while members is down that is a retryable error.
    const available = await gql(
      '{ _entities(representations: [{ __typename: "Member", id: "' + rich + '" }]) { ... on Member { availableRewards { id } } } }',
      {},
      caller,
      `${replica.url}/graphql`,
    );
    assert.deepEqual(codes(available), ['SERVICE_UNAVAILABLE'], JSON.stringify(available));

    proxy.setMode('pass');
    const ids = results.map((r) => r.data!.redeemReward.id);
    for (const id of ids) await waitFor(`redemption ${id} to settle`, async () => ((await storedStatus(id)).status !== 'PENDING' ? true : undefined));
    for (const [i, [m, r, expected]] of attempts.entries()) {
      const replay = await redeem(m, r, caller, keys[i], `${replica.url}/graphql`);
      assert.equal(replay.data?.redeemReward.status ?? codes(replay)[0], expected, JSON.stringify(replay));
    }
    assert.equal(await t.balance(rich), 900);
    assert.equal(await t.balance(poor), 50);
    assert.equal(await t.balance(suspended), 1000);
    assert.equal(await stockOf(reward), 4);
    assert.equal(await stockOf(gold), 5);
    await assertInvariants(t.tenant, reward, 5);
    await assertInvariants(t.tenant, gold, 5);
  });

  it('settles a redemption whose debit was lost or never made, once members is reachable again', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await t.adjust(member, 1000);
    const reward = await createReward(t, { stock: 5, costPoints: 100 });
    // A second rewards replica that reaches members through a proxy we can break. Its recovery waits
    // a few seconds: sooner, on a loaded machine it could retry the first redemption while the
    // proxy loses answers (step 2), and debit it before the balance is read.
    const proxy = await membersProxy(/\/internal\/ledger\/debit/);
    const replica = await rewardsReplica(proxy.url, 3000);
    const caller = { headers: await gatewayCredential({ tenant: t.tenant, principal: 'pos', roles: ['integration'], scopes: [] }) };
    const status = async (id: string) =>
      (await gql<{ redemption: { status: string; code: string | null } }>('query($id: ID!) { redemption(id: $id) { status code } }', { id }, caller, `${replica.url}/graphql`)).data!.redemption;
    const settled = (id: string) =>
      waitFor(`redemption ${id} to settle`, async () => {
        const current = await status(id);
        return current.status === 'PENDING' ? undefined : current;
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
    const first = await settled(refused.data.redeemReward.id);
    const second = await settled(lost.data.redeemReward.id);
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
    assert.equal((await settled(doomed.data.redeemReward.id)).status, 'FAILED');
    assert.equal(await t.balance(member), 0);
    await assertInvariants(t.tenant, reward, 5);
  });
});
