import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, describe, it } from '@jest/globals';
import { faultyProxy, startService, waitFor, type Service } from './support/processes';
import { codes, gatewayCredential, gql, newTenant, ok, serviceSecret, sql, subgraphUrls } from './support/system';

// Referrals: a member's referralCode, enrolment with a referrer's code, and REFERRAL rules that
// reward the referrer once, when a member it referred makes its first purchase.

type Tenant = Awaited<ReturnType<typeof newTenant>>;
const databases = JSON.parse(process.env.TEST_DATABASES ?? '{}') as Record<string, string>;

const ENROLL = 'mutation($input: EnrollMemberInput!) { enrollMember(input: $input) { id referralCode } }';
const RECORD = 'mutation($input: ActivityInput!) { recordActivity(input: $input) { pointsEarned transaction { id } } }';
const CODE_SHAPE = /^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{4}-[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{4}$/;

const replicas: Service[] = [];
afterAll(async () => {
  await Promise.all(replicas.splice(0).map((replica) => replica.stop()));
});

const enroll = (t: Tenant, input: Record<string, unknown> = {}) =>
  gql<{ enrollMember: { id: string; referralCode: string } }>(ENROLL, { input: { email: `${randomUUID()}@example.com`, ...input } }, { token: t.admin });

async function enrolled(t: Tenant, input: Record<string, unknown> = {}): Promise<{ id: string; referralCode: string }> {
  const result = await enroll(t, input);
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  return result.data!.enrollMember;
}

const codeOf = async (t: Tenant, id: string) =>
  (await ok<{ member: { referralCode: string } }>('query($id: ID!) { member(id: $id) { referralCode } }', { id }, { token: t.admin })).member.referralCode;

const referredBy = async (id: string) => (await sql<{ referred_by: string | null }>('members', 'SELECT referred_by FROM members WHERE id = $1', [id]))[0]!.referred_by;

const membersWithEmail = async (t: Tenant, email: string) =>
  (await sql<{ n: number }>('members', 'SELECT count(*)::int AS n FROM members WHERE tenant = $1 AND lower(email) = lower($2)', [t.tenant, email]))[0]!.n;

async function campaign(t: Tenant, rules: Record<string, unknown>[], extra: Record<string, unknown> = {}): Promise<string> {
  const created = await ok<{ createCampaign: { id: string } }>(
    'mutation($input: CampaignInput!) { createCampaign(input: $input) { id } }',
    { input: { name: 'Refer a friend', rules, ...extra } },
    { token: t.admin },
  );
  await ok('mutation($id: ID!) { activateCampaign(id: $id) { status } }', { id: created.createCampaign.id }, { token: t.admin });
  return created.createCampaign.id;
}

const referralRule = (points: number, extra: Record<string, unknown> = {}) => ({ name: `referral ${points}`, trigger: 'REFERRAL', calculation: 'FIXED', points, ...extra });
const purchaseRule = { name: 'a point per euro', trigger: 'PURCHASE', calculation: 'PER_AMOUNT', points: 1, amountStep: 100 };

const purchase = (t: Tenant, memberId: string, amount = 5000, url?: string, caller = { token: t.admin } as { token?: string; headers?: Record<string, string> }) =>
  gql<{ recordActivity: { pointsEarned: number } }>(
    RECORD,
    { input: { memberId, type: 'PURCHASE', amount, currency: 'EUR', orderId: randomUUID(), idempotencyKey: randomUUID() } },
    caller,
    url,
  );

async function purchased(t: Tenant, memberId: string, amount = 5000): Promise<number> {
  const result = await purchase(t, memberId, amount);
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  return result.data!.recordActivity.pointsEarned;
}

const referralActivities = async (referrerId: string) =>
  sql<{ id: string; points_earned: number; amount: number | null; idempotency_key: string; credit_status: string }>(
    'campaigns',
    `SELECT id, points_earned, amount, idempotency_key, credit_status FROM activities WHERE member_id = $1 AND type = 'REFERRAL'`,
    [referrerId],
  );

const rewardStatus = async (t: Tenant, referredId: string) =>
  (await sql<{ status: string }>('campaigns', 'SELECT status FROM referral_rewards WHERE tenant = $1 AND referred_member_id = $2', [t.tenant, referredId]))[0]?.status;

describe('referral codes and enrolment', () => {
  it('gives every member a readable referral code, unique in the tenant', async () => {
    const t = await newTenant();
    const members = await Promise.all(Array.from({ length: 20 }, () => enrolled(t)));
    for (const m of members) {
      assert.match(m.referralCode, CODE_SHAPE);
      assert.equal(await codeOf(t, m.id), m.referralCode, 'the code is the member’s for good');
    }
    assert.equal(new Set(members.map((m) => m.referralCode)).size, members.length);
    const [missing] = await sql<{ n: number }>('members', 'SELECT count(*)::int AS n FROM members WHERE referral_code IS NULL');
    assert.equal(missing!.n, 0, 'no member of any tenant is without a code');
  });

  it("links a member enrolled with a referrer's code, typed in any case, with or without the dash", async () => {
    const t = await newTenant();
    const referrer = await enrolled(t);
    const a = await enrolled(t, { referralCode: referrer.referralCode });
    const b = await enrolled(t, { referralCode: ` ${referrer.referralCode.replace('-', '').toLowerCase()} ` });
    const c = await enrolled(t);
    assert.equal(await referredBy(a.id), referrer.id);
    assert.equal(await referredBy(b.id), referrer.id);
    assert.equal(await referredBy(c.id), null);
    assert.equal(await referredBy(referrer.id), null);
    const { memberDataExport } = await ok<{ memberDataExport: { members: { profile: { referralCode: string; referredBy: string | null } } } }>(
      'query($id: ID!) { memberDataExport(memberId: $id) }',
      { id: a.id },
      { token: t.admin },
    );
    assert.equal(memberDataExport.members.profile.referralCode, a.referralCode, 'the data export shows the code');
    assert.equal(memberDataExport.members.profile.referredBy, referrer.id, 'and the referrer');
  });

  it("refuses an unknown, malformed, erased member's or other tenant's code, naming referralCode, and writes nothing", async () => {
    const t = await newTenant();
    const other = await newTenant();
    const foreign = await enrolled(other);
    const erased = await enrolled(t);
    await ok('mutation($id: ID!) { eraseMember(id: $id) { status } }', { id: erased.id }, { token: t.admin });
    // The tenant's only code is the erased member's.
    const unknown = erased.referralCode === 'ZZZZ-ZZZZ' ? 'YYYY-YYYY' : 'ZZZZ-ZZZZ';
    const cases: [string, string][] = [
      [unknown, 'NOT_FOUND'],
      [foreign.referralCode, 'NOT_FOUND'],
      [erased.referralCode, 'NOT_FOUND'],
      ['ABC', 'BAD_USER_INPUT'],
      ['OOOO-1111', 'BAD_USER_INPUT'],
      ['', 'BAD_USER_INPUT'],
    ];
    for (const [referralCode, code] of cases) {
      const email = `${randomUUID()}@example.com`;
      const result = await enroll(t, { email, referralCode });
      assert.deepEqual(codes(result), [code], `${referralCode}: ${JSON.stringify(result.errors)}`);
      assert.equal(result.errors![0]!.extensions?.field, 'referralCode');
      assert.equal(await membersWithEmail(t, email), 0, `${referralCode}: nothing written`);
    }
    const [audits] = await sql<{ n: number }>('members', `SELECT count(*)::int AS n FROM audit_entries WHERE tenant = $1 AND action = 'enrollMember'`, [t.tenant]);
    assert.equal(audits!.n, 1, 'only the one enrolment that happened is in the audit log');
  });

  it('refuses self-referral and referral loops on referralCode, nothing written', async () => {
    const t = await newTenant();
    const aEmail = `${randomUUID()}@example.com`;
    const a = await enrolled(t, { email: aEmail, externalId: 'crm-a' });
    const b = await enrolled(t, { referralCode: a.referralCode });
    const c = await enrolled(t, { referralCode: b.referralCode });
    const cases: [Record<string, unknown>, string][] = [
      [{ email: aEmail.toUpperCase(), referralCode: a.referralCode }, 'by itself'],
      [{ externalId: 'crm-a', referralCode: a.referralCode }, 'by itself'],
      [{ email: aEmail, referralCode: b.referralCode }, 'it referred'],
      [{ externalId: 'crm-a', referralCode: c.referralCode }, 'it referred'],
    ];
    for (const [input, message] of cases) {
      const result = await enroll(t, input);
      assert.deepEqual(codes(result), ['BAD_USER_INPUT'], JSON.stringify(result.errors));
      assert.equal(result.errors![0]!.extensions?.field, 'referralCode');
      assert.match(result.errors![0]!.message, new RegExp(message));
    }
    const [count] = await sql<{ n: number }>('members', 'SELECT count(*)::int AS n FROM members WHERE tenant = $1', [t.tenant]);
    assert.equal(count!.n, 3);
    assert.equal(await referredBy(a.id), null, 'the first member stays unreferred');
  });
});

describe('REFERRAL rules', () => {
  it('rewards the referrer once, on the first purchase of a member it referred, through the gateway', async () => {
    const t = await newTenant();
    await campaign(t, [purchaseRule, referralRule(500)]);
    const referrer = await enrolled(t);
    const friend = await enrolled(t, { referralCode: referrer.referralCode });
    const stranger = await enrolled(t);

    assert.equal(await purchased(t, stranger.id), 50, 'an unreferred member’s purchase rewards nobody else');
    assert.equal(await purchased(t, friend.id, 4000), 40, 'the friend earns its own purchase points only');
    assert.equal(await t.balance(referrer.id), 500);
    assert.equal(await t.balance(friend.id), 40);
    assert.equal(await purchased(t, friend.id), 50);
    assert.equal(await purchased(t, referrer.id), 50, 'the referrer’s own purchase is no referral');
    assert.equal(await t.balance(referrer.id), 550, 'the second purchase rewards the referrer nothing more');

    const activities = await referralActivities(referrer.id);
    assert.equal(activities.length, 1);
    assert.equal(activities[0]!.points_earned, 500);
    assert.equal(activities[0]!.amount, 4000, 'the REFERRAL carries the first purchase’s amount');
    assert.equal(activities[0]!.credit_status, 'CREDITED');
    assert.equal(await rewardStatus(t, friend.id), 'DONE');
    const [event] = await sql<{ n: number }>(
      'campaigns',
      `SELECT count(*)::int AS n FROM outbox WHERE type = 'ACTIVITY_RECORDED' AND payload->>'memberId' = $1 AND payload->>'type' = 'REFERRAL' AND (payload->>'pointsEarned')::int = 500`,
      [referrer.id],
    );
    assert.equal(event!.n, 1, 'one ACTIVITY_RECORDED for the REFERRAL');
    const [entries] = await sql<{ n: number }>('members', `SELECT count(*)::int AS n FROM ledger_entries WHERE member_id = $1 AND type = 'EARN'`, [referrer.id]);
    assert.equal(entries!.n, 2, 'one credit for the referral, one for the own purchase');
  });

  it('refuses REFERRAL sent by a client (on type) and keys reserved for referral rewards, storing nothing', async () => {
    const t = await newTenant();
    await campaign(t, [referralRule(500)]);
    const member = await enrolled(t);
    const asReferral = await gql(RECORD, { input: { memberId: member.id, type: 'REFERRAL', idempotencyKey: randomUUID() } }, { token: t.admin });
    assert.deepEqual(codes(asReferral), ['BAD_USER_INPUT']);
    assert.equal(asReferral.errors![0]!.extensions?.field, 'type');
    const reservedKey = await gql(RECORD, { input: { memberId: member.id, type: 'PURCHASE', amount: 100, idempotencyKey: `referral:${member.id}` } }, { token: t.admin });
    assert.deepEqual(codes(reservedKey), ['BAD_USER_INPUT']);
    assert.equal(reservedKey.errors![0]!.extensions?.field, 'idempotencyKey');
    const [stored] = await sql<{ n: number }>('campaigns', 'SELECT count(*)::int AS n FROM activities WHERE tenant = $1', [t.tenant]);
    assert.equal(stored!.n, 0);
    assert.equal(await t.balance(member.id), 0);
  });

  it("keeps to the referrer's cap and the campaign's budget", async () => {
    const t = await newTenant();
    const id = await campaign(t, [referralRule(500, { maxPointsPerMember: 800, capPeriod: 'LIFETIME' })], { budget: { maxPoints: 1000 } });
    const [r1, r2] = [await enrolled(t), await enrolled(t)];
    const friendsOf1 = [await enrolled(t, { referralCode: r1.referralCode }), await enrolled(t, { referralCode: r1.referralCode }), await enrolled(t, { referralCode: r1.referralCode })];
    for (const friend of friendsOf1) await purchased(t, friend.id);
    assert.equal(await t.balance(r1.id), 800, '500, then what the cap of 800 leaves, then nothing');
    const friendOf2 = await enrolled(t, { referralCode: r2.referralCode });
    await purchased(t, friendOf2.id);
    assert.equal(await t.balance(r2.id), 200, 'what the budget of 1000 leaves');
    const { campaign: c } = await ok<{ campaign: { budget: { pointsIssued: number } } }>('query($id: ID!) { campaign(id: $id) { budget { pointsIssued } } }', { id }, { token: t.admin });
    assert.equal(c.budget.pointsIssued, 1000);
    for (const friend of [...friendsOf1, friendOf2]) assert.equal(await rewardStatus(t, friend.id), 'DONE', 'a reward that earned nothing is given all the same');
  });

  it('gives exactly one referral reward for concurrent first purchases of one referred member', async () => {
    const t = await newTenant();
    await campaign(t, [purchaseRule, referralRule(500)]);
    const referrer = await enrolled(t);
    const friend = await enrolled(t, { referralCode: referrer.referralCode });
    const results = await Promise.all(Array.from({ length: 8 }, () => purchase(t, friend.id, 1000)));
    for (const result of results) assert.deepEqual(codes(result), [], JSON.stringify(result.errors));
    assert.equal(await t.balance(friend.id), 80);
    assert.equal(await t.balance(referrer.id), 500);
    assert.equal((await referralActivities(referrer.id)).length, 1);
    const [ledger] = await sql<{ n: number; sum: number }>('members', `SELECT count(*)::int AS n, COALESCE(sum(points), 0)::int AS sum FROM ledger_entries WHERE member_id = $1`, [referrer.id]);
    assert.deepEqual(ledger, { n: 1, sum: 500 });
  });

  it("gives an erased referrer nothing, and applies the referrer's tier multiplier", async () => {
    const t = await newTenant();
    await campaign(t, [purchaseRule, referralRule(500)]);
    await ok('mutation { upsertTier(input: { name: "Base", rank: 0, qualifyingPoints: 0, earnMultiplier: 1 }) { id } }', {}, { token: t.admin });
    await ok('mutation { upsertTier(input: { name: "Gold", rank: 2, qualifyingPoints: 100, earnMultiplier: 2 }) { id } }', {}, { token: t.admin });
    const erased = await enrolled(t);
    const goldReferrer = await enrolled(t);
    assert.equal(await purchased(t, goldReferrer.id, 10_000), 100, 'its own purchase makes it Gold');
    const friendOfErased = await enrolled(t, { referralCode: erased.referralCode });
    const friendOfGold = await enrolled(t, { referralCode: goldReferrer.referralCode });
    await ok('mutation($id: ID!) { eraseMember(id: $id) { status } }', { id: erased.id }, { token: t.admin });
    await purchased(t, friendOfErased.id);
    assert.equal(await rewardStatus(t, friendOfErased.id), 'SKIPPED');
    assert.equal((await referralActivities(erased.id)).length, 0);
    await purchased(t, friendOfGold.id);
    assert.equal(await t.balance(goldReferrer.id), 100 + 1000, 'Gold doubles the referral reward');
    assert.equal(await t.balance(friendOfGold.id), 50);
  });

  it('finishes a referral reward a crash left behind, once', async () => {
    const t = await newTenant();
    await campaign(t, [purchaseRule, referralRule(500)]);
    const referrer = await enrolled(t);
    const friend = await enrolled(t, { referralCode: referrer.referralCode });
    // A campaigns process whose credits members makes but never answers: it is killed while it waits.
    const proxy = await faultyProxy(subgraphUrls.members, /\/internal\/ledger\/credit/);
    const first = await startService('campaigns', {
      DATABASE_URL: databases.campaigns!,
      EVENT_BUS_URL: databases.events!,
      MEMBERS_URL: proxy.url,
      SERVICE_SECRET: serviceSecret,
      ACTIVITY_CREDIT_RETRY_AFTER_MS: '600000',
    });
    replicas.push(first);
    const caller = { headers: await gatewayCredential({ tenant: t.tenant, principal: 'pos', roles: ['integration'], scopes: [] }) };
    proxy.setMode('hold-response');
    const cut = purchase(t, friend.id, 2000, `${first.url}/graphql`, caller).catch(() => undefined);
    await waitFor('the first purchase and its pending referral reward stored', async () => ((await rewardStatus(t, friend.id)) === 'PENDING' ? true : undefined));
    const exited = once(first.child, 'exit');
    first.child.kill('SIGKILL');
    await exited;
    await cut;
    assert.equal((await referralActivities(referrer.id)).length, 0, 'the process died before the referral step');
    assert.equal(await t.balance(referrer.id), 0);

    // Another process's retry job gives the reward (and the main one may too: either way once).
    proxy.setMode('pass');
    const second = await startService('campaigns', {
      DATABASE_URL: databases.campaigns!,
      EVENT_BUS_URL: databases.events!,
      MEMBERS_URL: subgraphUrls.members,
      SERVICE_SECRET: serviceSecret,
      ACTIVITY_CREDIT_RETRY_INTERVAL_MS: '200',
      ACTIVITY_CREDIT_RETRY_AFTER_MS: '300',
    });
    replicas.push(second);
    await waitFor('the referrer credited', async () => ((await t.balance(referrer.id)) === 500 ? true : undefined), 30_000);
    assert.equal(await rewardStatus(t, friend.id), 'DONE');
    assert.equal(await t.balance(friend.id), 20, 'the friend’s own purchase credited once as well');
    await purchased(t, friend.id);
    const activities = await referralActivities(referrer.id);
    assert.equal(activities.length, 1);
    assert.equal(activities[0]!.credit_status, 'CREDITED');
    assert.equal(await t.balance(referrer.id), 500);
  });
});
