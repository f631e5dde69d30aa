import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from '@jest/globals';
import { createLedgerClient } from '@loyalty/kit';
import { newTenant, ok, serviceSecret, subgraphUrls, token } from './support/system';

describe('members', () => {
  it('enrols, updates and finds members with filters and Relay pagination', async () => {
    const t = await newTenant();
    await ok('mutation { upsertTier(input: { name: "Base", rank: 0, qualifyingPoints: 0, earnMultiplier: 1 }) { id } }', {}, { token: t.admin });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await t.enroll({ email: `m${i}@example.com`, country: i % 2 ? 'fr' : 'DE', externalId: `crm-${i}`, attributes: { vip: i === 0 } }));
    const updated = await ok<{ updateMember: { name: string; status: string; attributes: unknown; country: string } }>(
      'mutation($id: ID!) { updateMember(id: $id, input: { name: "Renamed", status: SUSPENDED, attributes: { vip: false } }) { name status attributes country } }',
      { id: ids[0] },
      { token: t.admin },
    );
    assert.deepEqual(updated.updateMember, { name: 'Renamed', status: 'SUSPENDED', attributes: { vip: false }, country: 'DE' });

    const filtered = await ok<Record<string, { totalCount: number; edges: { node: { id: string } }[] }>>(
      `{ fr: members(filter: { country: "FR" }) { totalCount edges { node { id } } }
         crm: members(filter: { externalId: "crm-3" }) { totalCount edges { node { id } } }
         email: members(filter: { email: "M2@EXAMPLE.COM" }) { totalCount edges { node { id } } } }`,
      {},
      { token: t.admin },
    );
    assert.deepEqual(filtered.fr!.edges.map((e) => e.node.id), [ids[1], ids[3]]);
    assert.deepEqual(filtered.crm!.edges.map((e) => e.node.id), [ids[3]]);
    assert.deepEqual(filtered.email!.edges.map((e) => e.node.id), [ids[2]]);

    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: { members: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await ok(
        'query($after: String) { members(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }',
        { after },
        { token: t.admin },
      );
      seen.push(...page.members.edges.map((e) => e.node.id));
      if (!page.members.pageInfo.hasNextPage) break;
      after = page.members.pageInfo.endCursor;
    }
    assert.deepEqual(seen, ids);
  });

  it('lists a member’s transactions newest first, page by page', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    for (const points of [10, 20, 30, 40, 50]) await t.adjust(member, points);
    const memberToken = await token(t.tenant, ['member'], { memberId: member });
    const first = await ok<{ me: { transactions: { totalCount: number; edges: { node: { points: number; balanceAfter: number; type: string } }[]; pageInfo: { endCursor: string } } } }>(
      '{ me { transactions(first: 3) { totalCount edges { node { points balanceAfter type } } pageInfo { endCursor } } } }',
      {},
      { token: memberToken },
    );
    assert.equal(first.me.transactions.totalCount, 5);
    assert.deepEqual(first.me.transactions.edges.map((e) => e.node.points), [50, 40, 30]);
    assert.deepEqual(first.me.transactions.edges.map((e) => e.node.balanceAfter), [150, 100, 60]);
    const rest = await ok<{ me: { transactions: { edges: { node: { points: number } }[]; pageInfo: { hasNextPage: boolean } } } }>(
      'query($after: String) { me { transactions(first: 3, after: $after) { edges { node { points } } pageInfo { hasNextPage } } } }',
      { after: first.me.transactions.pageInfo.endCursor },
      { token: memberToken },
    );
    assert.deepEqual(rest.me.transactions.edges.map((e) => e.node.points), [20, 10]);
    assert.equal(rest.me.transactions.pageInfo.hasNextPage, false);
  });

  it('gives a tenant without tiers the built-in base tier', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const data = await ok<{ member: { tier: unknown; tierProgress: unknown } }>(
      'query($id: ID!) { member(id: $id) { tier { id name rank earnMultiplier } tierProgress { next { id } pointsToNext } } }',
      { id: member },
      { token: t.admin },
    );
    assert.deepEqual(data.member, { tier: { id: 'base', name: 'Base', rank: 0, earnMultiplier: 1 }, tierProgress: { next: null, pointsToNext: null } });
  });

  it('counts members without a recorded tier on the entry tier when filtering by it', async () => {
    const t = await newTenant();
    const early = await t.enroll(); // before the tenant had tiers: no tier recorded
    const upsert = async (input: string) => (await ok<{ upsertTier: { id: string } }>(`mutation { upsertTier(input: ${input}) { id } }`, {}, { token: t.admin })).upsertTier.id;
    const base = await upsert('{ name: "Base", rank: 0, qualifyingPoints: 0, earnMultiplier: 1 }');
    const silver = await upsert('{ name: "Silver", rank: 1, qualifyingPoints: 100, earnMultiplier: 1.5 }');
    const late = await t.enroll();
    const promoted = await t.enroll();
    const ledger = createLedgerClient({ url: subgraphUrls.members, serviceSecret, service: 'test' });
    await ledger.credit({ tenant: t.tenant, memberId: promoted, points: 100, type: 'EARN', idempotencyKey: randomUUID(), reference: 'qualify' });
    const byTier = await ok<Record<string, { totalCount: number; edges: { node: { id: string; tier: { id: string } } }[] }>>(
      `query($base: ID!, $silver: ID!) {
         base: members(filter: { tierId: $base }) { totalCount edges { node { id tier { id } } } }
         silver: members(filter: { tierId: $silver }) { totalCount edges { node { id tier { id } } } } }`,
      { base, silver },
      { token: t.admin },
    );
    assert.deepEqual(byTier.base, { totalCount: 2, edges: [early, late].map((id) => ({ node: { id, tier: { id: base } } })) });
    assert.deepEqual(byTier.silver, { totalCount: 1, edges: [{ node: { id: promoted, tier: { id: silver } } }] });
  });
});
