import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from '@jest/globals';
import { codes, gql, newTenant, ok, sql, token } from './support/system';

// Stacking (priority, exclusive), previewActivity and simulateCampaign, through the gateway.

type Tenant = Awaited<ReturnType<typeof newTenant>>;

const EARN_FIELDS = `pointsEarned transaction { id } appliedRules { ruleId points exclusive campaign { id name priority exclusive } } excludedCampaigns { id name }`;
const RECORD = `mutation($input: ActivityInput!) { recordActivity(input: $input) { ${EARN_FIELDS} } }`;
const PREVIEW = `query($input: ActivityInput!) { previewActivity(input: $input) { ${EARN_FIELDS} } }`;
const SIMULATE = `query($input: CampaignInput!, $range: DateRangeInput!) {
  simulateCampaign(input: $input, range: $range) { pointsIssued members activities budgetExhaustedAt }
}`;

interface Earned {
  pointsEarned: number;
  transaction: { id: string } | null;
  appliedRules: { ruleId: string; points: number; exclusive: boolean; campaign: { id: string; name: string; priority: number; exclusive: boolean } }[];
  excludedCampaigns: { id: string; name: string }[];
}

async function campaign(t: Tenant, input: Record<string, unknown>): Promise<string> {
  const created = await ok<{ createCampaign: { id: string } }>(
    'mutation($input: CampaignInput!) { createCampaign(input: $input) { id } }',
    { input: { name: 'Campaign', ...input } },
    { token: t.admin },
  );
  await ok('mutation($id: ID!) { activateCampaign(id: $id) { status } }', { id: created.createCampaign.id }, { token: t.admin });
  return created.createCampaign.id;
}

const fixed = (points: number, extra: Record<string, unknown> = {}) => ({ name: `${points} per purchase`, trigger: 'PURCHASE', calculation: 'FIXED', points, ...extra });
const purchase = (memberId: string, amount: number, extra: Record<string, unknown> = {}) => ({ memberId, type: 'PURCHASE', amount, currency: 'EUR', idempotencyKey: randomUUID(), ...extra });

/** Everything an activity could write, per tenant: a preview must leave every figure as it was. */
async function footprint(t: Tenant) {
  const [c] = await sql<Record<string, number>>(
    'campaigns',
    `SELECT (SELECT count(*)::int FROM activities WHERE tenant = $1) AS activities,
            (SELECT COALESCE(sum(points_issued), 0)::int FROM campaigns WHERE tenant = $1) AS issued,
            (SELECT COALESCE(sum(points), 0)::int FROM member_caps WHERE member_id IN (SELECT member_id FROM activities WHERE tenant = $1)) AS caps,
            (SELECT count(*)::int FROM outbox WHERE tenant = $1) AS events,
            (SELECT count(*)::int FROM audit_entries WHERE tenant = $1) AS audit`,
    [t.tenant],
  );
  const [m] = await sql<Record<string, number>>('members', 'SELECT count(*)::int AS entries FROM ledger_entries WHERE tenant = $1', [t.tenant]);
  return { ...c, ...m };
}

describe('stacking: priority order and exclusive campaigns', () => {
  const cases: {
    name: string;
    campaigns: { name: string; priority?: number; exclusive?: boolean; rules: Record<string, unknown>[]; maxPoints?: number }[];
    /** Amounts of purchases recorded first (to use up budgets). */
    before?: number[];
    amount: number;
    applied: [string, number][];
    excluded: string[];
  }[] = [
    {
      name: 'without exclusive campaigns every campaign applies, higher priority first',
      campaigns: [{ name: 'low', priority: 1, rules: [fixed(10)] }, { name: 'high', priority: 5, rules: [fixed(20)] }],
      amount: 1000,
      applied: [['high', 20], ['low', 10]],
      excluded: [],
    },
    {
      name: 'an exclusive campaign that awards points stops the lower ones',
      campaigns: [
        { name: 'base', priority: 0, rules: [fixed(10)] },
        { name: 'vip', priority: 10, exclusive: true, rules: [fixed(50)] },
        { name: 'summer', priority: 5, rules: [fixed(5)] },
      ],
      amount: 1000,
      applied: [['vip', 50]],
      excluded: ['summer', 'base'],
    },
    {
      name: 'an exclusive campaign that awards nothing (minimum not met) stops nothing',
      campaigns: [{ name: 'base', rules: [fixed(10)] }, { name: 'big orders', priority: 10, exclusive: true, rules: [fixed(50, { minOrderAmount: 50_000 })] }],
      amount: 1000,
      applied: [['base', 10]],
      excluded: [],
    },
    {
      name: 'an exclusive campaign whose budget ran out stops nothing',
      campaigns: [{ name: 'base', rules: [fixed(10)] }, { name: 'launch', priority: 10, exclusive: true, rules: [fixed(50)], maxPoints: 50 }],
      before: [1000],
      amount: 1000,
      applied: [['base', 10]],
      excluded: [],
    },
    {
      name: 'an exclusive campaign of low priority stops only what comes after it',
      campaigns: [
        { name: 'double days', priority: 20, rules: [fixed(30)] },
        { name: 'store opening', priority: 10, exclusive: true, rules: [fixed(40)] },
        { name: 'base', priority: 0, rules: [fixed(10)] },
      ],
      amount: 1000,
      applied: [['double days', 30], ['store opening', 40]],
      excluded: ['base'],
    },
    {
      name: 'equal priorities apply the older campaign first, so a newer exclusive one does not stop it',
      campaigns: [
        { name: 'older', priority: 3, rules: [fixed(10)] },
        { name: 'newer exclusive', priority: 3, exclusive: true, rules: [fixed(15)] },
        { name: 'newest', priority: 3, rules: [fixed(1)] },
      ],
      amount: 1000,
      applied: [['older', 10], ['newer exclusive', 15]],
      excluded: ['newest'],
    },
  ];

  it.each(cases)('$name (previewed, then recorded: the same answer)', async ({ campaigns, before = [], amount, applied, excluded }) => {
    const t = await newTenant();
    const memberId = await t.enroll();
    for (const c of campaigns) await campaign(t, { name: c.name, priority: c.priority ?? 0, exclusive: c.exclusive ?? false, rules: c.rules, budget: c.maxPoints ? { maxPoints: c.maxPoints } : null });
    for (const a of before) await ok(RECORD, { input: purchase(memberId, a) }, { token: t.admin });

    const input = purchase(memberId, amount);
    const untouched = await footprint(t);
    const preview = (await ok<{ previewActivity: Earned }>(PREVIEW, { input }, { token: t.admin })).previewActivity;
    assert.deepEqual(await footprint(t), untouched, 'a preview writes nothing');
    const recorded = (await ok<{ recordActivity: Earned }>(RECORD, { input }, { token: t.admin })).recordActivity;

    const shown = (e: Earned) => e.appliedRules.map((r) => [r.campaign.name, r.points]);
    assert.deepEqual(shown(recorded), applied);
    assert.deepEqual(recorded.excludedCampaigns.map((c) => c.name), excluded);
    assert.equal(recorded.pointsEarned, applied.reduce((sum, [, p]) => sum + p, 0));
    for (const rule of recorded.appliedRules) assert.equal(rule.exclusive, rule.campaign.exclusive);
    assert.deepEqual({ ...preview, transaction: null }, { ...recorded, transaction: null });
    assert.equal(preview.transaction, null);

    // A replay gives the same decision; the stopped campaigns kept none of the budget they reserved.
    const replay = (await ok<{ recordActivity: Earned }>(RECORD, { input }, { token: t.admin })).recordActivity;
    assert.deepEqual(replay, recorded);
    const budgets = await sql<{ name: string; issued: number; awarded: number }>(
      'campaigns',
      `SELECT c.name, c.points_issued::int AS issued, COALESCE((SELECT sum(points) FROM activity_awards w WHERE w.campaign_id = c.id), 0)::int AS awarded
       FROM campaigns c WHERE c.tenant = $1`,
      [t.tenant],
    );
    for (const b of budgets) assert.equal(b.issued, b.awarded, `${b.name}: issued = awarded`);
  });

  it('concurrent activities: a stopped campaign never awards, budgets and caps equal what the ledger credited', async () => {
    const t = await newTenant();
    const members = await Promise.all([1, 2, 3, 4].map(() => t.enroll()));
    const exclusive = await campaign(t, { name: 'launch', priority: 10, exclusive: true, rules: [fixed(25)], budget: { maxPoints: 200 } });
    const base = await campaign(t, { name: 'base', rules: [fixed(10, { maxPointsPerMember: 40, capPeriod: 'LIFETIME' })] });
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => ok<{ recordActivity: Earned }>(RECORD, { input: purchase(members[i % 4]!, 1000) }, { token: t.admin })));

    // 200 / 25: the first 8 activities are the launch's alone; then base, capped at 40 per member.
    const byCampaign = (id: string) => results.flatMap((r) => r.recordActivity.appliedRules).filter((r) => r.campaign.id === id).reduce((s, r) => s + r.points, 0);
    assert.equal(byCampaign(exclusive), 200);
    for (const r of results) assert.ok(r.recordActivity.appliedRules.length <= 1, 'at most one campaign per activity: launch stops base, or base alone (or its cap is full)');
    const both = await sql('campaigns', `SELECT activity_id FROM activity_awards WHERE campaign_id = ANY($1) GROUP BY activity_id HAVING count(DISTINCT campaign_id) > 1`, [[exclusive, base]]);
    assert.deepEqual(both, []);
    const [caps] = await sql<{ max: number }>('campaigns', `SELECT max(points)::int AS max FROM member_caps WHERE member_id = ANY($1)`, [members]);
    assert.ok(caps!.max <= 40);
    const [issued] = await sql<{ total: number }>('campaigns', 'SELECT sum(points_issued)::int AS total FROM campaigns WHERE tenant = $1', [t.tenant]);
    const [earned] = await sql<{ total: number }>('members', `SELECT COALESCE(sum(points), 0)::int AS total FROM ledger_entries WHERE tenant = $1 AND type = 'EARN'`, [t.tenant]);
    assert.equal(issued!.total, earned!.total);
    assert.equal(byCampaign(base), issued!.total - 200);
  });
});

describe('previewActivity', () => {
  it('shows what a cap and a budget have left now, a used key previews its replay, a used order conflicts', async () => {
    const t = await newTenant();
    const memberId = await t.enroll();
    await campaign(t, { rules: [fixed(30, { maxPointsPerMember: 50, capPeriod: 'LIFETIME' })], budget: { maxPoints: 1000 } });
    const first = purchase(memberId, 1000, { orderId: 'order-1' });
    await ok(RECORD, { input: first }, { token: t.admin });

    const untouched = await footprint(t);
    const next = purchase(memberId, 1000, { orderId: 'order-2' });
    const preview = (await ok<{ previewActivity: Earned }>(PREVIEW, { input: next }, { token: t.admin })).previewActivity;
    assert.equal(preview.pointsEarned, 20, 'the cap has 20 left');
    // The same key again: the stored answer, still nothing written.
    const replayed = (await ok<{ previewActivity: Earned }>(PREVIEW, { input: first }, { token: t.admin })).previewActivity;
    assert.equal(replayed.pointsEarned, 30);
    assert.deepEqual(codes(await gql(PREVIEW, { input: { ...first, amount: 999 } }, { token: t.admin })), ['IDEMPOTENCY_CONFLICT']);
    const reused = await gql(PREVIEW, { input: purchase(memberId, 1000, { orderId: 'order-1' }) }, { token: t.admin });
    assert.deepEqual(codes(reused), ['CONFLICT']);
    assert.equal(reused.errors![0]!.extensions!.field, 'orderId');
    assert.deepEqual(await footprint(t), untouched);

    assert.equal((await ok<{ recordActivity: Earned }>(RECORD, { input: next }, { token: t.admin })).recordActivity.pointsEarned, 20);
    assert.equal((await ok<{ previewActivity: Earned }>(PREVIEW, { input: purchase(memberId, 1000) }, { token: t.admin })).previewActivity.pointsEarned, 0);
  });

  it('refuses bad input like recordActivity, and a member may not preview', async () => {
    const t = await newTenant();
    const memberId = await t.enroll();
    const bad = await gql(PREVIEW, { input: { memberId, type: 'PURCHASE', idempotencyKey: 'k' } }, { token: t.admin });
    assert.deepEqual(codes(bad), ['BAD_USER_INPUT']);
    assert.equal(bad.errors![0]!.extensions!.field, 'amount');
    const other = await newTenant();
    assert.deepEqual(codes(await gql(PREVIEW, { input: purchase(await other.enroll(), 100) }, { token: t.admin })), ['NOT_FOUND']);
    const member = await token(t.tenant, ['member'], { memberId });
    assert.deepEqual(codes(await gql(PREVIEW, { input: purchase(memberId, 100) }, { token: member })), ['FORBIDDEN']);
  });
});

describe('simulateCampaign', () => {
  const at = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString();

  it("replays the range's activities against a draft: caps, budget, eligibility, current tiers; writes nothing", async () => {
    const t = await newTenant();
    const nl = await t.enroll({ country: 'NL' });
    const nl2 = await t.enroll({ country: 'NL' });
    const de = await t.enroll({ country: 'DE' });
    // Recorded with no campaign running: they earned nothing, but they are history to replay.
    const days = [20, 19, 18, 17, 16, 15].map((d) => at(d));
    const history: [string, number, string][] = [
      [nl, 10_000, days[0]!], // 100.00 → 100 points
      [de, 10_000, days[1]!], // not eligible
      [nl2, 5_000, days[2]!], // 50
      [nl, 9_000, days[3]!], // 90, capped at 150 - 100 = 50
      [nl2, 20_000, days[4]!], // 200 → the cap has 100 left, the budget (300) 100 too → 100: exhausted here
      [nl, 5_000, days[5]!], // nothing: the budget is spent
    ];
    for (const [memberId, amount, occurredAt] of history) await ok(RECORD, { input: purchase(memberId, amount, { occurredAt }) }, { token: t.admin });
    const draft = {
      name: 'Spring test',
      eligibility: { countries: ['NL'] },
      rules: [{ name: '1 per 1.00', trigger: 'PURCHASE', calculation: 'PER_AMOUNT', points: 1, amountStep: 100, maxPointsPerMember: 150, capPeriod: 'LIFETIME' }],
      budget: { maxPoints: 300 },
    };
    const untouched = await footprint(t);
    const simulated = await ok<{ simulateCampaign: Record<string, unknown> }>(SIMULATE, { input: draft, range: { from: at(21), to: at(0) } }, { token: t.admin });
    assert.deepEqual(simulated.simulateCampaign, { pointsIssued: 300, members: 2, activities: 4, budgetExhaustedAt: days[4] });
    assert.deepEqual(await footprint(t), untouched, 'a simulation writes nothing');

    // The range and the draft's own dates narrow what is replayed; without a budget nothing runs out.
    const narrow = await ok<{ simulateCampaign: Record<string, unknown> }>(
      SIMULATE,
      { input: { ...draft, budget: null, startsAt: new Date(Date.parse(days[2]!) - 60_000).toISOString() }, range: { from: at(21), to: days[4] } },
      { token: t.admin },
    );
    // From day 18 to day 16 (inclusive): nl2 50, nl 90 (its cap starts afresh), nl2 200 → its cap's 100 left.
    assert.deepEqual(narrow.simulateCampaign, { pointsIssued: 50 + 90 + 100, members: 2, activities: 3, budgetExhaustedAt: null });
  });

  it('refuses a bad draft or range naming the field, and is for admins and marketers only', async () => {
    const t = await newTenant();
    const draft = { name: 'x', rules: [fixed(1)] };
    const cases: [Record<string, unknown>, Record<string, unknown>, string][] = [
      [draft, { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 'range.from'],
      [draft, { from: '2024-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 'range'],
      [{ name: 'x', rules: [{ name: 'e', trigger: 'CUSTOM_EVENT', calculation: 'FIXED', points: 1 }] }, {}, 'rules.0.eventName'],
      [{ name: 'x', rules: [fixed(1)], priority: 5000 }, {}, 'priority'],
    ];
    for (const [input, range, field] of cases) {
      const refused = await gql(SIMULATE, { input, range }, { token: t.admin });
      assert.deepEqual(codes(refused), ['BAD_USER_INPUT'], field);
      assert.equal(refused.errors![0]!.extensions!.field, field);
    }
    const marketer = await token(t.tenant, ['marketer']);
    assert.equal((await ok<{ simulateCampaign: { activities: number } }>(SIMULATE, { input: draft, range: {} }, { token: marketer })).simulateCampaign.activities, 0);
    const agent = await token(t.tenant, ['agent']);
    assert.deepEqual(codes(await gql(SIMULATE, { input: draft, range: {} }, { token: agent })), ['FORBIDDEN']);
  });
});
