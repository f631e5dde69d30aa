import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { codes, gql, newTenant, ok, sql, token } from './support/system';

// Marketing consents: off until given, set by the member itself or staff on its behalf, every
// change recorded with who made it.

const UPDATE = 'mutation($id: ID!, $input: ConsentInput!) { updateConsents(memberId: $id, input: $input) { consents { marketingEmail marketingSms marketingPush updatedAt } } }';
type Consents = { marketingEmail: boolean; marketingSms: boolean; marketingPush: boolean; updatedAt: string | null };

describe('consents', () => {
  it('start off, change per channel, and are recorded with their actor', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const fresh = await ok<{ member: { consents: Consents } }>('query($id: ID!) { member(id: $id) { consents { marketingEmail marketingSms marketingPush updatedAt } } }', { id: member }, { token: t.admin });
    assert.deepEqual(fresh.member.consents, { marketingEmail: false, marketingSms: false, marketingPush: false, updatedAt: null });

    const self = await token(t.tenant, ['member'], { memberId: member, sub: 'member-app' });
    const given = await ok<{ updateConsents: { consents: Consents } }>(UPDATE, { id: member, input: { marketingEmail: true } }, { token: self });
    assert.equal(given.updateConsents.consents.marketingEmail, true);
    assert.equal(given.updateConsents.consents.marketingSms, false);
    assert.ok(given.updateConsents.consents.updatedAt);

    const agent = await token(t.tenant, ['agent'], { sub: 'agent-7' });
    const both = await ok<{ updateConsents: { consents: Consents } }>(UPDATE, { id: member, input: { marketingSms: true, marketingEmail: false } }, { token: agent });
    assert.deepEqual({ ...both.updateConsents.consents, updatedAt: null }, { marketingEmail: false, marketingSms: true, marketingPush: false, updatedAt: null });

    // Nothing to set: the member as it is, and nothing recorded.
    await ok(UPDATE, { id: member, input: {} }, { token: agent });
    const record = await sql<{ changes: Record<string, boolean>; actor: string }>('members', 'SELECT changes, actor FROM consent_changes WHERE member_id = $1 ORDER BY id', [member]);
    assert.deepEqual(record, [
      { changes: { marketingEmail: true }, actor: 'member-app' },
      { changes: { marketingEmail: false, marketingSms: true }, actor: 'agent-7' },
    ]);
    await assert.rejects(sql('members', 'DELETE FROM consent_changes WHERE member_id = $1', [member]), /consent_changes is append-only/);
  });

  it('refuse another member, another tenant and roles without the right, and change nothing', async () => {
    const t = await newTenant();
    const other = await newTenant();
    const member = await t.enroll();
    const neighbour = await t.enroll();
    const self = await token(t.tenant, ['member'], { memberId: neighbour });
    assert.deepEqual(codes(await gql(UPDATE, { id: member, input: { marketingPush: true } }, { token: self })), ['FORBIDDEN']);
    assert.deepEqual(codes(await gql(UPDATE, { id: member, input: { marketingPush: true } }, { token: await token(t.tenant, ['marketer']) })), ['FORBIDDEN']);
    assert.deepEqual(codes(await gql(UPDATE, { id: member, input: { marketingPush: true } }, { token: other.admin })), ['NOT_FOUND']);
    assert.deepEqual(codes(await gql(UPDATE, { id: 'nope', input: { marketingPush: true } }, { token: t.admin })), ['BAD_USER_INPUT']);
    const rows = await sql<{ push: boolean; n: number }>(
      'members',
      'SELECT consent_marketing_push AS push, (SELECT count(*)::int FROM consent_changes WHERE member_id = $1) AS n FROM members WHERE id = $1',
      [member],
    );
    assert.deepEqual(rows, [{ push: false, n: 0 }]);
  });
});
