import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from '@jest/globals';
import { codes, gql, newTenant, ok, sql, token, type Caller } from './support/system';

// The audit log (one entry per staff or API-key mutation, in every subgraph, read behind one
// field) and GDPR: a member's data export, and erasure carried to every subgraph by an event.

type Tenant = Awaited<ReturnType<typeof newTenant>>;

interface Entry {
  id: string;
  at: string;
  actor: string;
  roles: string[];
  action: string;
  targetType: string;
  targetId: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  requestId: string | null;
  service: string;
}
const AUDIT = `query($filter: AuditFilter, $first: Int, $after: String) {
  auditLog(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id at actor roles action targetType targetId before after requestId service } }
  }
}`;
type AuditPage = { auditLog: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: Entry }[] } };

/** The parts of an export the tests read. */
interface ExportDoc {
  memberId: string;
  members: {
    profile: { name: string; email: string; externalId: string; attributes: object; consents: { marketingSms: boolean } };
    consentChanges: unknown[];
    ledger: { type: string }[];
  };
  campaigns: { activities: { orderId: string; awards: unknown[] }[] };
  rewards: { redemptions: { rewardName: string }[] };
  analytics: { activeDays?: string[] };
  auditEntries: Entry[];
}

const auditLog = async (t: Tenant, filter: Record<string, unknown> = {}, first = 50, after?: string) =>
  (await ok<AuditPage>(AUDIT, { filter, first, after }, { token: t.admin })).auditLog;

async function campaign(t: Tenant): Promise<string> {
  const { createCampaign } = await ok<{ createCampaign: { id: string } }>(
    'mutation($input: CampaignInput!) { createCampaign(input: $input) { id } }',
    { input: { name: 'Every purchase', rules: [{ name: '10 points', trigger: 'PURCHASE', calculation: 'FIXED', points: 10 }] } },
    { token: t.admin },
  );
  await ok('mutation($id: ID!) { activateCampaign(id: $id) { status } }', { id: createCampaign.id }, { token: t.admin });
  return createCampaign.id;
}

async function reward(t: Tenant, stock: number | null = null): Promise<string> {
  const { createReward } = await ok<{ createReward: { id: string } }>(
    'mutation($input: RewardInput!) { createReward(input: $input) { id } }',
    { input: { name: 'Coffee', type: 'PRODUCT', costPoints: 10, ...(stock === null ? {} : { stock }) } },
    { token: t.admin },
  );
  return createReward.id;
}

async function apiKey(t: Tenant, scopes: string[]): Promise<{ key: string; id: string }> {
  const { createApiKey } = await ok<{ createApiKey: { secret: string; apiKey: { id: string } } }>(
    'mutation($scopes: [String!]!) { createApiKey(input: { name: "till", scopes: $scopes }) { secret apiKey { id } } }',
    { scopes },
    { token: t.admin },
  );
  return { key: createApiKey.secret, id: createApiKey.apiKey.id };
}

const RECORD = 'mutation($input: ActivityInput!) { recordActivity(input: $input) { pointsEarned } }';
const purchase = (memberId: string, caller: Caller, orderId = `order-${randomUUID()}`) =>
  gql(RECORD, { input: { memberId, type: 'PURCHASE', amount: 1000, currency: 'EUR', orderId, storeId: 'store-berlin-1', channel: 'till', idempotencyKey: `till-${orderId}` } }, caller);
const REDEEM = 'mutation($input: RedeemRewardInput!) { redeemReward(input: $input) { id status code } }';
const redeem = (memberId: string, rewardId: string, caller: Caller) =>
  gql<{ redeemReward: { id: string; status: string; code: string | null } }>(REDEEM, { input: { memberId, rewardId, storeId: 'store-berlin-1', channel: 'app', idempotencyKey: randomUUID() } }, caller);

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const ERASURE = 'query($id: ID!) { member(id: $id) { id email name externalId attributes status consents { marketingEmail } erasure { requestedAt completedAt confirmedBy } points { balance } } }';
type Erased = { member: { email: string; name: string | null; externalId: string | null; attributes: object; status: string; erasure: { completedAt: string | null; confirmedBy: string[] } | null; points: { balance: number } } };
const erased = (t: Tenant, id: string) =>
  eventually(
    () => ok<Erased>(ERASURE, { id }, { token: t.admin }),
    (r) => r.member.erasure?.completedAt != null,
    'every subgraph to confirm the erasure',
  );

describe('audit log', () => {
  it('records every staff and key mutation of every subgraph once, with actor, before/after and request id', async () => {
    const t = await newTenant();
    const requestId = `req-${randomUUID()}`;
    const agent = await token(t.tenant, ['agent'], { sub: 'agent-7' });
    const member = await t.enroll({ name: 'Ada' });
    await ok('mutation($id: ID!) { updateMember(id: $id, input: { name: "Ada L." }) { id } }', { id: member }, { token: agent, headers: { 'x-request-id': requestId } });
    await t.adjust(member, 100, randomUUID(), { token: agent });
    const campaignId = await campaign(t);
    const rewardId = await reward(t);
    const till = await apiKey(t, ['activities:write', 'redemptions:write']);
    assert.equal(codes(await purchase(member, { apiKey: till.key })).length, 0);
    const redeemed = await redeem(member, rewardId, { apiKey: till.key });
    assert.equal(redeemed.data?.redeemReward.status, 'COMPLETED');
    const { createWebhookEndpoint } = await ok<{ createWebhookEndpoint: { endpoint: { id: string } } }>(
      'mutation { createWebhookEndpoint(input: { url: "http://127.0.0.1:9/hooks", eventTypes: ["member.erased"], active: false }) { endpoint { id } secret } }',
      {},
      { token: t.admin },
    );
    // A member acting on itself and a failed mutation write nothing.
    const self = await token(t.tenant, ['member'], { memberId: member });
    await ok('mutation($id: ID!) { updateConsents(memberId: $id, input: { marketingEmail: true }) { id } }', { id: member }, { token: self });
    assert.deepEqual(codes(await t.adjust(member, -1_000_000, randomUUID(), { token: agent })), ['INSUFFICIENT_POINTS']);

    const log = await auditLog(t);
    const actions = log.edges.map((e) => `${e.node.service}:${e.node.action}`).sort();
    assert.deepEqual(actions, [
      'analytics:createWebhookEndpoint',
      'campaigns:activateCampaign',
      'campaigns:createCampaign',
      'campaigns:recordActivity',
      'members:adjustPoints',
      'members:createApiKey',
      'members:enrollMember',
      'members:updateMember',
      'rewards:createReward',
      'rewards:redeemReward',
    ]);
    assert.equal(log.totalCount, 10);
    const byAction = Object.fromEntries(log.edges.map((e) => [e.node.action, e.node]));
    assert.equal(byAction.updateMember!.actor, 'agent-7');
    assert.deepEqual(byAction.updateMember!.roles, ['agent']);
    assert.equal(byAction.updateMember!.requestId, requestId);
    assert.equal(byAction.updateMember!.targetId, member);
    assert.equal(byAction.updateMember!.before!.name, 'Ada');
    assert.equal(byAction.updateMember!.after!.name, 'Ada L.');
    assert.equal(byAction.adjustPoints!.after!.points, 100);
    assert.equal(byAction.recordActivity!.actor, `apikey:${till.id}`);
    assert.deepEqual(byAction.recordActivity!.roles.sort(), ['scope:activities:write', 'scope:redemptions:write']);
    assert.equal(byAction.redeemReward!.targetId, redeemed.data.redeemReward.id);
    assert.equal(byAction.activateCampaign!.targetId, campaignId);
    assert.equal(byAction.createWebhookEndpoint!.targetId, createWebhookEndpoint.endpoint.id);
    assert.ok(!JSON.stringify(byAction.createWebhookEndpoint!.after).includes('whsec_'), 'no secret in the audit log');
    // Newest first across subgraphs.
    const times = log.edges.map((e) => Date.parse(e.node.at));
    assert.deepEqual(times, [...times].sort((a, b) => b - a));

    // Filters, each applied in every subgraph.
    assert.deepEqual((await auditLog(t, { actor: `apikey:${till.id}` })).edges.map((e) => e.node.action).sort(), ['recordActivity', 'redeemReward']);
    assert.deepEqual((await auditLog(t, { targetType: 'Member', targetId: member })).edges.map((e) => e.node.action).sort(), ['adjustPoints', 'enrollMember', 'updateMember']);
    assert.equal((await auditLog(t, { action: 'createReward' })).totalCount, 1);
    assert.equal((await auditLog(t, { from: new Date(Date.now() + 60_000).toISOString() })).totalCount, 0);

    // Pages of two walk the merged list once, in order.
    const walked: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await auditLog(t, {}, 2, after);
      walked.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor!;
    }
    assert.deepEqual(walked, log.edges.map((e) => e.node.id));

    // Another tenant sees none of it; only admins read it.
    const other = await newTenant();
    assert.equal((await auditLog(other)).totalCount, 0);
    assert.deepEqual(codes(await gql(AUDIT, {}, { token: agent })), ['FORBIDDEN']);
    // Append-only in every database.
    for (const db of ['members', 'campaigns', 'rewards', 'analytics']) {
      await assert.rejects(sql(db, 'DELETE FROM audit_entries WHERE tenant = $1', [t.tenant]), /append-only/);
      await assert.rejects(sql(db, `UPDATE audit_entries SET actor = 'someone else' WHERE tenant = $1`, [t.tenant]), /append-only/);
    }
    assert.deepEqual(codes(await gql(AUDIT, { after: 'not-a-cursor' }, { token: t.admin })), ['BAD_USER_INPUT']);
  });
});

describe('member data export', () => {
  it('gathers what every subgraph holds about the member, for an admin and the member itself', async () => {
    const t = await newTenant();
    const member = await t.enroll({ name: 'Grace', externalId: 'crm-1', attributes: { shoeSize: 38 } });
    await t.adjust(member, 100);
    await campaign(t);
    await purchase(member, { token: t.admin }, 'order-export-1');
    const rewardId = await reward(t);
    await redeem(member, rewardId, { token: t.admin });
    const self = await token(t.tenant, ['member'], { memberId: member });
    await ok('mutation($id: ID!) { updateConsents(memberId: $id, input: { marketingSms: true }) { id } }', { id: member }, { token: self });

    const EXPORT = 'query($id: ID!) { memberDataExport(memberId: $id) }';
    const { memberDataExport: doc } = await ok<{ memberDataExport: ExportDoc }>(EXPORT, { id: member }, { token: self });
    assert.equal(doc.memberId, member);
    assert.equal(doc.members.profile.name, 'Grace');
    assert.equal(doc.members.profile.externalId, 'crm-1');
    assert.deepEqual(doc.members.profile.attributes, { shoeSize: 38 });
    assert.equal(doc.members.profile.consents.marketingSms, true);
    assert.equal(doc.members.consentChanges.length, 1);
    assert.deepEqual(doc.members.ledger.map((e) => e.type), ['ADJUST', 'EARN', 'REDEEM']);
    assert.equal(doc.campaigns.activities[0]!.orderId, 'order-export-1');
    assert.equal(doc.campaigns.activities[0]!.awards.length, 1);
    assert.equal(doc.rewards.redemptions[0]!.rewardName, 'Coffee');
    assert.ok(doc.analytics.activeDays !== undefined);
    // The audit entries about it, from members, campaigns and rewards.
    assert.deepEqual([...new Set(doc.auditEntries.map((e) => e.service))].sort(), ['campaigns', 'members', 'rewards']);

    const admin = await ok<{ memberDataExport: ExportDoc }>(EXPORT, { id: member }, { token: t.admin });
    assert.equal(admin.memberDataExport.members.profile.email, doc.members.profile.email);
    const someoneElse = await token(t.tenant, ['member'], { memberId: await t.enroll() });
    assert.deepEqual(codes(await gql(EXPORT, { id: member }, { token: someoneElse })), ['FORBIDDEN']);
    assert.deepEqual(codes(await gql(EXPORT, { id: member }, { token: await token(t.tenant, ['agent']) })), ['FORBIDDEN']);
    const other = await newTenant();
    assert.deepEqual(codes(await gql(EXPORT, { id: member }, { token: other.admin })), ['NOT_FOUND']);
    assert.deepEqual(codes(await gql(EXPORT, { id: 'nope' }, { token: t.admin })), ['BAD_USER_INPUT']);
  });
});

describe('erasure', () => {
  it('removes personal data in every subgraph, keeps the sums, and blocks earning, redeeming and sign-in', async () => {
    const t = await newTenant();
    const email = `erase-${randomUUID()}@example.com`;
    const member = await t.enroll({ email, name: 'Alan', externalId: `crm-${randomUUID()}`, attributes: { vip: true } });
    const self = await token(t.tenant, ['member'], { memberId: member });
    await ok('mutation($id: ID!) { updateConsents(memberId: $id, input: { marketingEmail: true }) { id } }', { id: member }, { token: self });
    await t.adjust(member, 500);
    await campaign(t);
    await ok('mutation { createWebhookEndpoint(input: { url: "http://127.0.0.1:9/hooks", eventTypes: ["activity.recorded"] }) { secret } }', {}, { token: t.admin });
    await purchase(member, { token: t.admin }, 'order-erase-1');
    const queued = () => sql<{ body: string }>('analytics', 'SELECT body FROM webhook_deliveries WHERE tenant = $1 AND key = $2', [t.tenant, member]);
    await eventually(queued, (rows) => rows.length === 1 && rows[0]!.body.includes('store-berlin-1'), 'the activity webhook to be queued');
    const rewardId = await reward(t);
    await redeem(member, rewardId, { token: t.admin });
    await ok('mutation($id: ID!) { updateMember(id: $id, input: { name: "Alan T." }) { id } }', { id: member }, { token: t.admin });
    const stats = 'query { programStats { pointsIssued pointsRedeemed pointsOutstanding redemptions } }';
    const before = await eventually(() => ok<{ programStats: Record<string, number> }>(stats, {}, { token: t.admin }), (r) => r.programStats.redemptions === 1, 'the reports');
    const balance = await t.balance(member);

    const { eraseMember } = await ok<{ eraseMember: { status: string; email: string } }>('mutation($id: ID!) { eraseMember(id: $id) { status email } }', { id: member }, { token: t.admin });
    assert.deepEqual(eraseMember, { status: 'ERASED', email: '' });
    const done = await erased(t, member);
    assert.deepEqual(done.member.erasure!.confirmedBy, ['analytics', 'campaigns', 'members', 'rewards']);
    assert.deepEqual({ ...done.member, erasure: null }, {
      ...done.member,
      email: '',
      name: null,
      externalId: null,
      attributes: {},
      status: 'ERASED',
      erasure: null,
      points: { balance },
    });

    // Nothing personal is left in any database; what the sums need is.
    const [row] = await sql('members', 'SELECT email, name, external_id, attributes, consent_marketing_email FROM members WHERE id = $1', [member]);
    assert.deepEqual(row, { email: null, name: null, external_id: null, attributes: {}, consent_marketing_email: false });
    const activities = await sql<Record<string, unknown> & { idempotency_key: string }>('campaigns', 'SELECT order_id, store_id, channel, idempotency_key, amount, points_earned FROM activities WHERE member_id = $1', [member]);
    assert.equal(activities.length, 1);
    assert.deepEqual({ ...activities[0], idempotency_key: null }, { order_id: null, store_id: null, channel: null, idempotency_key: null, amount: 1000, points_earned: 10 });
    assert.match(activities[0]!.idempotency_key, /^erased:/);
    const redemptions = await sql('rewards', `SELECT store_id, channel, code LIKE 'erased:%' AS code_erased, points_spent FROM redemptions WHERE member_id = $1`, [member]);
    assert.deepEqual(redemptions, [{ store_id: null, channel: null, code_erased: true, points_spent: 10 }]);
    for (const db of ['members', 'campaigns', 'rewards']) {
      const leaks = await sql(db, `SELECT id FROM audit_entries WHERE member_id = $1 AND (before::text ~ '(Alan|crm-|order-erase|store-berlin|${email})' OR after::text ~ '(Alan|crm-|order-erase|store-berlin|${email})')`, [member]);
      assert.deepEqual(leaks, [], `${db} audit entries keep personal data`);
    }
    const [delivery] = await queued();
    const { data } = JSON.parse(delivery!.body) as { data: { storeId?: string; memberId: string } };
    assert.equal(data.storeId, undefined, 'the webhook payload keeps no store id');
    assert.equal(data.memberId, member);
    const [sums] = await sql<{ balance: number; total: number }>('members', 'SELECT a.balance, (SELECT sum(points)::int FROM ledger_entries WHERE member_id = $1) AS total FROM point_accounts a WHERE a.member_id = $1', [member]);
    assert.equal(sums!.balance, sums!.total);
    assert.deepEqual((await ok<{ programStats: Record<string, number> }>(stats, {}, { token: t.admin })).programStats, before.programStats);
    const [event] = await sql('events', `SELECT count(*)::int AS n FROM bus_events WHERE type = 'MEMBER_ERASED' AND payload->>'memberId' = $1`, [member]);
    assert.equal(event!.n, 1);

    // No more earning, redeeming or signing in; staff cannot put data back.
    assert.deepEqual(codes(await purchase(member, { token: t.admin })), ['NOT_FOUND']);
    assert.deepEqual(codes(await redeem(member, rewardId, { token: t.admin })), ['NOT_FOUND']);
    assert.deepEqual(codes(await t.adjust(member, 10)), ['NOT_FOUND']);
    assert.deepEqual(codes(await gql('mutation($id: ID!) { updateMember(id: $id, input: { name: "Back" }) { id } }', { id: member }, { token: t.admin })), ['CONFLICT']);
    await eventually(() => gql('{ me { id } }', {}, { token: self }), (r) => r.status === 401, 'the member token to be refused');
    // Erasing again changes nothing and sends nothing.
    await ok('mutation($id: ID!) { eraseMember(id: $id) { status } }', { id: member }, { token: t.admin });
    const [again] = await sql('members', `SELECT count(*)::int AS n FROM outbox WHERE type = 'MEMBER_ERASED' AND payload->>'memberId' = $1`, [member]);
    assert.equal(again!.n, 1);
    // Only admins erase; unknown and other tenants' members are NOT_FOUND.
    const other = await t.enroll();
    assert.deepEqual(codes(await gql('mutation($id: ID!) { eraseMember(id: $id) { id } }', { id: other }, { token: await token(t.tenant, ['agent']) })), ['FORBIDDEN']);
    assert.deepEqual(codes(await gql('mutation($id: ID!) { eraseMember(id: $id) { id } }', { id: other }, { token: (await newTenant()).admin })), ['NOT_FOUND']);
    assert.equal((await t.balance(other)) >= 0, true);
  });

  it('leaves no personal data behind when activities and redemptions are in flight', async () => {
    const t = await newTenant();
    const member = await t.enroll({ name: 'In flight' });
    await t.adjust(member, 10_000);
    await campaign(t);
    const rewardId = await reward(t, 100);
    const till = await apiKey(t, ['activities:write', 'redemptions:write']);
    const caller = { apiKey: till.key };
    const writes = [
      ...Array.from({ length: 12 }, () => purchase(member, caller)),
      ...Array.from({ length: 6 }, () => redeem(member, rewardId, caller)),
    ];
    const erase = gql('mutation($id: ID!) { eraseMember(id: $id) { status } }', { id: member }, { token: t.admin });
    const results = await Promise.all([...writes, erase]);
    // Each write either happened before the erasure or was refused as NOT_FOUND.
    for (const result of results.slice(0, -1)) assert.ok(codes(result).every((c) => c === 'NOT_FOUND'), JSON.stringify(result.errors));
    await erased(t, member);

    assert.deepEqual(await sql('campaigns', `SELECT id FROM activities WHERE member_id = $1 AND (order_id IS NOT NULL OR store_id IS NOT NULL OR channel IS NOT NULL OR idempotency_key NOT LIKE 'erased:%')`, [member]), []);
    assert.deepEqual(await sql('rewards', `SELECT id FROM redemptions WHERE member_id = $1 AND (store_id IS NOT NULL OR channel IS NOT NULL OR code NOT LIKE 'erased:%' OR idempotency_key NOT LIKE 'erased:%')`, [member]), []);
    // Points stay exact: balance = entries, every completed redemption has its debit.
    const [sums] = await sql<{ balance: number; total: number }>('members', 'SELECT a.balance, (SELECT sum(points)::int FROM ledger_entries WHERE member_id = $1) AS total FROM point_accounts a WHERE a.member_id = $1', [member]);
    assert.equal(sums!.balance, sums!.total);
    const [completed] = await sql<{ n: number }>('rewards', `SELECT count(*)::int AS n FROM redemptions WHERE member_id = $1 AND status = 'COMPLETED'`, [member]);
    const [debits] = await sql<{ n: number }>('members', `SELECT count(*)::int AS n FROM ledger_entries WHERE member_id = $1 AND type = 'REDEEM'`, [member]);
    assert.equal(completed!.n, debits!.n);
  });
});
