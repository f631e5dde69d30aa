import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, it } from '@jest/globals';
import { faultyProxy, startService, waitFor, type Service } from './support/processes';
import { assertLedger } from './support/ledger';
import { codes, gatewayCredential, gql, newTenant, ok, serviceSecret, sql, subgraphUrls, token, type Caller } from './support/system';

type Tenant = Awaited<ReturnType<typeof newTenant>>;
const databases = JSON.parse(process.env.TEST_DATABASES ?? '{}') as Record<string, string>;

const CREATE = 'mutation($input: CampaignInput!) { createCampaign(input: $input) { id rules { id pendingDays } } }';
const RECORD = `mutation($input: ActivityInput!) {
  recordActivity(input: $input) { pointsEarned transaction { id type points balanceAfter pendingUntil } }
}`;
const RETURN = `mutation($input: ReturnInput!) {
  recordReturn(input: $input) {
    pointsReversed
    pointsUnrecovered
    transaction { id type points balanceAfter reference }
    member { id points { balance pending } }
  }
}`;

interface Returned {
  recordReturn: {
    pointsReversed: number;
    pointsUnrecovered: number;
    transaction: { id: string; type: string; points: number; balanceAfter: number; reference: string } | null;
    member: { id: string; points: { balance: number; pending: number } };
  };
}
interface Earned {
  recordActivity: { pointsEarned: number; transaction: { id: string; type: string; points: number; balanceAfter: number; pendingUntil: string | null } | null };
}

const fixed = (points: number, extra: Record<string, unknown> = {}) => ({ name: `fixed ${points}`, trigger: 'PURCHASE', calculation: 'FIXED', points, ...extra });

async function campaign(t: Tenant, input: Record<string, unknown>): Promise<string> {
  const created = await ok<{ createCampaign: { id: string } }>(CREATE, { input: { name: 'Campaign', ...input } }, { token: t.admin });
  await ok('mutation($id: ID!) { activateCampaign(id: $id) { status } }', { id: created.createCampaign.id }, { token: t.admin });
  return created.createCampaign.id;
}

async function purchase(t: Tenant, memberId: string, orderId: string, amount: number): Promise<Earned['recordActivity']> {
  const result = await gql<Earned>(RECORD, { input: { memberId, type: 'PURCHASE', amount, currency: 'EUR', orderId, idempotencyKey: randomUUID() } }, { token: t.admin });
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  return result.data!.recordActivity;
}

const recordReturn = (t: Tenant, input: Record<string, unknown>, caller: Caller = { token: t.admin }, url?: string) =>
  gql<Returned>(RETURN, { input: { idempotencyKey: randomUUID(), ...input } }, caller, url);

async function returned(t: Tenant, input: Record<string, unknown>): Promise<Returned['recordReturn']> {
  const result = await recordReturn(t, input);
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  return result.data!.recordReturn;
}

const points = async (t: Tenant, memberId: string) =>
  (await ok<{ member: { points: { balance: number; pending: number } } }>('query($id: ID!) { member(id: $id) { points { balance pending } } }', { id: memberId }, { token: t.admin }))
    .member.points;

/** Budgets net of returns, and what the ledger says: issued = awarded − taken back = EARN + REVERSAL entries. */
async function assertBudgetsMatchLedger(t: Tenant) {
  const [campaigns] = await sql<{ issued: number; awarded: number; reversed: number }>(
    'campaigns',
    `SELECT COALESCE(sum(points_issued), 0)::int AS issued,
            (SELECT COALESCE(sum(w.points), 0)::int FROM activity_awards w JOIN activities a ON a.id = w.activity_id WHERE a.tenant = $1) AS awarded,
            (SELECT COALESCE(sum(v.points), 0)::int FROM return_reversals v JOIN returns r ON r.id = v.return_id WHERE r.tenant = $1) AS reversed
     FROM campaigns WHERE tenant = $1`,
    [t.tenant],
  );
  const [ledger] = await sql<{ earned: number; reversed: number }>(
    'members',
    `SELECT COALESCE(sum(points) FILTER (WHERE type = 'EARN'), 0)::int AS earned, COALESCE(-sum(points) FILTER (WHERE type = 'REVERSAL'), 0)::int AS reversed
     FROM ledger_entries WHERE tenant = $1`,
    [t.tenant],
  );
  assert.equal(campaigns!.issued, campaigns!.awarded - campaigns!.reversed, 'budgets count net of returns');
  assert.equal(campaigns!.issued, ledger!.earned - ledger!.reversed, 'what campaigns says it issued is what the ledger kept');
  assert.equal(campaigns!.reversed, ledger!.reversed, "the campaigns' shares add up to the ledger's reversals");
}

const budget = async (t: Tenant, id: string) =>
  (await ok<{ campaign: { budget: { pointsIssued: number } } }>('query($id: ID!) { campaign(id: $id) { budget { pointsIssued } } }', { id }, { token: t.admin })).campaign.budget
    .pointsIssued;

const rowCount = async (database: string, table: string, tenant: string) =>
  (await sql<{ n: number }>(database, `SELECT count(*)::int AS n FROM ${table} WHERE tenant = $1`, [tenant]))[0]!.n;

const replicas: Service[] = [];
afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.stop()));
});

describe('pendingDays', () => {
  it('holds a purchase credit pending for the longest pendingDays of the awarding rules, until activated', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const created = await ok<{ createCampaign: { id: string; rules: { pendingDays: number }[] } }>(
      CREATE,
      { input: { name: 'Held', rules: [fixed(40, { pendingDays: 7 }), fixed(10, { pendingDays: 2 }), fixed(5)] } },
      { token: t.admin },
    );
    assert.deepEqual(created.createCampaign.rules.map((r) => r.pendingDays), [7, 2, 0]);
    await ok('mutation($id: ID!) { activateCampaign(id: $id) { status } }', { id: created.createCampaign.id }, { token: t.admin });

    const before = Date.now();
    const earned = await purchase(t, member, 'held-1', 1000);
    assert.equal(earned.pointsEarned, 55);
    assert.equal(earned.transaction!.balanceAfter, 0, 'nothing spendable yet');
    const until = new Date(earned.transaction!.pendingUntil!).getTime();
    assert.ok(until >= before + 7 * 86_400_000 - 60_000 && until <= Date.now() + 7 * 86_400_000 + 60_000, earned.transaction!.pendingUntil!);
    assert.deepEqual(await points(t, member), { balance: 0, pending: 55 });
    assert.deepEqual(codes(await t.adjust(member, -1)), ['INSUFFICIENT_POINTS']);
    // The activity keeps the terms its credit was sent with, so a retry sends the very same credit.
    const [stored] = await sql<{ credit_order_id: string; credit_pending_until: Date }>(
      'campaigns',
      'SELECT credit_order_id, credit_pending_until FROM activities WHERE tenant = $1',
      [t.tenant],
    );
    assert.equal(stored!.credit_order_id, 'held-1');
    assert.equal(stored!.credit_pending_until.getTime(), until);

    const activated = await ok<{ activatePendingPoints: { pointsActivated: number; member: { points: { balance: number; pending: number } } } }>(
      'mutation($input: ActivatePendingInput!) { activatePendingPoints(input: $input) { pointsActivated member { points { balance pending } } } }',
      { input: { memberId: member, orderId: 'held-1' } },
      { token: t.admin },
    );
    assert.deepEqual(activated.activatePendingPoints, { pointsActivated: 55, member: { points: { balance: 55, pending: 0 } } });
    await assertLedger(member, { balance: 55, pending: 0 });
  });

  it('never holds back a custom event, nor a purchase whose rules say 0', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await campaign(t, { rules: [fixed(10), { name: 'event', trigger: 'CUSTOM_EVENT', eventName: 'review', calculation: 'FIXED', points: 3, pendingDays: 30 }] });
    const earned = await purchase(t, member, 'plain-1', 100);
    assert.equal(earned.transaction!.pendingUntil, null);
    const event = await ok<Earned>(RECORD, { input: { memberId: member, type: 'CUSTOM_EVENT', eventName: 'review', idempotencyKey: randomUUID() } }, { token: t.admin });
    assert.equal(event.recordActivity.transaction!.pendingUntil, null);
    assert.deepEqual(await points(t, member), { balance: 13, pending: 0 });
  });

  it('refuses pendingDays outside 0..365, naming the field, and stores nothing', async () => {
    const t = await newTenant();
    for (const [pendingDays, field] of [
      [366, 'rules.0.pendingDays'],
      [-1, 'rules.0.pendingDays'],
    ] as const) {
      const result = await gql(CREATE, { input: { name: 'bad', rules: [fixed(1, { pendingDays })] } }, { token: t.admin });
      assert.deepEqual(codes(result), ['BAD_USER_INPUT'], JSON.stringify(result));
      assert.equal(result.errors![0]!.extensions!.field, field);
    }
    assert.equal(await rowCount('campaigns', 'campaigns', t.tenant), 0);
    const edge = await ok<{ createCampaign: { rules: { pendingDays: number }[] } }>(CREATE, { input: { name: 'edge', rules: [fixed(1, { pendingDays: 365 })] } }, { token: t.admin });
    assert.equal(edge.createCampaign.rules[0]!.pendingDays, 365);
  });
});

describe('recordReturn', () => {
  it('takes back everything on a full return: a REVERSAL referencing the order, budget given back', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const id = await campaign(t, { rules: [{ name: 'per 1.00', trigger: 'PURCHASE', calculation: 'PER_AMOUNT', points: 2, amountStep: 100 }], budget: { maxPoints: 10_000 } });
    assert.equal((await purchase(t, member, 'full-1', 12_345)).pointsEarned, 246);
    const integration = await token(t.tenant, ['integration']);
    const result = await recordReturn(t, { memberId: member, orderId: 'full-1', amount: 12_345 }, { token: integration });
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    const back = result.data!.recordReturn;
    assert.equal(back.pointsReversed, 246);
    assert.equal(back.pointsUnrecovered, 0);
    assert.deepEqual({ ...back.transaction, id: undefined }, { id: undefined, type: 'REVERSAL', points: -246, balanceAfter: 0, reference: 'full-1' });
    assert.deepEqual(back.member, { id: member, points: { balance: 0, pending: 0 } });
    assert.equal(await budget(t, id), 0);
    // Nothing is left to return.
    const more = await recordReturn(t, { memberId: member, orderId: 'full-1', amount: 1 });
    assert.deepEqual(codes(more), ['BAD_USER_INPUT']);
    assert.equal(more.errors![0]!.extensions!.field, 'amount');
    await assertLedger(member, { balance: 0, pending: 0 });
    await assertBudgetsMatchLedger(t);
  });

  it('takes back floor(earned × returned / amount) cumulatively over partial returns', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await campaign(t, { rules: [fixed(101)] });
    await purchase(t, member, 'part-1', 1000);
    const first = await returned(t, { memberId: member, orderId: 'part-1', amount: 500 });
    assert.deepEqual([first.pointsReversed, first.pointsUnrecovered, first.member.points.balance], [50, 0, 51]);
    const second = await returned(t, { memberId: member, orderId: 'part-1', amount: 300 });
    assert.equal(second.pointsReversed, 30); // floor(101 × 800 / 1000) = 80 in total
    const tiny = await returned(t, { memberId: member, orderId: 'part-1', amount: 1 });
    assert.deepEqual([tiny.pointsReversed, tiny.transaction], [0, null]); // floor(101 × 801 / 1000) = 80: nothing more yet
    const rest = await returned(t, { memberId: member, orderId: 'part-1', amount: 199 });
    assert.equal(rest.pointsReversed, 21); // 101 in total, never more
    assert.equal(first.pointsReversed + second.pointsReversed + tiny.pointsReversed + rest.pointsReversed, 101);
    const over = await recordReturn(t, { memberId: member, orderId: 'part-1', amount: 1 });
    assert.deepEqual(codes(over), ['BAD_USER_INPUT']);
    assert.equal(await rowCount('campaigns', 'returns', t.tenant), 4);
    await assertLedger(member, { balance: 0, pending: 0 });
    await assertBudgetsMatchLedger(t);
  });

  it("takes the order's pending points first, then the spendable balance", async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await campaign(t, { rules: [fixed(100, { pendingDays: 7 })] });
    await t.adjust(member, 50);
    await purchase(t, member, 'pend-1', 1000);
    assert.deepEqual(await points(t, member), { balance: 50, pending: 100 });
    const half = await returned(t, { memberId: member, orderId: 'pend-1', amount: 500 });
    assert.deepEqual([half.pointsReversed, half.pointsUnrecovered, half.member.points], [50, 0, { balance: 50, pending: 50 }]);
    assert.equal(half.transaction!.balanceAfter, 50, 'the spendable balance was not touched');
    // The rest of the order's pending points activate; a later return then draws on the balance.
    await ok('mutation($input: ActivatePendingInput!) { activatePendingPoints(input: $input) { pointsActivated } }', { input: { memberId: member, orderId: 'pend-1' } }, { token: t.admin });
    const rest = await returned(t, { memberId: member, orderId: 'pend-1', amount: 500 });
    assert.deepEqual([rest.pointsReversed, rest.member.points], [50, { balance: 50, pending: 0 }]);
    await assertLedger(member, { balance: 50, pending: 0 });
    await assertBudgetsMatchLedger(t);
  });

  it('reports what the member already spent as unrecovered, never going below 0, and the budget keeps it counted', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const id = await campaign(t, { rules: [fixed(100)] });
    await purchase(t, member, 'spent-1', 1000);
    assert.equal((await t.adjust(member, -80)).data?.adjustPoints.balanceAfter, 20);
    const back = await returned(t, { memberId: member, orderId: 'spent-1', amount: 1000 });
    assert.deepEqual([back.pointsReversed, back.pointsUnrecovered, back.transaction?.points, back.member.points.balance], [20, 80, -20, 0]);
    assert.equal(await budget(t, id), 80, 'the 80 points spent stay paid out by the campaign');
    await assertLedger(member, { balance: 0, pending: 0 });
    await assertBudgetsMatchLedger(t);
  });

  it('nets budgets, member caps and performance of every awarding campaign by its share', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const a = await campaign(t, { name: 'A', rules: [fixed(20, { maxPointsPerMember: 20, capPeriod: 'LIFETIME' }), fixed(10)], budget: { maxPoints: 1000 } });
    const b = await campaign(t, { name: 'B', rules: [fixed(10)] });
    assert.equal((await purchase(t, member, 'share-1', 1000)).pointsEarned, 40);
    // The lifetime cap is used up: another purchase earns only A's uncapped rule and B.
    assert.equal((await purchase(t, member, 'share-2', 1000)).pointsEarned, 20);

    const half = await returned(t, { memberId: member, orderId: 'share-1', amount: 500 });
    assert.equal(half.pointsReversed, 20);
    // A awarded 30 of the order's 40, B 10: A gives back 15 (10 of the capped rule, 5 of the other), B 5.
    const shares = await sql<{ campaign_id: string; points: number }>(
      'campaigns',
      `SELECT v.campaign_id, sum(v.points)::int AS points FROM return_reversals v JOIN returns r ON r.id = v.return_id WHERE r.tenant = $1 GROUP BY v.campaign_id`,
      [t.tenant],
    );
    assert.deepEqual(Object.fromEntries(shares.map((s) => [s.campaign_id, s.points])), { [a]: 15, [b]: 5 });
    assert.equal(await budget(t, a), 30 + 10 - 15);
    assert.equal(await budget(t, b), 20 - 5);
    const [cap] = await sql<{ points: number }>('campaigns', 'SELECT points FROM member_caps WHERE member_id = $1', [member]);
    assert.equal(cap!.points, 10, 'the capped rule gave back 10 of its 20');
    // The freed cap can be earned again.
    assert.equal((await purchase(t, member, 'share-3', 1000)).pointsEarned, 30);

    const PERFORMANCE = 'query($a: ID!, $b: ID!) { a: campaign(id: $a) { performance { pointsIssued activities } } b: campaign(id: $b) { performance { pointsIssued activities } } }';
    const expected = { a: { performance: { pointsIssued: 30 + 10 + 20 - 15, activities: 3 } }, b: { performance: { pointsIssued: 30 - 5, activities: 3 } } };
    const performance = await waitFor('analytics to count the return', async () => {
      const seen = await ok<typeof expected>(PERFORMANCE, { a, b }, { token: t.admin });
      return JSON.stringify(seen) === JSON.stringify(expected) && seen;
    });
    assert.deepEqual(performance, expected);
    assert.equal(await budget(t, a), expected.a.performance.pointsIssued, 'budget and performance agree');
    await assertLedger(member);
    await assertBudgetsMatchLedger(t);
  });

  it('is idempotent: the same key replays the first result, another input under it is IDEMPOTENCY_CONFLICT', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await campaign(t, { rules: [fixed(100)] });
    await purchase(t, member, 'idem-1', 1000);
    const key = randomUUID();
    const racing = await Promise.all(Array.from({ length: 5 }, () => recordReturn(t, { memberId: member, orderId: 'idem-1', amount: 400, idempotencyKey: key })));
    for (const r of racing) assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    assert.equal(new Set(racing.map((r) => r.data!.recordReturn.transaction!.id)).size, 1);
    assert.ok(racing.every((r) => r.data!.recordReturn.pointsReversed === 40));
    const replay = await returned(t, { memberId: member, orderId: 'idem-1', amount: 400, idempotencyKey: key });
    assert.equal(replay.transaction!.id, racing[0]!.data!.recordReturn.transaction!.id);
    assert.deepEqual(codes(await recordReturn(t, { memberId: member, orderId: 'idem-1', amount: 401, idempotencyKey: key })), ['IDEMPOTENCY_CONFLICT']);
    assert.equal(await t.balance(member), 60);
    const [entries] = await sql<{ n: number }>('members', `SELECT count(*)::int AS n FROM ledger_entries WHERE tenant = $1 AND type = 'REVERSAL'`, [t.tenant]);
    assert.equal(entries!.n, 1);
    assert.equal(await rowCount('campaigns', 'returns', t.tenant), 1);
    await assertBudgetsMatchLedger(t);
  });

  it('refuses bad input naming the field, and writes nothing', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const other = await t.enroll();
    await campaign(t, { rules: [fixed(100)] });
    await purchase(t, member, 'bad-1', 1000);
    await ok(RECORD, { input: { memberId: member, type: 'CUSTOM_EVENT', eventName: 'review', orderId: 'event-order', idempotencyKey: randomUUID() } }, { token: t.admin });
    const stranger = await newTenant();
    const foreigner = await stranger.enroll();
    await campaign(stranger, { rules: [fixed(100)] });
    await purchase(stranger, foreigner, 'foreign-1', 1000);

    const cases: [Record<string, unknown>, string, string][] = [
      [{ memberId: member, orderId: 'bad-1', amount: 0 }, 'BAD_USER_INPUT', 'amount'],
      [{ memberId: member, orderId: 'bad-1', amount: -5 }, 'BAD_USER_INPUT', 'amount'],
      [{ memberId: member, orderId: 'bad-1', amount: 1001 }, 'BAD_USER_INPUT', 'amount'],
      [{ memberId: member, orderId: 'no-such-order', amount: 1 }, 'BAD_USER_INPUT', 'orderId'],
      [{ memberId: other, orderId: 'bad-1', amount: 1 }, 'BAD_USER_INPUT', 'orderId'], // another member's order
      [{ memberId: member, orderId: 'foreign-1', amount: 1 }, 'BAD_USER_INPUT', 'orderId'], // another tenant's order
      [{ memberId: foreigner, orderId: 'foreign-1', amount: 1 }, 'BAD_USER_INPUT', 'orderId'], // ... even with its member's id
      [{ memberId: member, orderId: 'event-order', amount: 1 }, 'BAD_USER_INPUT', 'orderId'], // a custom event is no purchase
      [{ memberId: member, orderId: '', amount: 1 }, 'BAD_USER_INPUT', 'orderId'],
      [{ memberId: 'nope', orderId: 'bad-1', amount: 1 }, 'BAD_USER_INPUT', 'memberId'],
      [{ memberId: member, orderId: 'bad-1', amount: 1, idempotencyKey: '' }, 'BAD_USER_INPUT', 'idempotencyKey'],
    ];
    for (const [input, code, field] of cases) {
      const result = await recordReturn(t, input);
      assert.deepEqual(codes(result), [code], JSON.stringify(result));
      assert.equal(result.errors![0]!.extensions!.field, field, JSON.stringify(result));
    }
    assert.equal(await rowCount('campaigns', 'returns', t.tenant), 0);
    assert.equal(await rowCount('campaigns', 'returns', stranger.tenant), 0);
    const [entries] = await sql<{ n: number }>('members', `SELECT count(*)::int AS n FROM ledger_entries WHERE tenant = ANY($1) AND type = 'REVERSAL'`, [[t.tenant, stranger.tenant]]);
    assert.equal(entries!.n, 0);
    assert.equal(await t.balance(member), 100);
    assert.equal(await stranger.balance(foreigner), 100);
  });

  it('is for the roles that record activities', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await campaign(t, { rules: [fixed(100)] });
    await purchase(t, member, 'roles-1', 1000);
    for (const [roles, expected] of [
      [['marketer'], ['FORBIDDEN']],
      [['member'], ['FORBIDDEN']],
      [['agent'], []],
    ] as const) {
      const caller = { token: await token(t.tenant, [...roles], roles[0] === 'member' ? { memberId: member } : {}) };
      assert.deepEqual(codes(await recordReturn(t, { memberId: member, orderId: 'roles-1', amount: 100 }, caller)), expected, roles[0]);
    }
    assert.equal(await t.balance(member), 90);
  });

  it('keeps the ledger consistent under concurrent returns and debits of one member', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await campaign(t, { rules: [fixed(70), fixed(30, { pendingDays: 3 })], budget: { maxPoints: 100_000 } });
    const orders = Array.from({ length: 6 }, (_, i) => `conc-${i}`);
    for (const order of orders) await purchase(t, member, order, 1000);
    // Each credit is pending (one credit per activity, held for its longest rule); half the orders
    // are activated, so returns meet both pending and spendable lots.
    for (const order of orders.slice(0, 3)) {
      await ok('mutation($input: ActivatePendingInput!) { activatePendingPoints(input: $input) { pointsActivated } }', { input: { memberId: member, orderId: order } }, { token: t.admin });
    }
    await t.adjust(member, 200);
    const work: Promise<unknown>[] = [];
    for (const order of orders) for (const amount of [250, 250, 500]) work.push(recordReturn(t, { memberId: member, orderId: order, amount }));
    for (let i = 0; i < 12; i++) work.push(t.adjust(member, -40));
    const results = (await Promise.all(work)) as Awaited<ReturnType<typeof recordReturn>>[];
    const returns = results.slice(0, orders.length * 3);
    for (const r of returns) assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    for (const r of results.slice(orders.length * 3)) assert.ok(!r.errors || codes(r)[0] === 'INSUFFICIENT_POINTS', JSON.stringify(r.errors));
    // Every order fully returned: each took back exactly its 100 points, taken or unrecovered.
    for (let o = 0; o < orders.length; o++) {
      const mine = returns.slice(o * 3, o * 3 + 3).map((r) => r.data!.recordReturn);
      assert.equal(mine.reduce((sum, r) => sum + r.pointsReversed + r.pointsUnrecovered, 0), 100, orders[o]);
    }
    // Whatever the interleaving: 600 credited + 200 adjusted, less what returns took and debits spent.
    const taken = returns.reduce((sum, r) => sum + r.data!.recordReturn.pointsReversed, 0);
    const debited = results.slice(orders.length * 3).filter((r) => !r.errors).length * 40;
    await assertLedger(member, { balance: 800 - taken - debited, pending: 0 });
    await assertBudgetsMatchLedger(t);
    const [statuses] = await sql<{ pending: number }>('campaigns', `SELECT count(*) FILTER (WHERE status <> 'REVERSED')::int AS pending FROM returns WHERE tenant = $1`, [t.tenant]);
    assert.equal(statuses!.pending, 0);
  });
});

describe('recordReturn while the ledger does not answer', () => {
  it('keeps the return PENDING, answers SERVICE_UNAVAILABLE, and reverses exactly once on recovery', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await campaign(t, { rules: [fixed(100)] });
    await purchase(t, member, 'lost-1', 1000);
    await purchase(t, member, 'lost-2', 1000);
    const proxy = await faultyProxy(subgraphUrls.members, /\/internal\/ledger\/reverse-order/);
    try {
      const replica = await startService('campaigns', {
        DATABASE_URL: databases.campaigns!,
        EVENT_BUS_URL: databases.events!,
        MEMBERS_URL: proxy.url,
        SERVICE_SECRET: serviceSecret,
        ACTIVITY_CREDIT_RETRY_INTERVAL_MS: '200',
        ACTIVITY_CREDIT_RETRY_AFTER_MS: '3000', // long enough that the checks below come first
      });
      replicas.push(replica);
      const caller = { headers: await gatewayCredential({ tenant: t.tenant, principal: 'pos', roles: ['integration'], scopes: [] }) };
      const url = `${replica.url}/graphql`;
      const DIRECT = 'mutation($input: ReturnInput!) { recordReturn(input: $input) { pointsReversed pointsUnrecovered transaction { id } } }';
      const direct = (input: Record<string, unknown>) => gql<{ recordReturn: { pointsReversed: number; pointsUnrecovered: number; transaction: { id: string } | null } }>(DIRECT, { input }, caller, url);

      proxy.setMode('refuse');
      const refusedKey = randomUUID();
      const refused = await direct({ memberId: member, orderId: 'lost-1', amount: 1000, idempotencyKey: refusedKey });
      assert.deepEqual(refused.errors?.map((e) => e.extensions), [{ code: 'SERVICE_UNAVAILABLE', retryable: true }], JSON.stringify(refused));
      assert.equal(await t.balance(member), 200, 'nothing reached the ledger');
      proxy.setMode('lose-response');
      const lostKey = randomUUID();
      const lost = await direct({ memberId: member, orderId: 'lost-2', amount: 500, idempotencyKey: lostKey });
      assert.deepEqual(codes(lost), ['SERVICE_UNAVAILABLE'], JSON.stringify(lost));
      assert.equal(await t.balance(member), 150, 'the lost answer still reversed once');
      // The recorded amount counts while the return is pending: no more than the order may be returned meanwhile.
      const over = await direct({ memberId: member, orderId: 'lost-2', amount: 501, idempotencyKey: randomUUID() });
      assert.deepEqual(codes(over), ['BAD_USER_INPUT'], JSON.stringify(over));

      proxy.setMode('pass');
      await waitFor('the recovery job to settle every PENDING return', async () => (await sql<{ n: number }>('campaigns', `SELECT count(*)::int AS n FROM returns WHERE tenant = $1 AND status = 'PENDING'`, [t.tenant]))[0]!.n === 0);
      assert.equal(await t.balance(member), 50);
      const replayed = await direct({ memberId: member, orderId: 'lost-2', amount: 500, idempotencyKey: lostKey });
      assert.equal(replayed.data?.recordReturn.pointsReversed, 50, JSON.stringify(replayed.errors));
      const viaGateway = await returned(t, { memberId: member, orderId: 'lost-1', amount: 1000, idempotencyKey: refusedKey });
      assert.equal(viaGateway.pointsReversed, 100);
      const [entries] = await sql<{ n: number }>('members', `SELECT count(*)::int AS n FROM ledger_entries WHERE tenant = $1 AND type = 'REVERSAL'`, [t.tenant]);
      assert.equal(entries!.n, 2);
      await assertLedger(member, { balance: 50, pending: 0 });
      await assertBudgetsMatchLedger(t);
    } finally {
      await proxy.close();
    }
  });

});

describe('recordReturn among purchases', () => {
  it('keeps purchases and returns of one member with several capped rules racing free of deadlocks, and exact', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    // Several capped rules in two campaigns: their ids sort in some order other than their places.
    const capped = (points: number) => fixed(points, { maxPointsPerMember: 1_000_000, capPeriod: 'LIFETIME' });
    await campaign(t, { name: 'A', rules: [capped(5), capped(7), capped(11)], budget: { maxPoints: 1_000_000 } });
    await campaign(t, { name: 'B', rules: [capped(3), capped(13)], budget: { maxPoints: 1_000_000 } });
    for (let i = 0; i < 8; i++) await purchase(t, member, `before-${i}`, 1000);
    const results = await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => recordReturn(t, { memberId: member, orderId: `before-${i}`, amount: 1000, idempotencyKey: randomUUID() })),
      ...Array.from({ length: 12 }, (_, i) => gql(RECORD, { input: { memberId: member, type: 'PURCHASE', amount: 1000, currency: 'EUR', orderId: `during-${i}`, idempotencyKey: randomUUID() } }, { token: t.admin })),
    ]);
    assert.deepEqual(results.flatMap((r) => codes(r)), []);
    await assertBudgetsMatchLedger(t);
    const [caps] = await sql<{ used: number; kept: number }>(
      'campaigns',
      `SELECT (SELECT COALESCE(sum(points), 0)::int FROM member_caps WHERE member_id = $1) AS used,
              (SELECT COALESCE(sum(points_issued), 0)::int FROM campaigns WHERE tenant = $2) AS kept`,
      [member, t.tenant],
    );
    assert.equal(caps!.used, caps!.kept, 'what the caps count is what the budgets kept');
    assert.equal(caps!.kept, 12 * (5 + 7 + 11 + 3 + 13));
  });
});
