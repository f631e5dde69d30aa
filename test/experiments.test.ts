import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from '@jest/globals';
import { IDENTITY_HEADER, experimentArm, experimentBucket, experimentBucketSql, serviceIdentity, signIdentity } from '@loyalty/kit';
import { summarise, uplift, welch } from '../subgraphs/analytics/src/experiment/welch.rule';
import { gql, newTenant, ok, serviceSecret, sql, subgraphUrls, token } from './support/system';

// Experiments (A/B tests) on campaigns: sticky arms, holdout and variant rules at earning, the report
// against known data, promoteVariant, and bad input.

type Tenant = Awaited<ReturnType<typeof newTenant>>;
type Arm = Record<string, any>;

const CREATE = 'mutation($input: CampaignInput!) { createCampaign(input: $input) { id experiment { holdoutPercent startedAt endedAt variants { key weight rules { id points } } } } }';
const ACTIVATE = 'mutation($id: ID!) { activateCampaign(id: $id) { id experiment { startedAt } } }';
const ARM = 'query($id: ID!, $campaignId: ID!) { member(id: $id) { experimentArm(campaignId: $campaignId) } }';
const RECORD = 'mutation($input: ActivityInput!) { recordActivity(input: $input) { pointsEarned appliedRules { campaign { id } ruleId points } } }';
const REPORT = `query($campaignId: ID!) { experimentReport(campaignId: $campaignId) {
  campaign { id name }
  arms { key members activeMembers activities pointsIssued purchaseAmount amountPerMember redemptions upliftVsHoldout pValue }
} }`;
const PROMOTE = 'mutation($campaignId: ID!, $key: String!) { promoteVariant(campaignId: $campaignId, key: $key) { id rules { id points } experiment { endedAt } } }';

const fixed = (name: string, points: number) => ({ name, trigger: 'PURCHASE', calculation: 'FIXED', points });

/** Waits until analytics has applied everything on the bus. */
async function caughtUp(): Promise<void> {
  const headers = { [IDENTITY_HEADER]: await signIdentity(serviceIdentity('test', '*'), serviceSecret) };
  for (let i = 0; i < 400; i++) {
    const [{ head }] = (await sql<{ head: string }>('events', 'SELECT COALESCE(max(position), 0)::text AS head FROM bus_events')) as [{ head: string }];
    const { position } = (await (await fetch(`${subgraphUrls.analytics}/internal/analytics/position`, { headers })).json()) as { position: string };
    if (BigInt(position) >= BigInt(head)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('analytics did not catch up with the bus');
}

async function campaign(t: Tenant, experiment: Record<string, unknown>, rules = [fixed('own', 5)]): Promise<string> {
  const { createCampaign } = await ok<{ createCampaign: { id: string } }>(CREATE, { input: { name: 'Test', rules, experiment } }, { token: t.admin });
  await ok(ACTIVATE, { id: createCampaign.id }, { token: t.admin });
  return createCampaign.id;
}

/** Enrols members until every arm has at least `perArm` of them; returns them by arm. */
async function membersByArm(t: Tenant, campaignId: string, arms: string[], perArm = 2): Promise<Map<string, string[]>> {
  const byArm = new Map(arms.map((arm) => [arm, [] as string[]]));
  for (let i = 0; i < 200 && [...byArm.values()].some((m) => m.length < perArm); i++) {
    const id = await t.enroll();
    const { member } = await ok<{ member: { experimentArm: string } }>(ARM, { id, campaignId }, { token: t.admin });
    byArm.get(member.experimentArm)!.push(id);
  }
  return byArm;
}

describe('experiments', () => {
  it('assigns each member an arm by a hash of tenant, campaign and member, the same in SQL as in JS, on every call', async () => {
    const t = await newTenant();
    const id = await campaign(t, { holdoutPercent: 20, variants: [{ key: 'A', weight: 1, rules: [fixed('a', 10)] }, { key: 'B', weight: 3, rules: [fixed('b', 20)] }] });
    const shape = { holdoutPercent: 20, variants: [{ key: 'A', weight: 1 }, { key: 'B', weight: 3 }] };
    for (let i = 0; i < 8; i++) {
      const member = await t.enroll();
      const first = (await ok<{ member: { experimentArm: string } }>(ARM, { id: member, campaignId: id }, { token: t.admin })).member.experimentArm;
      const again = (await ok<{ member: { experimentArm: string } }>(ARM, { id: member, campaignId: id }, { token: await token(t.tenant, ['marketer']) })).member.experimentArm;
      assert.equal(again, first);
      assert.equal(first, experimentArm(shape, t.tenant, id, member));
    }
    // The report's SQL hash against the JS one, over many ids.
    const ids = Array.from({ length: 500 }, () => randomUUID());
    const rows = await sql<{ member: string; bucket: number }>(
      'analytics',
      `SELECT m AS member, ${experimentBucketSql('$1::text', '$2::uuid', 'm')}::int AS bucket FROM unnest($3::uuid[]) m`,
      [t.tenant, id, ids],
    );
    assert.equal(rows.length, 500);
    for (const row of rows) assert.equal(row.bucket, experimentBucket(t.tenant, id, row.member), row.member);
    // A campaign without an experiment puts nobody in an arm.
    const plain = (await ok<{ createCampaign: { id: string } }>(CREATE, { input: { name: 'Plain', rules: [fixed('own', 5)] } }, { token: t.admin })).createCampaign.id;
    const member = await t.enroll();
    assert.equal((await ok<{ member: { experimentArm: string | null } }>(ARM, { id: member, campaignId: plain }, { token: t.admin })).member.experimentArm, null);
  });

  it('gives the holdout nothing and each variant its rules, reports the arms from known data, and promotes the winner to everyone', async () => {
    const t = await newTenant();
    const integration = await token(t.tenant, ['integration']);
    const id = await campaign(t, { holdoutPercent: 30, variants: [{ key: 'A', weight: 1, rules: [fixed('a', 10)] }, { key: 'B', weight: 1, rules: [fixed('b', 20)] }] });
    const arms = await membersByArm(t, id, ['HOLDOUT', 'A', 'B']);
    const purchase = (memberId: string, amount: number) =>
      ok<{ recordActivity: { pointsEarned: number; appliedRules: { campaign: { id: string }; points: number }[] } }>(
        RECORD,
        { input: { memberId, type: 'PURCHASE', amount, currency: 'EUR', idempotencyKey: randomUUID() } },
        { token: integration },
      );
    const [h1, h2] = arms.get('HOLDOUT')!;
    const [a1, a2] = arms.get('A')!;
    const [b1] = arms.get('B')!;
    const held = await purchase(h1!, 1000);
    assert.equal(held.recordActivity.pointsEarned, 0);
    assert.deepEqual(held.recordActivity.appliedRules.filter((r) => r.campaign.id === id), []);
    await purchase(h2!, 3000);
    assert.equal((await purchase(a1!, 2000)).recordActivity.pointsEarned, 10);
    assert.equal((await purchase(a1!, 4000)).recordActivity.pointsEarned, 10);
    assert.equal((await purchase(a2!, 6000)).recordActivity.pointsEarned, 10);
    assert.equal((await purchase(b1!, 5000)).recordActivity.pointsEarned, 20);
    const reward = (await ok<{ createReward: { id: string } }>('mutation { createReward(input: { name: "Pen", type: PRODUCT, costPoints: 10 }) { id } }', {}, { token: t.admin })).createReward.id;
    await ok('mutation($input: RedeemRewardInput!) { redeemReward(input: $input) { id } }', { input: { memberId: a1, rewardId: reward, idempotencyKey: randomUUID() } }, { token: t.admin });

    await caughtUp();
    const report = async () => (await ok<{ experimentReport: { campaign: { id: string; name: string }; arms: Arm[] } }>(REPORT, { campaignId: id }, { token: t.admin })).experimentReport;
    const before = await report();
    assert.deepEqual(before.campaign, { id, name: 'Test' });
    assert.deepEqual(before.arms.map((a) => String(a.key)), ['HOLDOUT', 'A', 'B']);
    // Per member purchase amounts, zeros included, as the truth the report must match.
    const amounts = new Map<string, number[]>([...arms].map(([arm, members]) => [arm, members.map(() => 0)]));
    const spent: Record<string, number> = { [h1!]: 1000, [h2!]: 3000, [a1!]: 6000, [a2!]: 6000, [b1!]: 5000 };
    for (const [arm, members] of arms) amounts.set(arm, members.map((m) => spent[m] ?? 0));
    const expected = {
      HOLDOUT: { activities: 2, pointsIssued: 0, purchaseAmount: 4000, redemptions: 0, activeMembers: 2 },
      A: { activities: 3, pointsIssued: 30, purchaseAmount: 12000, redemptions: 1, activeMembers: 2 },
      B: { activities: 1, pointsIssued: 20, purchaseAmount: 5000, redemptions: 0, activeMembers: 1 },
    } as const;
    const holdout = summarise(amounts.get('HOLDOUT')!);
    for (const arm of before.arms) {
      const key = arm.key as keyof typeof expected;
      const values = amounts.get(key)!;
      assert.equal(arm.members, values.length, key);
      for (const [field, value] of Object.entries(expected[key])) assert.equal(arm[field], value, `${key}.${field}`);
      assert.ok(Math.abs(arm.amountPerMember - expected[key].purchaseAmount / values.length) < 1e-9, `${key}.amountPerMember`);
      if (key === 'HOLDOUT') {
        assert.equal(arm.upliftVsHoldout, null);
        assert.equal(arm.pValue, null);
      } else {
        const summary = summarise(values);
        assert.ok(Math.abs(arm.upliftVsHoldout - uplift(summary, holdout)!) < 1e-9, `${key}.upliftVsHoldout`);
        const test = welch(summary, holdout);
        if (test === null) assert.equal(arm.pValue, null);
        else assert.ok(Math.abs(arm.pValue - test.pValue) < 1e-9, `${key}.pValue`);
      }
    }

    // Weights and holdout are frozen once started.
    const frozen = await gql(
      'mutation($id: ID!, $input: CampaignInput!) { updateCampaign(id: $id, input: $input) { id } }',
      { id, input: { name: 'Test', rules: [fixed('own', 5)], experiment: { holdoutPercent: 30, variants: [{ key: 'A', weight: 2, rules: [fixed('a', 10)] }, { key: 'B', weight: 1, rules: [fixed('b', 20)] }] } } },
      { token: t.admin },
    );
    assert.equal(frozen.errors?.[0]?.extensions?.code, 'CONFLICT');
    assert.equal(frozen.errors?.[0]?.extensions?.field, 'experiment.variants');

    const promoted = await ok<{ promoteVariant: { rules: { points: number }[]; experiment: { endedAt: string | null } } }>(PROMOTE, { campaignId: id, key: 'B' }, { token: t.admin });
    assert.deepEqual(promoted.promoteVariant.rules.map((r) => r.points), [20]);
    assert.ok(promoted.promoteVariant.experiment.endedAt);
    const [audit] = await sql<{ after: { variant: string } }>('campaigns', `SELECT after FROM audit_entries WHERE tenant = $1 AND action = 'promoteVariant'`, [t.tenant]);
    assert.equal(audit?.after.variant, 'B');
    // From now on everyone, the holdout too, earns by the winner's rules; nobody is in an arm.
    assert.equal((await purchase(h1!, 1000)).recordActivity.pointsEarned, 20);
    assert.equal((await purchase(a2!, 1000)).recordActivity.pointsEarned, 20);
    assert.equal((await ok<{ member: { experimentArm: string | null } }>(ARM, { id: h1, campaignId: id }, { token: t.admin })).member.experimentArm, null);
    // The report keeps the experiment's figures: what came after its end is not in them.
    await caughtUp();
    assert.deepEqual((await report()).arms, before.arms);
    const again = await gql(PROMOTE, { campaignId: id, key: 'A' }, { token: t.admin });
    assert.equal(again.errors?.[0]?.extensions?.code, 'CONFLICT');
  });

  it('runs the campaign\'s own rules as the one arm BASE without variants', async () => {
    const t = await newTenant();
    const integration = await token(t.tenant, ['integration']);
    const id = await campaign(t, { holdoutPercent: 50 }, [fixed('own', 7)]);
    const arms = await membersByArm(t, id, ['HOLDOUT', 'BASE'], 1);
    const earn = async (memberId: string) =>
      (await ok<{ recordActivity: { pointsEarned: number } }>(RECORD, { input: { memberId, type: 'PURCHASE', amount: 100, idempotencyKey: randomUUID() } }, { token: integration }))
        .recordActivity.pointsEarned;
    assert.equal(await earn(arms.get('BASE')![0]!), 7);
    assert.equal(await earn(arms.get('HOLDOUT')![0]!), 0);
    await caughtUp();
    const { experimentReport } = await ok<{ experimentReport: { arms: { key: string; members: number; pointsIssued: number }[] } }>(REPORT, { campaignId: id }, { token: t.admin });
    assert.deepEqual(experimentReport.arms.map((a) => [a.key, a.members, a.pointsIssued]), [
      ['HOLDOUT', arms.get('HOLDOUT')!.length, 0],
      ['BASE', arms.get('BASE')!.length, 7],
    ]);
    const wrong = await gql(PROMOTE, { campaignId: id, key: 'A' }, { token: t.admin });
    assert.equal(wrong.errors?.[0]?.extensions?.field, 'key');
    await ok(PROMOTE, { campaignId: id, key: 'BASE' }, { token: t.admin });
    assert.equal(await earn(arms.get('HOLDOUT')![0]!), 7);
  });

  it('refuses bad experiments naming the field, writes nothing, and keeps experiments to staff of the tenant', async () => {
    const t = await newTenant();
    const cases: [Record<string, unknown>, string][] = [
      [{ holdoutPercent: 101 }, 'experiment.holdoutPercent'],
      [{ holdoutPercent: -1 }, 'experiment.holdoutPercent'],
      [{ variants: [{ key: 'A', weight: 0, rules: [] }] }, 'experiment.variants.0.weight'],
      [{ variants: [{ key: 'A', weight: 1, rules: [] }, { key: 'A', weight: 1, rules: [] }] }, 'experiment.variants.1.key'],
      [{ variants: [{ key: 'HOLDOUT', weight: 1, rules: [] }] }, 'experiment.variants.0.key'],
      [{ variants: [{ key: 'BASE', weight: 1, rules: [] }] }, 'experiment.variants.0.key'],
      [{ variants: [{ key: 'no spaces', weight: 1, rules: [] }] }, 'experiment.variants.0.key'],
      [{ variants: [{ key: 'A', weight: 1, rules: [{ name: 'x', trigger: 'CUSTOM_EVENT', calculation: 'FIXED', points: 1 }] }] }, 'experiment.variants.0.rules.0.eventName'],
    ];
    for (const [experiment, field] of cases) {
      const result = await gql(CREATE, { input: { name: 'Bad', rules: [], experiment } }, { token: t.admin });
      assert.equal(result.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(experiment));
      assert.equal(result.errors?.[0]?.extensions?.field, field, JSON.stringify(experiment));
    }
    assert.deepEqual(await sql('campaigns', 'SELECT id FROM campaigns WHERE tenant = $1', [t.tenant]), []);

    const id = await campaign(t, { holdoutPercent: 10 });
    const plain = (await ok<{ createCampaign: { id: string } }>(CREATE, { input: { name: 'Plain', rules: [] } }, { token: t.admin })).createCampaign.id;
    assert.equal((await gql(PROMOTE, { campaignId: plain, key: 'BASE' }, { token: t.admin })).errors?.[0]?.extensions?.code, 'CONFLICT');
    await caughtUp();
    assert.equal((await gql(REPORT, { campaignId: plain }, { token: t.admin })).errors?.[0]?.extensions?.code, 'NOT_FOUND');
    // Another tenant knows nothing of it.
    const other = await newTenant();
    assert.equal((await gql(REPORT, { campaignId: id }, { token: other.admin })).errors?.[0]?.extensions?.code, 'NOT_FOUND');
    assert.equal((await gql(PROMOTE, { campaignId: id, key: 'BASE' }, { token: other.admin })).errors?.[0]?.extensions?.code, 'NOT_FOUND');
    // A member sees neither the experiment nor the report.
    const memberId = await t.enroll();
    const member = await token(t.tenant, ['member'], { memberId });
    assert.equal((await gql(REPORT, { campaignId: id }, { token: member })).errors?.[0]?.extensions?.code, 'FORBIDDEN');
    const seen = await ok<{ campaign: { experiment: unknown } | null }>('query($id: ID!) { campaign(id: $id) { experiment { holdoutPercent } } }', { id }, { token: await token(t.tenant, ['agent']) });
    assert.deepEqual(seen.campaign?.experiment, { holdoutPercent: 10 });
  });
});
