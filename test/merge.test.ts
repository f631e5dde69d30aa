import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, it } from '@jest/globals';
import { faultyProxy, startService, waitFor, type Service } from './support/processes';
import { codes, gql, newTenant, subgraphUrls, token, type GraphQLResponse } from './support/system';

// Identical queries in flight at once are sent to a subgraph once, per identity. A gateway of its
// own sends the members subgraph's traffic through a proxy that can hold requests, so the tests
// decide when a fetch is in flight and count what actually reached the subgraph.

let gateway: Service;
let members: Awaited<ReturnType<typeof faultyProxy>>;

beforeAll(async () => {
  members = await faultyProxy(subgraphUrls.members, /^\/graphql/);
  gateway = await startService('gateway', {
    MEMBERS_URL: members.url,
    CAMPAIGNS_URL: subgraphUrls.campaigns,
    REWARDS_URL: subgraphUrls.rewards,
    ANALYTICS_URL: subgraphUrls.analytics,
    EVENT_BUS_URL: (JSON.parse(process.env.TEST_DATABASES ?? '{}') as Record<string, string>).events!,
  });
});

// A failed test must not leave requests held for the next one.
afterEach(() => members.setMode('pass'));

const call = <T = Record<string, any>>(query: string, variables: Record<string, unknown>, bearer: string) =>
  gql<T>(query, variables, { token: bearer }, `${gateway.url}/graphql`);

/** Fetches this gateway did not send because an identical one was in flight (all subgraphs). */
async function merged(): Promise<number> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  return [...text.matchAll(/^subgraph_fetches_merged_total\{[^}]*\} (\d+)/gm)].reduce((sum, [, n]) => sum + Number(n), 0);
}

const DASHBOARD = `query($id: ID!) {
  member(id: $id) { id points { balance } transactions(first: 5) { edges { node { points } } } }
}`;

describe('merging identical in-flight subgraph fetches', () => {
  it('sends identical concurrent queries of one principal once, and every caller gets the whole answer', async () => {
    const t = await newTenant();
    const id = await t.enroll();
    await t.adjust(id, 40);
    const before = await merged();
    members.setMode('hold');
    const answers = Array.from({ length: 5 }, () => call<{ member: { id: string; points: { balance: number } } }>(DASHBOARD, { id }, t.admin));
    // The first fetch may still be on its way to the proxy when the other four have joined it.
    await waitFor('four queries to join the first, and the first to reach the subgraph', async () => (await merged()) - before === 4 && members.held() >= 1);
    assert.equal(members.held(), 1);
    members.setMode('pass');
    for (const answer of await Promise.all(answers)) {
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.data, { member: { id, points: { balance: 40 }, transactions: { edges: [{ node: { points: 40 } }] } } });
    }
    // Nothing is kept once the fetch settled: the next identical query goes to the subgraph again.
    await t.adjust(id, 2);
    const after = await call<{ member: { points: { balance: number } } }>(DASHBOARD, { id }, t.admin);
    assert.equal(after.data?.member.points.balance, 42);
    assert.equal((await merged()) - before, 4);
  });

  it('never merges the same query across tenants or principals: each caller gets its own data', async () => {
    const [a, b] = [await newTenant(), await newTenant()];
    const [aliceId, bobId, carolId] = [await a.enroll({ name: 'Alice' }), await a.enroll({ name: 'Bob' }), await b.enroll({ name: 'Carol' })];
    await a.adjust(aliceId, 11);
    await a.adjust(bobId, 22);
    await b.adjust(carolId, 33);
    const callers = [
      { bearer: await token(a.tenant, ['member'], { memberId: aliceId, sub: `alice-${randomUUID()}` }), id: aliceId, balance: 11 },
      { bearer: await token(a.tenant, ['member'], { memberId: bobId, sub: `bob-${randomUUID()}` }), id: bobId, balance: 22 },
      { bearer: await token(b.tenant, ['member'], { memberId: carolId, sub: `carol-${randomUUID()}` }), id: carolId, balance: 33 },
    ];
    const ME = '{ me { id name points { balance } } }';
    const before = await merged();
    members.setMode('hold');
    const answers = callers.map(({ bearer }) => call<{ me: { id: string; points: { balance: number } } }>(ME, {}, bearer));
    await waitFor('each caller’s query at the subgraph', () => members.held() === 3);
    members.setMode('pass');
    const results = await Promise.all(answers);
    results.forEach((answer, i) => {
      assert.equal(answer.data?.me.id, callers[i]!.id);
      assert.equal(answer.data.me.points.balance, callers[i]!.balance);
    });
    assert.deepEqual(
      results.map((r) => (r.data?.me as { name?: string } | undefined)?.name),
      ['Alice', 'Bob', 'Carol'],
    );
    assert.equal(await merged(), before);
  });

  it('never merges mutations, even identical ones of one principal', async () => {
    const t = await newTenant();
    const id = await t.enroll();
    const before = await merged();
    members.setMode('hold');
    // The same write twice, same idempotency key: both reach the members subgraph, which answers the
    // second as a replay of the first.
    const mutation = 'mutation($input: AdjustPointsInput!) { adjustPoints(input: $input) { id balanceAfter } }';
    const input = { memberId: id, points: 7, reason: 'test', idempotencyKey: randomUUID() };
    const here = [call(mutation, { input }, t.admin), call(mutation, { input }, t.admin)];
    await waitFor('both mutations at the subgraph', () => members.held() === 2);
    members.setMode('pass');
    const [first, second] = (await Promise.all(here)) as GraphQLResponse<{ adjustPoints: { id: string; balanceAfter: number } }>[];
    assert.equal(first?.errors, undefined);
    assert.deepEqual(second?.data, first?.data);
    assert.equal(await merged(), before);
    assert.equal(await t.balance(id), 7);
  });

  it('hands a failed merged fetch to every waiter as its own error, and keeps nothing of it', async () => {
    const t = await newTenant();
    const id = await t.enroll();
    const before = await merged();
    members.setMode('hold');
    const answers = Array.from({ length: 3 }, () => call(DASHBOARD, { id }, t.admin));
    await waitFor('two queries to join the first', async () => (await merged()) - before === 2);
    members.setMode('refuse');
    for (const answer of await Promise.all(answers)) {
      assert.equal(answer.status, 503);
      assert.deepEqual(codes(answer), ['SERVICE_UNAVAILABLE']);
      assert.doesNotMatch(JSON.stringify(answer.errors), /127\.0\.0\.1|ECONN|stack|http:/);
    }
    members.setMode('pass');
    const again = await call<{ member: { id: string } }>(DASHBOARD, { id }, t.admin);
    assert.equal(again.errors, undefined);
    assert.equal(again.data?.member.id, id);
    assert.equal((await merged()) - before, 2);
  });
});
