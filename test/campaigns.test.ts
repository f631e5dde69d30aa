import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, it } from '@jest/globals';
import { createLedgerClient } from '@loyalty/kit';
import { faultyProxy, startService, waitFor, type Service } from './support/processes';
import { codes, gatewayCredential, gql, newTenant, ok, serviceSecret, sql, subgraphUrls, token, type Caller } from './support/system';

type Tenant = Awaited<ReturnType<typeof newTenant>>;
const databases = JSON.parse(process.env.TEST_DATABASES ?? '{}') as Record<string, string>;

const CREATE = 'mutation($input: CampaignInput!) { createCampaign(input: $input) { id status rules { id } } }';
const RECORD = `mutation($input: ActivityInput!) {
  recordActivity(input: $input) {
    pointsEarned
    member { id points { balance } }
    transaction { id type points }
    appliedRules { ruleId points campaign { id name } }
  }
}`;

interface Earned {
  recordActivity: {
    pointsEarned: number;
    member: { id: string; points: { balance: number } };
    transaction: { id: string; type: string; points: number } | null;
    appliedRules: { ruleId: string; points: number; campaign: { id: string; name: string } }[];
  };
}

async function campaign(t: Tenant, input: Record<string, unknown>, activate = true): Promise<string> {
  const created = await ok<{ createCampaign: { id: string; status: string } }>(CREATE, { input: { name: 'Campaign', ...input } }, { token: t.admin });
  assert.equal(created.createCampaign.status, 'DRAFT');
  if (activate) await ok('mutation($id: ID!) { activateCampaign(id: $id) { status } }', { id: created.createCampaign.id }, { token: t.admin });
  return created.createCampaign.id;
}

function record(t: Tenant, input: Record<string, unknown>, caller: Caller = { token: t.admin }, url?: string) {
  return gql<Earned>(RECORD, { input: { idempotencyKey: randomUUID(), ...input } }, caller, url);
}

const purchase = (memberId: string, amount: number, extra: Record<string, unknown> = {}) => ({ memberId, type: 'PURCHASE', amount, currency: 'EUR', ...extra });
const perEuro = { name: '2 per 1.00 from 100.00', trigger: 'PURCHASE', calculation: 'PER_AMOUNT', points: 2, amountStep: 100, minOrderAmount: 10_000 };

/** Budget and ledger agree: what campaigns says it issued is what members credited. */
async function assertBudgetMatchesLedger(t: Tenant, campaignId: string) {
  const [{ issued }] = (await sql<{ issued: number }>('campaigns', 'SELECT points_issued::int AS issued FROM campaigns WHERE id = $1', [campaignId])) as [{ issued: number }];
  const [{ awarded }] = (await sql<{ awarded: number }>('campaigns', 'SELECT COALESCE(sum(points), 0)::int AS awarded FROM activity_awards WHERE campaign_id = $1', [campaignId])) as [{ awarded: number }];
  const [{ earned }] = (await sql<{ earned: number }>('members', `SELECT COALESCE(sum(points), 0)::int AS earned FROM ledger_entries WHERE tenant = $1 AND type = 'EARN'`, [t.tenant])) as [{ earned: number }];
  assert.equal(issued, awarded);
  assert.equal(earned, issued);
}

const replicas: Service[] = [];
afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.stop()));
});

describe('earning rules', () => {
  // Saturday 2026-11-21 08:30 in Tokyo is still Friday 23:30 in UTC.
  const saturdayMorningTokyo = '2026-11-20T23:30:00.000Z';
  const cases: {
    name: string;
    campaign: Record<string, unknown>;
    member?: Record<string, unknown>;
    silver?: boolean;
    activities: Record<string, unknown>[];
    expected: number[];
  }[] = [
    { name: 'orders of at least 100.00 earn 2 points per 1.00: 123.45 → 246', campaign: { rules: [perEuro] }, activities: [{ amount: 12_345 }], expected: [246] },
    { name: 'orders of at least 100.00 earn 2 points per 1.00: 99.99 → 0', campaign: { rules: [perEuro] }, activities: [{ amount: 9_999 }], expected: [0] },
    {
      name: 'newsletter sign-up earns 50 once',
      campaign: { rules: [{ name: 'newsletter', trigger: 'CUSTOM_EVENT', eventName: 'newsletter_signup', calculation: 'FIXED', points: 50, maxPointsPerMember: 50, capPeriod: 'LIFETIME' }] },
      activities: [
        { type: 'CUSTOM_EVENT', eventName: 'newsletter_signup', amount: null, currency: null },
        { type: 'CUSTOM_EVENT', eventName: 'newsletter_signup', amount: null, currency: null },
        { type: 'CUSTOM_EVENT', eventName: 'app_download', amount: null, currency: null },
      ],
      expected: [50, 0, 0],
    },
    { name: 'Silver earns ×1.5: 100.00 → 300', campaign: { rules: [perEuro] }, silver: true, activities: [{ amount: 10_000 }], expected: [300] },
    {
      name: 'happy hours ×2, in the campaign time zone',
      campaign: {
        timeZone: 'Asia/Tokyo',
        rules: [{ name: 'visit', trigger: 'PURCHASE', calculation: 'FIXED', points: 10, happyHours: [{ daysOfWeek: [6], startTime: '08:00', endTime: '09:00', multiplier: 2 }] }],
      },
      activities: [{ amount: 100, occurredAt: saturdayMorningTokyo }, { amount: 100, occurredAt: '2026-11-21T01:00:00.000Z' }],
      expected: [20, 10],
    },
    {
      name: 'the same happy hour in UTC does not match',
      campaign: { rules: [{ name: 'visit', trigger: 'PURCHASE', calculation: 'FIXED', points: 10, happyHours: [{ daysOfWeek: [6], startTime: '08:00', endTime: '09:00', multiplier: 2 }] }] },
      activities: [{ amount: 100, occurredAt: saturdayMorningTokyo }],
      expected: [10],
    },
    {
      name: 'country eligibility',
      campaign: { rules: [{ name: 'de only', trigger: 'PURCHASE', calculation: 'FIXED', points: 5 }], eligibility: { countries: ['DE'] } },
      member: { country: 'FR' },
      activities: [{ amount: 100 }],
      expected: [0],
    },
    {
      name: 'attribute eligibility',
      campaign: { rules: [{ name: 'vip', trigger: 'PURCHASE', calculation: 'FIXED', points: 7 }], eligibility: { attributeEquals: { vip: true, segment: 'gold' } } },
      member: { attributes: { vip: true, segment: 'gold', other: 1 } },
      activities: [{ amount: 100 }],
      expected: [7],
    },
    {
      name: 'attribute eligibility, one value differs',
      campaign: { rules: [{ name: 'vip', trigger: 'PURCHASE', calculation: 'FIXED', points: 7 }], eligibility: { attributeEquals: { vip: true, segment: 'gold' } } },
      member: { attributes: { vip: true, segment: 'silver' } },
      activities: [{ amount: 100 }],
      expected: [0],
    },
    {
      name: 'minimum tier rank',
      campaign: { rules: [{ name: 'silver+', trigger: 'PURCHASE', calculation: 'FIXED', points: 9 }], eligibility: { minTierRank: 1 } },
      activities: [{ amount: 100 }],
      expected: [0],
    },
    {
      name: 'minOrderAmount applies to a FIXED rule too: 49.99 → 0, 50.00 → 10',
      campaign: { rules: [{ name: 'visit from 50.00', trigger: 'PURCHASE', calculation: 'FIXED', points: 10, minOrderAmount: 5_000 }] },
      activities: [{ amount: 4_999 }, { amount: 5_000 }],
      expected: [0, 10],
    },
    {
      name: 'rules add up; a rule that does not match the trigger gives nothing',
      campaign: {
        rules: [
          { name: 'visit', trigger: 'PURCHASE', calculation: 'FIXED', points: 10 },
          { name: 'per euro', trigger: 'PURCHASE', calculation: 'PER_AMOUNT', points: 1 },
          { name: 'event', trigger: 'CUSTOM_EVENT', eventName: 'x', calculation: 'FIXED', points: 1000 },
        ],
      },
      activities: [{ amount: 2_550 }],
      expected: [35],
    },
  ];

  for (const testCase of cases) {
    it(testCase.name, async () => {
      const t = await newTenant();
      if (testCase.silver) {
        await ok('mutation { upsertTier(input: { name: "Silver", rank: 1, qualifyingPoints: 100, earnMultiplier: 1.5 }) { id } }', {}, { token: t.admin });
      }
      const member = await t.enroll(testCase.member ?? {});
      if (testCase.silver) {
        const ledger = createLedgerClient({ url: subgraphUrls.members, serviceSecret, service: 'test' });
        await ledger.credit({ tenant: t.tenant, memberId: member, points: 100, type: 'EARN', idempotencyKey: randomUUID(), reference: 'qualify' });
      }
      await campaign(t, testCase.campaign);
      const earned: number[] = [];
      for (const activity of testCase.activities) {
        const result = await record(t, { ...purchase(member, 0), ...activity });
        assert.equal(result.errors, undefined, JSON.stringify(result.errors));
        earned.push(result.data!.recordActivity.pointsEarned);
      }
      assert.deepEqual(earned, testCase.expected);
      assert.equal(await t.balance(member), testCase.expected.reduce((a, b) => a + b, 0) + (testCase.silver ? 100 : 0));
    });
  }
});

describe('recordActivity', () => {
  it('returns the member, the ledger transaction and each applied rule, across subgraphs', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const id = await campaign(t, { name: 'Double', rules: [perEuro] });
    const integration = await token(t.tenant, ['integration']);
    const result = await record(t, purchase(member, 15_000, { orderId: 'o-1', storeId: 's-1' }), { token: integration });
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    const earned = result.data!.recordActivity;
    assert.equal(earned.pointsEarned, 300);
    assert.deepEqual(earned.member, { id: member, points: { balance: 300 } });
    assert.deepEqual({ type: earned.transaction!.type, points: earned.transaction!.points }, { type: 'EARN', points: 300 });
    assert.deepEqual(earned.appliedRules.map((r) => [r.campaign.id, r.campaign.name, r.points]), [[id, 'Double', 300]]);
    const [{ reference }] = (await sql<{ reference: string }>('members', 'SELECT reference FROM ledger_entries WHERE id = $1', [earned.transaction!.id])) as [{ reference: string }];
    const [{ n }] = (await sql<{ n: number }>('campaigns', 'SELECT count(*)::int AS n FROM activities WHERE id = $1 AND order_id = $2', [reference, 'o-1'])) as [{ n: number }];
    assert.equal(n, 1, 'the ledger entry references the activity');
    const memberToken = await token(t.tenant, ['member'], { memberId: member });
    assert.deepEqual(codes(await record(t, purchase(member, 100), { token: memberToken })), ['FORBIDDEN']);
    const eligible = await ok<{ me: { eligibleCampaigns: { id: string }[] } }>('{ me { eligibleCampaigns { id } } }', {}, { token: memberToken });
    assert.deepEqual(eligible.me.eligibleCampaigns.map((c) => c.id), [id]);
  });

  it('issues exactly the budget to 30 concurrent activities', async () => {
    const t = await newTenant();
    const members = [await t.enroll(), await t.enroll(), await t.enroll()];
    const id = await campaign(t, { rules: [{ name: 'visit', trigger: 'PURCHASE', calculation: 'FIXED', points: 100 }], budget: { maxPoints: 1000 } });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => record(t, purchase(members[i % 3]!, 500))));
    assert.ok(results.every((r) => !r.errors), JSON.stringify(results.find((r) => r.errors)?.errors));
    assert.equal(results.reduce((sum, r) => sum + r.data!.recordActivity.pointsEarned, 0), 1000);
    const budget = await ok<{ campaign: { budget: { maxPoints: number; pointsIssued: number } } }>('query($id: ID!) { campaign(id: $id) { budget { maxPoints pointsIssued } } }', { id }, { token: t.admin });
    assert.deepEqual(budget.campaign.budget, { maxPoints: 1000, pointsIssued: 1000 });
    let total = 0;
    for (const m of members) total += await t.balance(m);
    assert.equal(total, 1000);
    await assertBudgetMatchesLedger(t, id);
  });

  it('holds a member to a daily cap under 10 concurrent activities', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await campaign(t, { rules: [{ name: 'visit', trigger: 'PURCHASE', calculation: 'FIXED', points: 100, maxPointsPerMember: 300, capPeriod: 'DAY' }] });
    const results = await Promise.all(Array.from({ length: 10 }, () => record(t, purchase(member, 500))));
    assert.equal(results.reduce((sum, r) => sum + r.data!.recordActivity.pointsEarned, 0), 300);
    assert.equal(await t.balance(member), 300);
    // Another day is another period.
    const yesterday = await record(t, purchase(member, 500, { occurredAt: new Date(Date.now() - 86_400_000).toISOString() }));
    assert.equal(yesterday.data!.recordActivity.pointsEarned, 100);
  });

  it('earns once per idempotency key, and refuses the key for another input', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await campaign(t, { rules: [perEuro] });
    const key = randomUUID();
    const results = await Promise.all(Array.from({ length: 5 }, () => record(t, { ...purchase(member, 20_000), idempotencyKey: key })));
    assert.ok(results.every((r) => r.data?.recordActivity.pointsEarned === 400), JSON.stringify(results.map((r) => r.errors)));
    assert.equal(new Set(results.map((r) => r.data!.recordActivity.transaction!.id)).size, 1);
    assert.equal(await t.balance(member), 400);
    assert.deepEqual(codes(await record(t, { ...purchase(member, 20_001), idempotencyKey: key })), ['IDEMPOTENCY_CONFLICT']);
  });

  it('awards nothing from draft, paused, ended or future campaigns; the kill switch acts on the next activity', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const visit = [{ name: 'visit', trigger: 'PURCHASE', calculation: 'FIXED', points: 1 }];
    const day = 86_400_000;
    await campaign(t, { rules: visit }, false);
    await campaign(t, { rules: visit, startsAt: new Date(Date.now() + day).toISOString() });
    // Ends a few seconds from now: running for the first activity, ended for the second.
    const endsAt = Date.now() + 4000;
    const ended = await campaign(t, { rules: visit, startsAt: new Date(Date.now() - 2 * day).toISOString(), endsAt: new Date(endsAt).toISOString() });
    const live = await campaign(t, { rules: [{ ...visit[0], points: 10 }] });
    assert.equal((await record(t, purchase(member, 100))).data!.recordActivity.pointsEarned, 11);
    await ok('mutation($id: ID!) { pauseCampaign(id: $id) { status } }', { id: live }, { token: t.admin });
    await new Promise((r) => setTimeout(r, Math.max(0, endsAt - Date.now() + 100)));
    assert.equal((await record(t, purchase(member, 100))).data!.recordActivity.pointsEarned, 0);
    const statuses = await ok<{ campaigns: { edges: { node: { id: string; status: string } }[] } }>('{ campaigns { edges { node { id status } } } }', {}, { token: t.admin });
    const byId = new Map(statuses.campaigns.edges.map((e) => [e.node.id, e.node.status]));
    assert.equal(byId.get(ended), 'ENDED');
    assert.equal(byId.get(live), 'PAUSED');
    assert.deepEqual(codes(await gql('mutation($id: ID!) { activateCampaign(id: $id) { status } }', { id: ended }, { token: t.admin })), ['CONFLICT']);
    await ok('mutation($id: ID!) { activateCampaign(id: $id) { status } }', { id: live }, { token: t.admin });
    assert.equal((await record(t, purchase(member, 100))).data!.recordActivity.pointsEarned, 10);
  });

  it('refuses bad input, naming the field, and stores nothing', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const rule = { name: 'r', trigger: 'PURCHASE', calculation: 'FIXED', points: 1 };
    const campaignCases: [Record<string, unknown>, string][] = [
      [{ timeZone: 'Mars/Olympus' }, 'timeZone'],
      [{ startsAt: '2026-03-01T00:00:00Z', endsAt: '2026-02-01T00:00:00Z' }, 'endsAt'],
      [{ rules: [{ ...rule, happyHours: [{ daysOfWeek: [1], startTime: '9:00', endTime: '10:00', multiplier: 2 }] }] }, 'rules.0.happyHours.0.startTime'],
      [{ rules: [{ ...rule, happyHours: [{ daysOfWeek: [1], startTime: '09:00', endTime: '10:00', multiplier: 0 }] }] }, 'rules.0.happyHours.0.multiplier'],
      [{ rules: [{ ...rule, trigger: 'CUSTOM_EVENT' }] }, 'rules.0.eventName'],
      [{ rules: [{ ...rule, points: -1 }] }, 'rules.0.points'],
    ];
    for (const [input, field] of campaignCases) {
      const result = await gql(CREATE, { input: { name: 'bad', rules: [rule], ...input } }, { token: t.admin });
      assert.deepEqual(codes(result), ['BAD_USER_INPUT'], JSON.stringify(result));
      assert.equal(result.errors![0]!.extensions!.field, field);
    }
    await campaign(t, { rules: [rule] });
    const activityCases: [Record<string, unknown>, string, string][] = [
      [{ memberId: member, type: 'PURCHASE', amount: -1 }, 'BAD_USER_INPUT', 'amount'],
      [{ memberId: member, type: 'PURCHASE' }, 'BAD_USER_INPUT', 'amount'],
      [{ memberId: member, type: 'CUSTOM_EVENT' }, 'BAD_USER_INPUT', 'eventName'],
      [{ memberId: member, type: 'PURCHASE', amount: 1, occurredAt: new Date(Date.now() + 3_600_000).toISOString() }, 'BAD_USER_INPUT', 'occurredAt'],
      // Backdating past MAX_BACKDATE_DAYS (30 by default) would refill the caps of days long gone.
      [{ memberId: member, type: 'PURCHASE', amount: 1, occurredAt: new Date(Date.now() - 31 * 86_400_000).toISOString() }, 'BAD_USER_INPUT', 'occurredAt'],
      [{ memberId: member, type: 'PURCHASE', amount: 1, occurredAt: '0001-01-01T00:00:00.000Z' }, 'BAD_USER_INPUT', 'occurredAt'],
      [{ memberId: member, type: 'PURCHASE', amount: 1, currency: 'EURO' }, 'BAD_USER_INPUT', 'currency'],
      [{ memberId: randomUUID(), type: 'PURCHASE', amount: 1 }, 'NOT_FOUND', 'memberId'],
      [{ memberId: 'nope', type: 'PURCHASE', amount: 1 }, 'BAD_USER_INPUT', 'memberId'],
    ];
    for (const [input, code, field] of activityCases) {
      const result = await record(t, input);
      assert.deepEqual(codes(result), [code], JSON.stringify(result));
      assert.equal(result.errors![0]!.extensions!.field, field);
    }
    const [{ n }] = (await sql<{ n: number }>('campaigns', 'SELECT count(*)::int AS n FROM activities WHERE tenant = $1', [t.tenant])) as [{ n: number }];
    assert.equal(n, 0);
    const [{ c }] = (await sql<{ c: number }>('campaigns', 'SELECT count(*)::int AS c FROM campaigns WHERE tenant = $1', [t.tenant])) as [{ c: number }];
    assert.equal(c, 1);
  });

  it('credits exactly once after members was unreachable, and the budget matches the ledger', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const id = await campaign(t, { rules: [{ name: 'visit', trigger: 'PURCHASE', calculation: 'FIXED', points: 100 }], budget: { maxPoints: 1000 } });
    const proxy = await faultyProxy(subgraphUrls.members, /\/internal\/ledger\/credit/);
    const replica = await startService('campaigns', {
      DATABASE_URL: databases.campaigns!,
      EVENT_BUS_URL: databases.events!,
      MEMBERS_URL: proxy.url,
      SERVICE_SECRET: serviceSecret,
      ACTIVITY_CREDIT_RETRY_INTERVAL_MS: '200',
      ACTIVITY_CREDIT_RETRY_AFTER_MS: '3000', // long enough that the next request and the balance check come first
    });
    replicas.push(replica);
    const caller = { headers: await gatewayCredential({ tenant: t.tenant, principal: 'pos', roles: ['integration'], scopes: [] }) };
    const direct = (input: Record<string, unknown>) =>
      gql<{ recordActivity: { pointsEarned: number; transaction: { id: string } | null } }>(
        'mutation($input: ActivityInput!) { recordActivity(input: $input) { pointsEarned transaction { id } } }',
        { input: { idempotencyKey: randomUUID(), ...input } },
        caller,
        `${replica.url}/graphql`,
      );
    proxy.setMode('refuse');
    const refused = await direct(purchase(member, 100));
    assert.deepEqual(refused.data?.recordActivity, { pointsEarned: 100, transaction: null });
    proxy.setMode('lose-response');
    const lost = await direct(purchase(member, 100));
    assert.deepEqual(lost.data?.recordActivity, { pointsEarned: 100, transaction: null });
    assert.equal(await t.balance(member), 100, 'the lost answer still credited once');
    proxy.setMode('pass');
    await waitFor('the recovery job to settle every PENDING credit', async () => {
      const [{ pending }] = (await sql<{ pending: number }>('campaigns', `SELECT count(*)::int AS pending FROM activities WHERE tenant = $1 AND credit_status = 'PENDING'`, [t.tenant])) as [{ pending: number }];
      return pending === 0;
    });
    assert.equal(await t.balance(member), 200);
    await assertBudgetMatchesLedger(t, id);
    const entries = await sql<{ n: number }>('members', `SELECT count(*)::int AS n FROM ledger_entries WHERE tenant = $1 AND type = 'EARN'`, [t.tenant]);
    assert.equal(entries[0]!.n, 2);
    await proxy.close();
  });
});

describe('recordActivity refuses what would earn twice or wrongly', () => {
  it('earns once per orderId: another key for a recorded order is CONFLICT on orderId, the same key replays', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await campaign(t, { rules: [perEuro] });
    const key = randomUUID();
    const first = await record(t, { ...purchase(member, 12_345, { orderId: 'order-1' }), idempotencyKey: key });
    assert.equal(first.data?.recordActivity.pointsEarned, 246, JSON.stringify(first.errors));
    const again = await record(t, purchase(member, 12_345, { orderId: 'order-1' }));
    assert.deepEqual(codes(again), ['CONFLICT'], JSON.stringify(again));
    assert.equal(again.errors![0]!.extensions!.field, 'orderId');
    const replay = await record(t, { ...purchase(member, 12_345, { orderId: 'order-1' }), idempotencyKey: key });
    assert.equal(replay.data?.recordActivity.transaction?.id, first.data.recordActivity.transaction!.id, JSON.stringify(replay.errors));
    // Racing tills with their own keys: one order still earns once.
    const racing = await Promise.all(Array.from({ length: 5 }, () => record(t, purchase(member, 10_000, { orderId: 'order-2' }))));
    assert.deepEqual(racing.map((r) => r.data?.recordActivity.pointsEarned ?? codes(r)[0]).sort(), [200, 'CONFLICT', 'CONFLICT', 'CONFLICT', 'CONFLICT']);
    assert.equal(await t.balance(member), 446);
    // A custom event may carry an order id without claiming the order.
    const event = await record(t, { memberId: member, type: 'CUSTOM_EVENT', eventName: 'review', orderId: 'order-1' });
    assert.equal(event.errors, undefined, JSON.stringify(event.errors));
    // Order ids belong to a tenant.
    const other = await newTenant();
    const stranger = await other.enroll();
    await campaign(other, { rules: [perEuro] });
    assert.equal((await record(other, purchase(stranger, 12_345, { orderId: 'order-1' }))).data?.recordActivity.pointsEarned, 246);
  });

  it('accepts an occurredAt within MAX_BACKDATE_DAYS in its own period', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await campaign(t, { rules: [{ name: 'visit', trigger: 'PURCHASE', calculation: 'FIXED', points: 100, maxPointsPerMember: 100, capPeriod: 'DAY' }] });
    const earlier = new Date(Date.now() - 29 * 86_400_000).toISOString();
    const earned = await record(t, purchase(member, 500, { occurredAt: earlier }));
    assert.equal(earned.data?.recordActivity.pointsEarned, 100, JSON.stringify(earned.errors));
    assert.equal((await record(t, purchase(member, 500, { occurredAt: earlier }))).data?.recordActivity.pointsEarned, 0);
  });

  it('refuses an award above the per-activity limit as BAD_USER_INPUT on amount, and keeps nothing', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const perCent = { name: 'per cent', trigger: 'PURCHASE', calculation: 'PER_AMOUNT', points: 1000, amountStep: 1 };
    const id = await campaign(t, { rules: [perCent, { ...perCent, name: 'huge', points: 1_000_000, minOrderAmount: 1_000_000_000 }] });
    // 1,000 × 100,000 = the limit of one move, 100,000,000: allowed.
    assert.equal((await record(t, purchase(member, 100_000))).data?.recordActivity.pointsEarned, 100_000_000);
    for (const amount of [100_001, 2_000_000_000]) {
      const result = await record(t, purchase(member, amount));
      assert.deepEqual(codes(result), ['BAD_USER_INPUT'], JSON.stringify(result));
      assert.equal(result.errors![0]!.extensions!.field, 'amount');
    }
    assert.equal(await t.balance(member), 100_000_000);
    const [{ n }] = (await sql<{ n: number }>('campaigns', 'SELECT count(*)::int AS n FROM activities WHERE tenant = $1', [t.tenant])) as [{ n: number }];
    assert.equal(n, 1);
    const budget = await ok<{ campaign: { budget: { pointsIssued: number } } }>('query($id: ID!) { campaign(id: $id) { budget { pointsIssued } } }', { id }, { token: t.admin });
    assert.equal(budget.campaign.budget.pointsIssued, 100_000_000);
  });

  it('shows a member token no campaign budget or eligibility', async () => {
    const t = await newTenant();
    const member = await t.enroll({ country: 'DE', attributes: { vip: false } });
    const id = await campaign(t, { rules: [perEuro], budget: { maxPoints: 5_000 }, eligibility: { countries: ['DE'], attributeEquals: { vip: false } } });
    const memberToken = await token(t.tenant, ['member'], { memberId: member });
    const query = '{ me { eligibleCampaigns { id budget { maxPoints pointsIssued } eligibility { countries attributeEquals } rules { points } } } }';
    const seen = await ok<{ me: { eligibleCampaigns: unknown[] } }>(query, {}, { token: memberToken });
    assert.deepEqual(seen.me.eligibleCampaigns, [{ id, budget: null, eligibility: null, rules: [{ points: 2 }] }]);
    const staff = await ok<{ campaign: unknown }>('query($id: ID!) { campaign(id: $id) { budget { maxPoints pointsIssued } eligibility { countries } } }', { id }, { token: t.admin });
    assert.deepEqual(staff.campaign, { budget: { maxPoints: 5_000, pointsIssued: 0 }, eligibility: { countries: ['DE'] } });
  });
});

describe('recordActivity while members is down', () => {
  it('answers SERVICE_UNAVAILABLE (retryable) when the member cannot be read, keeps nothing, and the same key earns once later', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const id = await campaign(t, { rules: [{ name: 'visit', trigger: 'PURCHASE', calculation: 'FIXED', points: 100 }], budget: { maxPoints: 1000 } });
    const proxy = await faultyProxy(subgraphUrls.members, /\/internal\/members\/snapshots/);
    try {
      const replica = await startService('campaigns', {
        DATABASE_URL: databases.campaigns!,
        EVENT_BUS_URL: databases.events!,
        MEMBERS_URL: proxy.url,
        SERVICE_SECRET: serviceSecret,
        MAX_BACKDATE_DAYS: '1',
      });
      replicas.push(replica);
      const caller = { headers: await gatewayCredential({ tenant: t.tenant, principal: 'pos', roles: ['integration'], scopes: [] }) };
      const url = `${replica.url}/graphql`;
      const direct = (input: Record<string, unknown>) =>
        gql<{ recordActivity: { pointsEarned: number; transaction: { id: string } | null } }>(
          'mutation($input: ActivityInput!) { recordActivity(input: $input) { pointsEarned transaction { id } } }',
          { input: { idempotencyKey: randomUUID(), ...input } },
          caller,
          url,
        );
      const key = randomUUID();
      proxy.setMode('refuse');
      const refused = await direct({ ...purchase(member, 500), idempotencyKey: key });
      assert.deepEqual(refused.errors?.map((e) => e.extensions), [{ code: 'SERVICE_UNAVAILABLE', retryable: true }], JSON.stringify(refused));
      assert.doesNotMatch(JSON.stringify(refused), /127\.0\.0\.1|snapshots|members answered/);
      // What a till behind the gateway sees: the same code, retryable, nothing internal.
      const gateway = await startService('gateway', {
        MEMBERS_URL: subgraphUrls.members,
        CAMPAIGNS_URL: replica.url,
        REWARDS_URL: subgraphUrls.rewards,
        ANALYTICS_URL: subgraphUrls.analytics,
        EVENT_BUS_URL: databases.events!,
        JWT_SECRET: process.env.JWT_SECRET!,
        SERVICE_SECRET: serviceSecret,
      });
      replicas.push(gateway);
      const viaGateway = await gql(
        'mutation($input: ActivityInput!) { recordActivity(input: $input) { pointsEarned } }',
        { input: { ...purchase(member, 500), idempotencyKey: key } },
        { token: await token(t.tenant, ['integration']) },
        `${gateway.url}/graphql`,
      );
      assert.deepEqual(viaGateway.errors?.map((e) => e.extensions), [{ code: 'SERVICE_UNAVAILABLE', retryable: true }], JSON.stringify(viaGateway));
      assert.doesNotMatch(JSON.stringify(viaGateway), /127\.0\.0\.1|snapshots|members answered/);
      const eligible = await gql('query($id: ID!) { _entities(representations: [{ __typename: "Member", id: $id }]) { ... on Member { eligibleCampaigns { id } } } }', { id: member }, caller, url);
      assert.deepEqual(codes(eligible), ['SERVICE_UNAVAILABLE'], JSON.stringify(eligible));
      const [{ n }] = (await sql<{ n: number }>('campaigns', 'SELECT count(*)::int AS n FROM activities WHERE tenant = $1', [t.tenant])) as [{ n: number }];
      assert.equal(n, 0, 'nothing kept while the member could not be read');
      proxy.setMode('pass');
      const retried = await direct({ ...purchase(member, 500), idempotencyKey: key });
      assert.equal(retried.data?.recordActivity.pointsEarned, 100, JSON.stringify(retried.errors));
      const replayed = await direct({ ...purchase(member, 500), idempotencyKey: key });
      assert.equal(replayed.data?.recordActivity.transaction?.id, retried.data.recordActivity.transaction!.id);
      assert.equal(await t.balance(member), 100);
      await assertBudgetMatchesLedger(t, id);
      // MAX_BACKDATE_DAYS is this replica's setting: two days back is too far here.
      const old = await direct(purchase(member, 500, { occurredAt: new Date(Date.now() - 2 * 86_400_000).toISOString() }));
      assert.deepEqual(codes(old), ['BAD_USER_INPUT'], JSON.stringify(old));
      assert.equal(old.errors![0]!.extensions!.field, 'occurredAt');
    } finally {
      await proxy.close();
    }
  });
});
