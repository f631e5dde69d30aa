import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, it } from '@jest/globals';
import type { Client } from 'graphql-ws';
import { boundedStream, createLedgerClient } from '@loyalty/kit';
import { faultyProxy, startService, type Service } from './support/processes';
import { drained, feed, registered, waitFor, wsClient, type Feed } from './support/subscriptions';
import { gatewayUrl, newTenant, ok, serviceSecret, sql, subgraphUrls, token } from './support/system';

const databases = JSON.parse(process.env.TEST_DATABASES ?? '{}') as Record<string, string>;

const BALANCE = `subscription($memberId: ID) {
  pointsBalanceChanged(memberId: $memberId) {
    balance
    delta
    occurredAt
    transaction { id type points balanceAfter reference }
    member { id email tier { name } availableRewards { name } eligibleCampaigns { name } }
  }
}`;

interface BalanceEvent {
  pointsBalanceChanged: {
    balance: number;
    delta: number;
    occurredAt: string;
    transaction: { id: string; type: string; points: number; balanceAfter: number; reference: string | null };
    member: { id: string; email: string; tier: { name: string }; availableRewards: { name: string }[]; eligibleCampaigns: { name: string }[] };
  };
}

const clients: Client[] = [];
const replicas: Service[] = [];
const proxies: ReturnType<typeof createServer>[] = [];
const open = (t: string | undefined, url?: string, closed?: (e: { code: number; reason: string }) => void) => {
  const client = wsClient(t, url, closed);
  clients.push(client);
  return client;
};
afterEach(async () => {
  await Promise.all(clients.splice(0).map(async (c) => c.dispose()));
});
afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  for (const proxy of proxies) proxy.closeAllConnections();
  await Promise.all(proxies.map((proxy) => new Promise((resolve) => proxy.close(resolve))));
});

/** One more gateway on the same subgraphs and bus, with settings of its own. */
async function replica(env: Record<string, string> = {}): Promise<Service> {
  const started = await startService('gateway', {
    MEMBERS_URL: subgraphUrls.members,
    CAMPAIGNS_URL: subgraphUrls.campaigns,
    REWARDS_URL: subgraphUrls.rewards,
    ANALYTICS_URL: subgraphUrls.analytics,
    EVENT_BUS_URL: databases.events!,
    ...env,
  });
  replicas.push(started);
  return started;
}

/** A pass-through proxy in front of a subgraph that keeps the GraphQL requests the gateway sent it (whitespace folded). */
async function recordingProxy(target: string) {
  const requests: { query: string; variables?: Record<string, unknown> }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url?.startsWith('/graphql') && body.length > 0) {
        const { query, variables } = JSON.parse(body.toString()) as (typeof requests)[number];
        requests.push({ query: query.replace(/\s+/g, ' '), variables });
      }
      const upstream = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.writeHead(502).end());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxies.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** The errors a subscription was refused with (fails saying so if it was accepted instead). */
async function refusal(f: Feed<unknown>): Promise<{ message: string; extensions?: { code?: string } }[]> {
  await waitFor('the subscription to be refused', () => f.errors.length > 0);
  return f.errors[0] as { message: string; extensions?: { code?: string } }[];
}

/** Resolves with the close event of a connection (fails saying what was awaited if it stays open). */
function closing(what: string, ms = 20_000) {
  let resolve: (event: { code: number; reason: string }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string }>((r) => (resolve = r));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms)));
  return { onClose: resolve, closed: Promise.race([closed, timeout]).finally(() => clearTimeout(timer)) };
}

describe('subscriptions', () => {
  it('delivers a purchase to the member with the new balance, the transaction and fields of every subgraph', async () => {
    const t = await newTenant();
    const member = await t.enroll({ email: 'live@example.com', country: 'DE' });
    await ok('mutation { createReward(input: { name: "Mug", type: PRODUCT, costPoints: 100 }) { id } }', {}, { token: t.admin });
    const { createCampaign } = await ok<{ createCampaign: { id: string } }>(
      'mutation { createCampaign(input: { name: "Double", rules: [{ name: "per euro", trigger: PURCHASE, calculation: PER_AMOUNT, points: 2 }] }) { id } }',
      {},
      { token: t.admin },
    );
    await ok('mutation($id: ID!) { activateCampaign(id: $id) { id } }', { id: createCampaign.id }, { token: t.admin });

    const events = feed<BalanceEvent>(open(await token(t.tenant, ['member'], { memberId: member })), BALANCE);
    await registered(1);
    const integration = await token(t.tenant, ['integration']);
    const earned = await ok<{ recordActivity: { transaction: { id: string } } }>(
      'mutation($input: ActivityInput!) { recordActivity(input: $input) { transaction { id } } }',
      { input: { memberId: member, type: 'PURCHASE', amount: 6000, idempotencyKey: randomUUID() } },
      { token: integration },
    );
    const [event] = await events.until(1);
    const e = event!.pointsBalanceChanged;
    assert.equal(e.balance, 120);
    assert.equal(e.delta, 120);
    assert.deepEqual(e.transaction, { id: earned.recordActivity.transaction.id, type: 'EARN', points: 120, balanceAfter: 120, reference: e.transaction.reference });
    assert.deepEqual(e.member, { id: member, email: 'live@example.com', tier: { name: 'Base' }, availableRewards: [{ name: 'Mug' }], eligibleCampaigns: [{ name: 'Double' }] });
    assert.ok(Date.parse(e.occurredAt) > Date.now() - 60_000);
  });

  it('keeps order and isolation: a member feed, the staff feed, another tenant', async () => {
    const t = await newTenant();
    const other = await newTenant();
    const [a, b] = [await t.enroll(), await t.enroll()];
    const stranger = await other.enroll();
    const memberFeed = feed<BalanceEvent>(open(await token(t.tenant, ['member'], { memberId: a })), 'subscription { pointsBalanceChanged { balance delta member { id } } }');
    const staffFeed = feed<BalanceEvent>(open(await token(t.tenant, ['agent'])), 'subscription { pointsBalanceChanged { balance delta member { id } } }');
    await registered(2);
    await Promise.all([
      ...Array.from({ length: 20 }, () => t.adjust(a, 10)),
      t.adjust(b, 5),
      other.adjust(stranger, 7),
    ]);
    const mine = await memberFeed.until(20);
    const all = await staffFeed.until(21);
    // In ledger order, each balance the previous one plus its delta, never another member's.
    assert.deepEqual(mine.map((m) => m.pointsBalanceChanged.balance), Array.from({ length: 20 }, (_, i) => (i + 1) * 10));
    assert.ok(mine.every((m) => m.pointsBalanceChanged.member.id === a && m.pointsBalanceChanged.delta === 10));
    assert.deepEqual(new Set(all.map((m) => m.pointsBalanceChanged.member.id)), new Set([a, b]));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(memberFeed.results.length, 20, 'exactly once');
    assert.equal(staffFeed.results.length, 21, 'nothing of the other tenant');
  });

  it('fires tierChanged once on an upgrade, with the previous and the new tier', async () => {
    const t = await newTenant();
    for (const tier of [{ name: 'Blue', rank: 0, qualifyingPoints: 0 }, { name: 'Gold', rank: 1, qualifyingPoints: 500 }]) {
      await ok('mutation($input: TierInput!) { upsertTier(input: $input) { id } }', { input: { ...tier, earnMultiplier: 1 } }, { token: t.admin });
    }
    const member = await t.enroll();
    const tiers = feed<{ tierChanged: { previousTier: { name: string } | null; tier: { name: string; rank: number }; member: { id: string } } }>(
      open(t.admin),
      'subscription($m: ID) { tierChanged(memberId: $m) { previousTier { name } tier { name rank } member { id } } }',
      { m: member },
    );
    await registered(1);
    const ledger = createLedgerClient({ url: subgraphUrls.members, serviceSecret, service: 'test' });
    for (const points of [300, 300, 300]) {
      await ledger.credit({ tenant: t.tenant, memberId: member, points, type: 'EARN', idempotencyKey: randomUUID(), reference: 'order' });
    }
    const [change] = await tiers.until(1);
    assert.deepEqual(change, { tierChanged: { previousTier: { name: 'Blue' }, tier: { name: 'Gold', rank: 1 }, member: { id: member } } });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(tiers.results.length, 1);
  });

  it('refuses no token and a bad token at connection, and another member’s id per subscription', async () => {
    const t = await newTenant();
    const [mine, theirs] = [await t.enroll(), await t.enroll()];
    for (const bad of [undefined, 'not-a-jwt']) {
      const closed = new Promise<{ code: number; reason: string }>((resolve) => {
        const client = open(bad, undefined, resolve);
        feed(client, 'subscription { pointsBalanceChanged { balance } }');
      });
      const event = await closed;
      assert.equal(event.code, 4401);
      assert.match(event.reason, /Unauthorized/);
    }
    const client = open(await token(t.tenant, ['member'], { memberId: mine }));
    const foreign = feed(client, 'subscription($m: ID) { pointsBalanceChanged(memberId: $m) { balance } }', { m: theirs });
    await assert.rejects(foreign.until(1), /FORBIDDEN/);
    const integrationFeed = feed(open(await token(t.tenant, ['integration'])), 'subscription { pointsBalanceChanged { balance } }');
    await assert.rejects(integrationFeed.until(1), /FORBIDDEN/);
    // The same connection still serves the member's own events.
    const own = feed<BalanceEvent>(client, 'subscription { pointsBalanceChanged { balance } }');
    await registered(1);
    await t.adjust(mine, 42);
    assert.equal((await own.until(1))[0]!.pointsBalanceChanged.balance, 42);
  });

  it('delivers on every gateway replica, and survives a lost bus connection without losing events', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const other = await replica();
    const query = 'subscription($m: ID) { pointsBalanceChanged(memberId: $m) { balance } }';
    const first = feed<BalanceEvent>(open(t.admin), query, { m: member });
    const second = feed<BalanceEvent>(open(t.admin, other.url), query, { m: member });
    await registered(1);
    await registered(1, other.url);
    await t.adjust(member, 1);
    assert.equal((await first.until(1))[0]!.pointsBalanceChanged.balance, 1);
    assert.equal((await second.until(1))[0]!.pointsBalanceChanged.balance, 1);

    // Cut every gateway's bus connection, change the balance meanwhile: nothing is lost.
    await sql('events', `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'bus-consumer'`);
    await t.adjust(member, 2);
    await t.adjust(member, 3);
    assert.deepEqual((await first.until(3)).map((e) => e.pointsBalanceChanged.balance), [1, 3, 6]);
    assert.deepEqual((await second.until(3)).map((e) => e.pointsBalanceChanged.balance), [1, 3, 6]);
  });

  it('releases everything on unsubscribe and disconnect', async () => {
    const t = await newTenant();
    const client = open(t.admin);
    const feeds = [feed(client, 'subscription { pointsBalanceChanged { balance } }'), feed(client, 'subscription { tierChanged { tier { name } } }')];
    const other = open(t.admin);
    feed(other, 'subscription { pointsBalanceChanged { delta } }');
    await registered(3);
    feeds[0]!.stop();
    await other.dispose();
    feeds[1]!.stop();
    assert.equal(await drained(), 0);
    assert.equal(await drained(gatewayUrl), 0);
  });

  it('applies the HTTP operation limits to subscriptions and offers no field suggestions', async () => {
    const t = await newTenant();
    const client = open(t.admin);
    const aliases = `subscription { pointsBalanceChanged { ${Array.from({ length: 500 }, (_, i) => `a${i}: balance`).join(' ')} } }`;
    const [tooManyAliases] = await refusal(feed(client, aliases));
    assert.equal(tooManyAliases!.extensions?.code, 'BAD_USER_INPUT');
    assert.match(tooManyAliases!.message, /Aliases limit of 30 exceeded/);

    const tokens = `subscription { pointsBalanceChanged { ${'balance '.repeat(6000)} } }`;
    const [tooManyTokens] = await refusal(feed(client, tokens));
    assert.equal(tooManyTokens!.extensions?.code, 'BAD_USER_INPUT');
    assert.match(tooManyTokens!.message, /5000 tokens/);

    const padded = `subscription { pointsBalanceChanged { balance } }\n#${'x'.repeat(100_000)}`;
    const [tooLarge] = await refusal(feed(client, padded));
    assert.equal(tooLarge!.extensions?.code, 'BAD_USER_INPUT');
    assert.match(tooLarge!.message, /at most 65536/);

    const typo = await refusal(feed(client, 'subscription { pointsBalanceChanged { balanse } }'));
    assert.equal(typo[0]!.extensions?.code, 'BAD_USER_INPUT');
    assert.match(typo[0]!.message, /Cannot query field "balanse"/);
    assert.doesNotMatch(JSON.stringify(typo), /Did you mean/);
    // A document is checked once and remembered: the same one again is refused the same way.
    assert.deepEqual(await refusal(feed(client, 'subscription { pointsBalanceChanged { balanse } }')), typo);

    // Each refusal was for that subscription only: the connection still serves events.
    const member = await t.enroll();
    const events = feed<BalanceEvent>(client, 'subscription($m: ID) { pointsBalanceChanged(memberId: $m) { balance } }', { m: member });
    await registered(1);
    await t.adjust(member, 4);
    assert.equal((await events.until(1))[0]!.pointsBalanceChanged.balance, 4);

    // A message larger than an HTTP body may be is not even read: the connection is closed.
    const { onClose, closed } = closing('the gateway to close a connection sending a 300 KB message');
    feed(open(t.admin, undefined, onClose), `subscription { pointsBalanceChanged { balance } }\n#${'x'.repeat(300_000)}`);
    assert.equal((await closed).code, 1009);
  });

  it('counts every subscribe against the per-principal rate limit', async () => {
    const t = await newTenant();
    const limited = await replica({ RATE_LIMIT_PER_MINUTE: '3' });
    const client = open(t.admin, limited.url);
    const query = 'subscription { pointsBalanceChanged { balance } }';
    for (let i = 0; i < 3; i++) feed(client, query);
    await registered(3, limited.url);
    const [error] = await refusal(feed(client, query));
    assert.equal(error!.extensions?.code, 'RATE_LIMITED');
    assert.match(error!.message, /Rate limit of 3 requests per minute exceeded/);
  });

  it('closes a connection when its token expires, with 4401', async () => {
    const t = await newTenant();
    const member = await t.enroll({ email: 'short@example.com' });
    const { onClose, closed } = closing('the connection of an expired token to be closed');
    const client = open(await token(t.tenant, ['member'], { memberId: member, expiresIn: '4s' }), undefined, onClose);
    const events = feed<BalanceEvent>(client, 'subscription { pointsBalanceChanged { balance member { email } } }');
    await registered(1);
    await t.adjust(member, 1);
    assert.equal((await events.until(1))[0]!.pointsBalanceChanged.member.email, 'short@example.com');
    const event = await closed;
    assert.equal(event.code, 4401);
    assert.match(event.reason, /Token expired/);
    await t.adjust(member, 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(events.results.length, 1, 'nothing after expiry');
  });

  it('answers an event that cannot be resolved with an error for it, and keeps the subscription', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const events = feed<BalanceEvent>(open(t.admin), 'subscription { pointsBalanceChanged { balance member { id } } }');
    await registered(1);
    // An event about a member that no longer exists: its member cannot be fetched.
    const ghost = randomUUID();
    await sql(
      'events',
      `INSERT INTO bus_events (source, source_id, type, tenant, key, payload, occurred_at)
       VALUES ('test', $1, 'POINTS_BALANCE_CHANGED', $2, $3, $4, now())`,
      [randomUUID(), t.tenant, ghost, { memberId: ghost, balance: 1, delta: 1, transaction: { id: randomUUID(), type: 'ADJUST', points: 1, balanceAfter: 1, reference: null } }],
    );
    await waitFor('an error payload for the event of a missing member', () => events.errors.length > 0);
    const [error] = events.errors[0] as { message: string; path?: string[]; extensions?: { code?: string } }[];
    assert.equal(error!.extensions?.code, 'NOT_FOUND');
    assert.deepEqual(error!.path, ['pointsBalanceChanged', 'member']);
    await t.adjust(member, 8);
    await waitFor('the next event after a failed one', () => events.results.length > 0);
    assert.deepEqual(events.results, [{ pointsBalanceChanged: { balance: 8, member: { id: member } } }]);
    assert.equal(events.errors.length, 1);
  });

  it('skips an event that does not match its schema, and keeps the subscription', async () => {
    const t = await newTenant();
    await ok('mutation($input: TierInput!) { upsertTier(input: $input) { id } }', { input: { name: 'Gold', rank: 1, qualifyingPoints: 100, earnMultiplier: 1 } }, { token: t.admin });
    const member = await t.enroll();
    const tiers = feed<{ tierChanged: { tier: { name: string } } }>(open(t.admin), 'subscription($m: ID) { tierChanged(memberId: $m) { tier { name } } }', { m: member });
    await registered(1);
    // A tier change without its tier, as a producer bug would publish it (analytics does not read this type).
    await sql(
      'events',
      `INSERT INTO bus_events (source, source_id, type, tenant, key, payload, occurred_at)
       VALUES ('test', $1, 'TIER_CHANGED', $2, $3, $4, now())`,
      [randomUUID(), t.tenant, member, { memberId: member, previousTierId: null }],
    );
    const ledger = createLedgerClient({ url: subgraphUrls.members, serviceSecret, service: 'test' });
    await ledger.credit({ tenant: t.tenant, memberId: member, points: 100, type: 'EARN', idempotencyKey: randomUUID(), reference: 'order' });
    const [change] = await tiers.until(1);
    assert.deepEqual(change, { tierChanged: { tier: { name: 'Gold' } } });
    assert.deepEqual(tiers.errors, []);
  });

  it('answers an event whose subgraph fails with an error for it, and keeps the subscription', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const rewards = await faultyProxy(subgraphUrls.rewards, /^\/graphql/);
    try {
      const gateway = await replica({ REWARDS_URL: rewards.url });
      const events = feed<{ pointsBalanceChanged: { balance: number } }>(
        open(t.admin, gateway.url),
        'subscription($m: ID) { pointsBalanceChanged(memberId: $m) { balance member { availableRewards { name } } } }',
        { m: member },
      );
      await registered(1, gateway.url);
      rewards.setMode('refuse');
      await t.adjust(member, 1);
      await waitFor('an error payload for the event whose subgraph failed', () => events.errors.length > 0);
      const [error] = events.errors[0] as { message: string; extensions?: { code?: string } }[];
      assert.equal(typeof error!.extensions?.code, 'string');
      assert.doesNotMatch(JSON.stringify(events.errors), /toJSON|127\.0\.0\.1|http:/);
      rewards.setMode('pass');
      await t.adjust(member, 2);
      await waitFor('the next event after a failed one', () => events.results.length > 0);
      assert.equal(events.results[0]!.pointsBalanceChanged.balance, 3);
    } finally {
      await rewards.close();
    }
  });

  it('does not hold every subscriber back behind one slow subgraph, and keeps each one in order', async () => {
    const t = await newTenant();
    const member = await t.enroll({ email: 'fast@example.com' });
    const rewards = await faultyProxy(subgraphUrls.rewards, /^\/graphql/);
    try {
      // Time-outs far beyond the test: only the proxy decides when the slow fetches answer.
      const gateway = await replica({ REWARDS_URL: rewards.url, SUBGRAPH_TIMEOUT_MS: '120000' });
      const client = open(t.admin, gateway.url);
      const slow = feed<{ pointsBalanceChanged: { balance: number; member: { availableRewards: unknown[] } } }>(
        client,
        'subscription($m: ID) { pointsBalanceChanged(memberId: $m) { balance member { availableRewards { name } } } }',
        { m: member },
      );
      await registered(1, gateway.url);
      const fast = feed<BalanceEvent>(client, 'subscription($m: ID) { pointsBalanceChanged(memberId: $m) { balance member { email } } }', { m: member });
      await registered(2, gateway.url);

      rewards.setMode('hold');
      for (const points of [1, 2, 3]) await t.adjust(member, points);
      const delivered = await fast.until(3, 20_000);
      assert.deepEqual(delivered.map((e) => [e.pointsBalanceChanged.balance, e.pointsBalanceChanged.member.email]), [[1, 'fast@example.com'], [3, 'fast@example.com'], [6, 'fast@example.com']]);
      await waitFor('the slow selection to wait for its subgraph', () => rewards.held() > 0);
      assert.equal(slow.results.length, 0, 'the slow selection is still waiting for its subgraph');

      rewards.setMode('pass');
      assert.deepEqual((await slow.until(3, 20_000)).map((e) => e.pointsBalanceChanged.balance), [1, 3, 6]);
    } finally {
      await rewards.close();
    }
  });

  it('fetches entity fields beyond the payload by key through _entities, from each subgraph that owns them', async () => {
    const t = await newTenant();
    const member = await t.enroll({ email: 'keyed@example.com' });
    await ok('mutation { createReward(input: { name: "Cap", type: PRODUCT, costPoints: 5 }) { id } }', {}, { token: t.admin });
    const { createCampaign } = await ok<{ createCampaign: { id: string } }>(
      'mutation { createCampaign(input: { name: "Welcome", rules: [{ name: "flat", trigger: PURCHASE, calculation: FIXED, points: 1 }] }) { id } }',
      {},
      { token: t.admin },
    );
    await ok('mutation($id: ID!) { activateCampaign(id: $id) { id } }', { id: createCampaign.id }, { token: t.admin });
    const [members, rewards, campaigns] = await Promise.all([recordingProxy(subgraphUrls.members), recordingProxy(subgraphUrls.rewards), recordingProxy(subgraphUrls.campaigns)]);
    const gateway = await replica({ MEMBERS_URL: members.url, REWARDS_URL: rewards.url, CAMPAIGNS_URL: campaigns.url });
    const events = feed<{ pointsBalanceChanged: { balance: number; who: Record<string, unknown> } }>(
      open(t.admin, gateway.url),
      `subscription($m: ID, $n: Int, $withEmail: Boolean!) {
        pointsBalanceChanged(memberId: $m) {
          balance
          who: member {
            ...Ids
            mail: email @include(if: $withEmail)
            status @skip(if: true)
            history: transactions(first: $n) { edges { node { points type } } }
            availableRewards { name }
          }
        }
      }
      fragment Ids on Member { id eligibleCampaigns { name } }`,
      { m: member, n: 1, withEmail: true },
    );
    await registered(1, gateway.url);
    const sent = members.requests.length;
    await t.adjust(member, 7);
    const [event] = await events.until(1);
    assert.deepEqual(event, {
      pointsBalanceChanged: {
        balance: 7,
        who: {
          id: member,
          eligibleCampaigns: [{ name: 'Welcome' }],
          mail: 'keyed@example.com',
          history: { edges: [{ node: { points: 7, type: 'ADJUST' } }] },
          availableRewards: [{ name: 'Cap' }],
        },
      },
    });
    // The member by its key, from members first (the subgraph of the subscription field), then
    // each other subgraph's fields by the same representation; no query field, no member(id:).
    const fromMembers = members.requests.slice(sent);
    assert.equal(fromMembers.length, 1);
    assert.match(fromMembers[0]!.query, /_entities\(representations: \$e0_representations\) \{ \.\.\. on Member \{/);
    assert.match(fromMembers[0]!.query, /mail: email/);
    assert.doesNotMatch(fromMembers[0]!.query, /member\(|status|availableRewards|eligibleCampaigns/);
    assert.deepEqual(fromMembers[0]!.variables, { e0_representations: [{ __typename: 'Member', id: member }], e0_n: 1 });
    for (const [proxy, field] of [[rewards, 'availableRewards'], [campaigns, 'eligibleCampaigns']] as const) {
      const [entities] = proxy.requests.filter((r) => r.query.includes('_entities'));
      assert.match(entities!.query, new RegExp(`\\.\\.\\. on Member \\{ ${field} \\{ name \\} \\}`));
      assert.deepEqual(entities!.variables, { e0_representations: [{ __typename: 'Member', id: member }] });
    }
  });

  it('fetches the tiers of a tier change by key, not the list of every tier', async () => {
    const t = await newTenant();
    const ids: Record<string, string> = {};
    for (const tier of [{ name: 'Silver', rank: 0, qualifyingPoints: 0 }, { name: 'Platinum', rank: 1, qualifyingPoints: 200 }, { name: 'Diamond', rank: 2, qualifyingPoints: 100_000 }]) {
      const { upsertTier } = await ok<{ upsertTier: { id: string } }>('mutation($input: TierInput!) { upsertTier(input: $input) { id } }', { input: { ...tier, earnMultiplier: 1 } }, { token: t.admin });
      ids[tier.name] = upsertTier.id;
    }
    const member = await t.enroll();
    const members = await recordingProxy(subgraphUrls.members);
    const gateway = await replica({ MEMBERS_URL: members.url });
    const tiers = feed<{ tierChanged: unknown }>(
      open(t.admin, gateway.url),
      'subscription($m: ID) { tierChanged(memberId: $m) { now: tier { id name rank } previousTier { name } member { id } } }',
      { m: member },
    );
    await registered(1, gateway.url);
    const sent = members.requests.length;
    const ledger = createLedgerClient({ url: subgraphUrls.members, serviceSecret, service: 'test' });
    await ledger.credit({ tenant: t.tenant, memberId: member, points: 250, type: 'EARN', idempotencyKey: randomUUID(), reference: 'order' });
    const [change] = await tiers.until(1);
    assert.deepEqual(change, { tierChanged: { now: { id: ids.Platinum, name: 'Platinum', rank: 1 }, previousTier: { name: 'Silver' }, member: { id: member } } });
    const fetched = members.requests.slice(sent);
    assert.equal(fetched.length, 1, 'the member and both tiers in one request');
    assert.doesNotMatch(fetched[0]!.query, /tiers/);
    const representations = Object.values(fetched[0]!.variables ?? {}).flat() as { __typename: string; id: string }[];
    assert.deepEqual(
      representations.filter((r) => r.__typename === 'Tier').map((r) => r.id).sort(),
      [ids.Platinum, ids.Silver].sort(),
      'only the two tiers the event names',
    );
  });

  it('refuses a subscription its access rule does not allow, before anything is fetched', async () => {
    const t = await newTenant();
    const [mine, theirs] = [await t.enroll(), await t.enroll()];
    const members = await recordingProxy(subgraphUrls.members);
    const gateway = await replica({ MEMBERS_URL: members.url });
    const client = open(await token(t.tenant, ['member'], { memberId: mine }), gateway.url);
    const [foreign] = await refusal(feed(client, 'subscription($m: ID) { tierChanged(memberId: $m) { member { email } } }', { m: theirs }));
    assert.equal(foreign!.extensions?.code, 'FORBIDDEN');
    assert.equal(foreign!.message, 'A member may only follow its own events');
    const [integration] = await refusal(feed(open(await token(t.tenant, ['integration']), gateway.url), 'subscription { tierChanged { member { id } } }'));
    assert.equal(integration!.extensions?.code, 'FORBIDDEN');
    assert.equal(integration!.message, 'Subscriptions need one of the roles: member, admin, marketer, agent');
    assert.equal(await drained(gateway.url), 0);
    const sent = members.requests.length;
    await t.adjust(theirs, 3);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(members.requests.slice(sent).filter((r) => r.query.includes('_entities')), [], 'nothing fetched for a refused subscription');
  });

  it('bounds what a slow subscriber may buffer, then ends its stream', async () => {
    let overflowed = 0;
    let ended = 0;
    const { iterator, push } = boundedStream<{ data: { n: number } }>(3, () => overflowed++, () => ended++);
    for (let i = 0; i < 3; i++) push({ data: { n: i } });
    assert.equal(overflowed, 0);
    push({ data: { n: 3 } });
    assert.equal(overflowed, 1);
    assert.equal(ended, 1);
    assert.deepEqual(await iterator.next(), { value: undefined, done: true }, 'the buffer is dropped, not kept');

    // Items still being settled come out in push order, whichever settles first.
    const ordered = boundedStream<number>(3, () => undefined, () => undefined);
    let settleFirst: (n: number) => void = () => {};
    ordered.push(new Promise<number>((resolve) => (settleFirst = resolve)));
    ordered.push(Promise.resolve(2));
    const first = ordered.iterator.next();
    setImmediate(() => settleFirst(1));
    assert.deepEqual(await first, { value: 1, done: false });
    assert.deepEqual(await ordered.iterator.next(), { value: 2, done: false });
  });
});
