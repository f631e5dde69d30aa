import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { afterAll, describe, it } from '@jest/globals';
import { positional, segmentSql } from '../subgraphs/members/src/segment/segment.rule';
import { waitFor } from './support/processes';
import { CASES, NOW } from './support/segment-cases';
import { codes, gql, newTenant, ok, sql, token, type Caller } from './support/system';

// Dynamic segments through the gateway: conditions, exact counts, membership that follows a member's
// data and activity, the events of entering and leaving (outbox and webhooks), targeting by campaigns
// and rewards, what is refused, and the SQL of the conditions against the TypeScript evaluation.
type Tenant = Awaited<ReturnType<typeof newTenant>>;

const UPSERT = 'mutation($input: SegmentInput!) { upsertSegment(input: $input) { id name memberCount conditions { countries minTierRank attributeEquals minLifetimeEarned enrolledWithinDays inactiveForDays activeWithinDays } } }';
const SEGMENT = 'query($id: ID!) { segment(id: $id) { id name memberCount } }';
const MEMBER_SEGMENTS = 'query($id: ID!) { member(id: $id) { segments { id name } } }';

async function upsert(t: Tenant, input: Record<string, unknown>, caller: Caller = { token: t.admin }) {
  const data = await ok<{ upsertSegment: { id: string; memberCount: number; conditions: Record<string, unknown> } }>(UPSERT, { input: { name: `Segment ${randomUUID().slice(0, 6)}`, ...input } }, caller);
  return data.upsertSegment;
}

const memberCount = async (t: Tenant, id: string) => (await ok<{ segment: { memberCount: number } }>(SEGMENT, { id }, { token: t.admin })).segment.memberCount;
const segmentsOf = async (t: Tenant, memberId: string) =>
  (await ok<{ member: { segments: { id: string }[] } }>(MEMBER_SEGMENTS, { id: memberId }, { token: t.admin })).member.segments.map((s) => s.id).sort();

/** The segment events members wrote for the tenant, in order: "ENTERED <segment> <member>". */
async function segmentEvents(t: Tenant): Promise<string[]> {
  const rows = await sql<{ type: string; payload: { segmentId: string; memberId: string } }>(
    'members',
    `SELECT type, payload FROM outbox WHERE tenant = $1 AND type IN ('SEGMENT_ENTERED', 'SEGMENT_LEFT') ORDER BY id`,
    [t.tenant],
  );
  return rows.map((row) => `${row.type === 'SEGMENT_ENTERED' ? 'ENTERED' : 'LEFT'} ${row.payload.segmentId} ${row.payload.memberId}`);
}

const recorded = async (t: Tenant) => (await sql<{ segment_id: string; member_id: string }>('members', 'SELECT segment_id, member_id FROM segment_members WHERE tenant = $1', [t.tenant])).length;

async function earn(t: Tenant, memberId: string, amount = 1000) {
  return ok<{ recordActivity: { pointsEarned: number } }>(
    'mutation($input: ActivityInput!) { recordActivity(input: $input) { pointsEarned } }',
    { input: { memberId, type: 'PURCHASE', amount, currency: 'EUR', idempotencyKey: randomUUID() } },
    { token: t.admin },
  );
}

async function campaign(t: Tenant, input: Record<string, unknown>) {
  const created = await gql<{ createCampaign: { id: string } }>(
    'mutation($input: CampaignInput!) { createCampaign(input: $input) { id eligibility { segmentIds } } }',
    { input: { name: 'Campaign', rules: [{ name: 'visit', trigger: 'PURCHASE', calculation: 'FIXED', points: 10 }], ...input } },
    { token: t.admin },
  );
  if (created.errors) return created;
  await ok('mutation($id: ID!) { activateCampaign(id: $id) { status } }', { id: created.data!.createCampaign.id }, { token: t.admin });
  return created;
}

describe('segments', () => {
  const servers: { close: () => void }[] = [];
  afterAll(() => servers.forEach((server) => server.close()));

  it('decides in SQL exactly what the TypeScript evaluation decides, on the same cases', async () => {
    for (const [name, conditions, member, expected] of CASES) {
      const params: unknown[] = [member.status, member.country, member.tierRank, JSON.stringify(member.attributes), member.lifetimeEarned, member.enrolledAt, member.lastActiveAt];
      // In WHERE and FILTER, as the segment queries use it, NULL (no country) counts as false.
      const predicate = segmentSql(conditions, positional(params), NOW);
      const [row] = await sql<{ inside: boolean }>(
        'members',
        `SELECT (${predicate}) IS TRUE AS inside FROM (SELECT $1::text AS status, $2::char(2) AS country, $3::int AS tier_rank, $4::jsonb AS attributes,
                $5::int AS lifetime_earned, $6::timestamptz AS enrolled_at, $7::timestamptz AS last_active_at) f`,
        params,
      );
      assert.equal(row!.inside, expected, name);
    }
  });

  it('counts members exactly and moves them in and out as their data changes, with an event each time', async () => {
    const t = await newTenant();
    const de = await t.enroll({ country: 'DE', attributes: { vip: true } });
    const fr = await t.enroll({ country: 'FR', attributes: { vip: true } });
    const segment = await upsert(t, { name: 'German VIPs', conditions: { countries: ['de'], attributeEquals: { vip: true } } });
    assert.deepEqual(segment.conditions.countries, ['DE']);
    assert.equal(segment.memberCount, 1);
    await waitFor('the new segment to be computed', async () => (await recorded(t)) === 1);
    assert.deepEqual(await segmentsOf(t, de), [segment.id]);
    assert.deepEqual(await segmentsOf(t, fr), []);

    // A new member who meets the conditions is in at once.
    const late = await t.enroll({ country: 'DE', attributes: { vip: true } });
    assert.equal(await memberCount(t, segment.id), 2);
    // Profile changes: moving country leaves, a new attribute value leaves, coming back enters.
    await ok('mutation($id: ID!) { updateMember(id: $id, input: { country: "FR" }) { id } }', { id: de }, { token: t.admin });
    await ok('mutation($id: ID!) { updateMember(id: $id, input: { country: "DE" }) { id } }', { id: fr }, { token: t.admin });
    await ok('mutation($id: ID!, $a: JSON!) { updateMember(id: $id, input: { attributes: $a }) { id } }', { id: late, a: { vip: false } }, { token: t.admin });
    // Suspension leaves; erasure leaves for good.
    await ok('mutation($id: ID!) { updateMember(id: $id, input: { status: SUSPENDED }) { id } }', { id: fr }, { token: t.admin });
    await ok('mutation($id: ID!) { updateMember(id: $id, input: { status: ACTIVE }) { id } }', { id: fr }, { token: t.admin });
    await ok('mutation($id: ID!) { eraseMember(id: $id) { id } }', { id: fr }, { token: t.admin });
    assert.equal(await memberCount(t, segment.id), 0);
    assert.deepEqual(await segmentEvents(t), [
      `ENTERED ${segment.id} ${de}`,
      `ENTERED ${segment.id} ${late}`,
      `LEFT ${segment.id} ${de}`,
      `ENTERED ${segment.id} ${fr}`,
      `LEFT ${segment.id} ${late}`,
      `LEFT ${segment.id} ${fr}`,
      `ENTERED ${segment.id} ${fr}`,
      `LEFT ${segment.id} ${fr}`,
    ]);
  });

  it('follows points and activity: lifetime points, activity recency, and a change of conditions recomputes everyone', async () => {
    const t = await newTenant();
    await campaign(t, {});
    const [a, b, c] = [await t.enroll(), await t.enroll(), await t.enroll()];
    const big = await upsert(t, { name: 'Big earners', conditions: { minLifetimeEarned: 100 } });
    const active = await upsert(t, { name: 'Active', conditions: { activeWithinDays: 30 } });
    assert.equal(big.memberCount, 0);
    assert.equal(active.memberCount, 0);
    await t.adjust(a, 150); // a person's credit counts toward lifetime points, but is no activity
    await earn(t, b); // earning is activity
    assert.deepEqual(await segmentsOf(t, a), [big.id]);
    assert.deepEqual(await segmentsOf(t, b), [active.id]);
    assert.deepEqual(await segmentsOf(t, c), []);

    // New conditions: the whole segment is recomputed and the events say who entered and left.
    await waitFor('both segments to be computed', async () => (await segmentEvents(t)).length === 2);
    await upsert(t, { id: big.id, name: 'Big earners', conditions: { minLifetimeEarned: 10 } });
    await waitFor('the recomputation to let b in', async () => (await segmentEvents(t)).length === 3);
    assert.equal(await memberCount(t, big.id), 2);
    assert.deepEqual((await segmentEvents(t)).sort(), [`ENTERED ${active.id} ${b}`, `ENTERED ${big.id} ${a}`, `ENTERED ${big.id} ${b}`].sort());
    const same = await upsert(t, { id: big.id, name: 'Renamed only', conditions: { minLifetimeEarned: 10 } });
    assert.equal(same.memberCount, 2);
  });

  it('lists the tenant\'s segments oldest first, a page at a time', async () => {
    const t = await newTenant();
    const ids = [];
    for (const name of ['First', 'Second', 'Third']) ids.push((await upsert(t, { name, conditions: { countries: ['NL'] } })).id);
    await upsert(await newTenant(), { name: 'Elsewhere', conditions: {} });
    const LIST = 'query($after: String) { segments(first: 2, after: $after) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }';
    type Page = { segments: { totalCount: number; edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    const first = (await ok<Page>(LIST, {}, { token: t.admin })).segments;
    assert.deepEqual(first.edges.map((e) => e.node.id), ids.slice(0, 2));
    assert.equal(first.totalCount, 3);
    assert.equal(first.pageInfo.hasNextPage, true);
    const second = (await ok<Page>(LIST, { after: first.pageInfo.endCursor }, { token: t.admin })).segments;
    assert.deepEqual(second.edges.map((e) => e.node.id), ids.slice(2));
    assert.equal(second.pageInfo.hasNextPage, false);
    assert.deepEqual(codes(await gql(LIST, { after: 'not-a-cursor' }, { token: t.admin })), ['BAD_USER_INPUT']);
  });

  it('moves members as time passes: an active member lapses by the sweep, with no move of its own', async () => {
    const t = await newTenant();
    await campaign(t, {});
    const [a, b] = [await t.enroll(), await t.enroll()];
    await earn(t, a);
    await earn(t, b);
    const active = await upsert(t, { name: 'Active', conditions: { activeWithinDays: 30 } });
    const lapsed = await upsert(t, { name: 'Lapsed', conditions: { inactiveForDays: 30 } });
    await waitFor('both members to enter Active', async () => (await segmentEvents(t)).length === 2);
    assert.deepEqual(await segmentsOf(t, a), [active.id]);
    // Forty days pass for a (a test cannot wait them): its last activity, as stored, lies 40 days back.
    await sql('members', `UPDATE point_accounts SET last_active_at = now() - interval '40 days' WHERE member_id = $1`, [a]);
    assert.deepEqual(await segmentsOf(t, a), [lapsed.id], 'exact at once');
    assert.equal(await memberCount(t, active.id), 1);
    await waitFor('the sweep to move a', async () => (await segmentEvents(t)).length === 4);
    assert.deepEqual((await segmentEvents(t)).slice(2).sort(), [`ENTERED ${lapsed.id} ${a}`, `LEFT ${active.id} ${a}`].sort());
    assert.deepEqual(await segmentsOf(t, b), [active.id]);
  });

  it('sweeps segments on tiers: a change no member refresh sees reaches the events by the sweep', async () => {
    const t = await newTenant();
    const [a, b] = [await t.enroll(), await t.enroll()];
    const ranked = await upsert(t, { name: 'Rank 1 and up', conditions: { minTierRank: 1 } });
    assert.equal(ranked.memberCount, 0);
    // A new entry tier of rank 1 lifts every member standing on the entry tier, with no move of theirs.
    await ok('mutation { upsertTier(input: { name: "Member", rank: 1, qualifyingPoints: 0, earnMultiplier: 1 }) { id } }', {}, { token: t.admin });
    assert.equal(await memberCount(t, ranked.id), 2);
    await waitFor('the sweep to record both members', async () => (await segmentEvents(t)).length === 2);
    assert.deepEqual((await segmentEvents(t)).sort(), [`ENTERED ${ranked.id} ${a}`, `ENTERED ${ranked.id} ${b}`].sort());
  });

  it('filters the member search by segment, in the tenant only', async () => {
    const t = await newTenant();
    const other = await newTenant();
    const [pl1, , pl2] = [await t.enroll({ country: 'PL' }), await t.enroll({ country: 'CZ' }), await t.enroll({ country: 'PL' })];
    const segment = await upsert(t, { conditions: { countries: ['PL'] } });
    const search = 'query($f: MemberFilter) { members(filter: $f, first: 10) { totalCount edges { node { id } } } }';
    const page = await ok<{ members: { totalCount: number; edges: { node: { id: string } }[] } }>(search, { f: { segmentId: segment.id } }, { token: t.admin });
    assert.equal(page.members.totalCount, 2);
    assert.deepEqual(page.members.edges.map((e) => e.node.id).sort(), [pl1, pl2].sort());
    const combined = await ok<{ members: { totalCount: number } }>(search, { f: { segmentId: segment.id, country: 'CZ' } }, { token: t.admin });
    assert.equal(combined.members.totalCount, 0);

    // Another tenant neither sees the segment nor can search by it.
    const foreign = await gql(search, { f: { segmentId: segment.id } }, { token: other.admin });
    assert.deepEqual(codes(foreign), ['NOT_FOUND']);
    assert.equal(foreign.errors![0]!.extensions!.field, 'filter.segmentId');
    assert.equal((await ok<{ segment: null }>(SEGMENT, { id: segment.id }, { token: other.admin })).segment, null);
    assert.equal((await ok<{ segments: { totalCount: number } }>('{ segments { totalCount } }', {}, { token: other.admin })).segments.totalCount, 0);
    const stolen = await gql(UPSERT, { input: { id: segment.id, name: 'Mine', conditions: {} } }, { token: other.admin });
    assert.deepEqual(codes(stolen), ['NOT_FOUND']);
  });

  it('lets campaigns and rewards target segments; a deleted segment reaches nobody', async () => {
    const t = await newTenant();
    const vip = await t.enroll({ attributes: { vip: true } });
    const plain = await t.enroll();
    const segment = await upsert(t, { name: 'VIP', conditions: { attributeEquals: { vip: true } } });
    const created = await campaign(t, { eligibility: { segmentIds: [segment.id] } });
    assert.deepEqual(created.data!.createCampaign, { id: created.data!.createCampaign.id, eligibility: { segmentIds: [segment.id] } });
    assert.equal((await earn(t, vip)).recordActivity.pointsEarned, 10);
    assert.equal((await earn(t, plain)).recordActivity.pointsEarned, 0);

    await t.adjust(plain, 500);
    await t.adjust(vip, 500);
    const reward = await ok<{ createReward: { id: string; segmentIds: string[] } }>(
      'mutation($input: RewardInput!) { createReward(input: $input) { id segmentIds } }',
      { input: { name: 'Lounge', type: 'PRODUCT', costPoints: 100, segmentIds: [segment.id] } },
      { token: t.admin },
    );
    assert.deepEqual(reward.createReward.segmentIds, [segment.id]);
    const redeem = (memberId: string) =>
      gql('mutation($input: RedeemRewardInput!) { redeemReward(input: $input) { status } }', { input: { memberId, rewardId: reward.createReward.id, idempotencyKey: randomUUID() } }, { token: t.admin });
    assert.deepEqual(codes(await redeem(plain)), ['NOT_ELIGIBLE']);
    const available = 'query($id: ID!) { member(id: $id) { availableRewards { id } } }';
    assert.deepEqual((await ok<{ member: { availableRewards: { id: string }[] } }>(available, { id: plain }, { token: t.admin })).member.availableRewards, []);
    assert.deepEqual((await ok<{ member: { availableRewards: { id: string }[] } }>(available, { id: vip }, { token: t.admin })).member.availableRewards, [{ id: reward.createReward.id }]);
    assert.equal(((await redeem(vip)).data as { redeemReward: { status: string } } | undefined)?.redeemReward.status, 'COMPLETED');

    const deleted = await ok<{ deleteSegment: { id: string } }>('mutation($id: ID!) { deleteSegment(id: $id) { id } }', { id: segment.id }, { token: t.admin });
    assert.equal(deleted.deleteSegment.id, segment.id);
    assert.equal((await earn(t, vip)).recordActivity.pointsEarned, 0);
    assert.deepEqual(codes(await redeem(vip)), ['NOT_ELIGIBLE']);
    assert.deepEqual(codes(await gql('mutation($id: ID!) { deleteSegment(id: $id) { id } }', { id: segment.id }, { token: t.admin })), ['NOT_FOUND']);
  });

  it('refuses bad input naming the field, and writes nothing', async () => {
    const t = await newTenant();
    const other = await newTenant();
    const foreign = await upsert(other, { conditions: {} });
    const refused = async (input: Record<string, unknown>, code: string, field: string) => {
      const result = await gql(UPSERT, { input: { name: 'Bad', ...input } }, { token: t.admin });
      assert.deepEqual(codes(result), [code], JSON.stringify(input));
      assert.equal(result.errors![0]!.extensions!.field, field);
    };
    await refused({ conditions: { countries: ['GERMANY'] } }, 'BAD_USER_INPUT', 'conditions.countries');
    await refused({ conditions: { minTierRank: -1 } }, 'BAD_USER_INPUT', 'conditions.minTierRank');
    await refused({ conditions: { attributeEquals: 'vip' } }, 'BAD_USER_INPUT', 'conditions.attributeEquals');
    await refused({ conditions: { enrolledWithinDays: 0 } }, 'BAD_USER_INPUT', 'conditions.enrolledWithinDays');
    await refused({ conditions: { inactiveForDays: 30, activeWithinDays: 7 } }, 'BAD_USER_INPUT', 'conditions.inactiveForDays');
    await refused({ id: randomUUID(), conditions: {} }, 'NOT_FOUND', 'id');
    await refused({ id: foreign.id, conditions: {} }, 'NOT_FOUND', 'id');
    assert.equal((await ok<{ segments: { totalCount: number } }>('{ segments { totalCount } }', {}, { token: t.admin })).segments.totalCount, 0);
    const audited = await sql('members', `SELECT 1 FROM audit_entries WHERE tenant = $1 AND action = 'upsertSegment'`, [t.tenant]);
    assert.equal(audited.length, 0);

    await upsert(t, { name: 'Taken', conditions: {} });
    await refused({ name: 'TAKEN', conditions: {} }, 'CONFLICT', 'name');

    const campaignRefused = await campaign(t, { eligibility: { segmentIds: [foreign.id] } });
    assert.deepEqual(codes(campaignRefused), ['NOT_FOUND']);
    assert.equal(campaignRefused.errors![0]!.extensions!.field, 'eligibility.segmentIds');
    const rewardRefused = await gql('mutation($input: RewardInput!) { createReward(input: $input) { id } }', { input: { name: 'X', type: 'PRODUCT', costPoints: 1, segmentIds: [randomUUID()] } }, { token: t.admin });
    assert.deepEqual(codes(rewardRefused), ['NOT_FOUND']);
    assert.equal(rewardRefused.errors![0]!.extensions!.field, 'segmentIds');
    assert.equal((await ok<{ campaigns: { totalCount: number } }>('{ campaigns { totalCount } }', {}, { token: t.admin })).campaigns.totalCount, 0);
  });

  it('is for admins and marketers, audited; a member sees no segments of its own', async () => {
    const t = await newTenant();
    const marketer = await token(t.tenant, ['marketer'], { sub: 'marketer-1' });
    const agent = await token(t.tenant, ['agent']);
    const memberId = await t.enroll();
    const segment = await upsert(t, { conditions: {} }, { token: marketer });
    const audit = await sql<{ actor: string; target_id: string }>('members', `SELECT actor, target_id FROM audit_entries WHERE tenant = $1 AND action = 'upsertSegment'`, [t.tenant]);
    assert.deepEqual(audit, [{ actor: 'marketer-1', target_id: segment.id }]);
    assert.deepEqual(codes(await gql(UPSERT, { input: { name: 'x', conditions: {} } }, { token: agent })), ['FORBIDDEN']);
    assert.deepEqual(codes(await gql('{ segments { totalCount } }', {}, { token: agent })), ['FORBIDDEN']);
    assert.deepEqual(await segmentsOf(t, memberId), [segment.id]);
    const self = await token(t.tenant, ['member'], { memberId });
    assert.deepEqual((await ok<{ me: { segments: unknown[] } }>('{ me { segments { id } } }', {}, { token: self })).me.segments, []);
  });

  it('delivers segment.entered and segment.left to webhooks', async () => {
    const t = await newTenant();
    const received: { type: string; data: { segmentId: string; memberId: string } }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        received.push(JSON.parse(body) as (typeof received)[number]);
        res.writeHead(200).end();
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await ok(
      'mutation($input: WebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }',
      { input: { url: `http://127.0.0.1:${port}/hooks`, eventTypes: ['segment.entered', 'segment.left'] } },
      { token: t.admin },
    );
    const segment = await upsert(t, { conditions: { countries: ['NL'] } });
    const memberId = await t.enroll({ country: 'NL' });
    await ok('mutation($id: ID!) { updateMember(id: $id, input: { country: "BE" }) { id } }', { id: memberId }, { token: t.admin });
    await waitFor('both deliveries', () => received.length >= 2);
    assert.deepEqual(
      received.map((r) => [r.type, r.data]),
      [
        ['segment.entered', { segmentId: segment.id, memberId }],
        ['segment.left', { segmentId: segment.id, memberId }],
      ],
    );
  });
});
