import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { gql, newTenant, sql, type GraphQLResponse } from './support/system';

/** A node:test subtest, run in place (Jest has none): its failure names it. */
async function subtest(name: string, fn: () => unknown): Promise<void> {
  try {
    await fn();
  } catch (error) {
    throw new Error(`${name} failed`, { cause: error });
  }
}

const ENROLL = 'mutation($input: EnrollMemberInput!) { enrollMember(input: $input) { id } }';
const ADJUST = 'mutation($input: AdjustPointsInput!) { adjustPoints(input: $input) { id } }';

function assertError(result: GraphQLResponse, code: string, field?: string) {
  assert.equal(result.errors?.length, 1, JSON.stringify(result.errors));
  const [error] = result.errors;
  assert.equal(error!.extensions?.code, code, JSON.stringify(error));
  if (field) assert.equal(error!.extensions?.field, field, JSON.stringify(error));
  // Nothing internal leaks: no stack, no SQL, no subgraph URL.
  const text = JSON.stringify(result);
  assert.doesNotMatch(text, /stacktrace|SELECT |INSERT |at .*\.js:\d+|127\.0\.0\.1|serviceName/);
}

describe('bad input', () => {
  it('names the field and stores nothing', async () => {
    const t = await newTenant();
    const member = await t.enroll({ email: 'taken@example.com', externalId: 'crm-9' });
    const cases: [string, string, Record<string, unknown>, string, string?][] = [
      ['invalid email', ENROLL, { input: { email: 'not-an-email' } }, 'BAD_USER_INPUT', 'email'],
      ['duplicate email, any case', ENROLL, { input: { email: 'TAKEN@example.com' } }, 'CONFLICT', 'email'],
      ['duplicate externalId', ENROLL, { input: { email: 'x@example.com', externalId: 'crm-9' } }, 'CONFLICT', 'externalId'],
      ['over-long name', ENROLL, { input: { email: 'y@example.com', name: 'n'.repeat(201) } }, 'BAD_USER_INPUT', 'name'],
      ['bad country', ENROLL, { input: { email: 'z@example.com', country: 'GBR' } }, 'BAD_USER_INPUT', 'country'],
      ['too many attributes', ENROLL, { input: { email: 'w@example.com', attributes: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])) } }, 'BAD_USER_INPUT', 'attributes'],
      ['attributes not an object', ENROLL, { input: { email: 'v@example.com', attributes: [1, 2] } }, 'BAD_USER_INPUT', 'attributes'],
      ['zero points', ADJUST, { input: { memberId: member, points: 0, reason: 'r', idempotencyKey: 'k1' } }, 'BAD_USER_INPUT', 'points'],
      ['non-integer points', ADJUST, { input: { memberId: member, points: 1.5, reason: 'r', idempotencyKey: 'k2' } }, 'BAD_USER_INPUT', 'points'],
      ['points as a string', ADJUST, { input: { memberId: member, points: '10', reason: 'r', idempotencyKey: 'k3' } }, 'BAD_USER_INPUT', 'points'],
      ['empty reason', ADJUST, { input: { memberId: member, points: 5, reason: '', idempotencyKey: 'k4' } }, 'BAD_USER_INPUT', 'reason'],
      ['over-long idempotency key', ADJUST, { input: { memberId: member, points: 5, reason: 'r', idempotencyKey: 'k'.repeat(201) } }, 'BAD_USER_INPUT', 'idempotencyKey'],
      ['malformed member id', ADJUST, { input: { memberId: 'abc', points: 5, reason: 'r', idempotencyKey: 'k5' } }, 'BAD_USER_INPUT', 'memberId'],
      ['unknown member', ADJUST, { input: { memberId: '00000000-0000-4000-8000-000000000000', points: 5, reason: 'r', idempotencyKey: 'k6' } }, 'NOT_FOUND', 'memberId'],
    ];
    for (const [name, query, variables, code, field] of cases) {
      await subtest(name, async () => assertError(await gql(query, variables, { token: t.admin }), code, field));
    }
    const members = (await sql<{ n: number }>('members', 'SELECT count(*)::int AS n FROM members WHERE tenant = $1', [t.tenant]))[0]!.n;
    assert.equal(members, 1);
    assert.equal(await t.balance(member), 0);
  });

  it('answers malformed and unknown ids on reads without an internal error', async () => {
    const t = await newTenant();
    assertError(await gql('{ member(id: "nope") { id } }', {}, { token: t.admin }), 'BAD_USER_INPUT', 'id');
    const unknown = await gql('{ member(id: "00000000-0000-4000-8000-000000000000") { id } }', {}, { token: t.admin });
    assert.deepEqual(unknown.data, { member: null });
    assertError(await gql('mutation { updateMember(id: "00000000-0000-4000-8000-000000000000", input: { name: "x" }) { id } }', {}, { token: t.admin }), 'NOT_FOUND', 'id');
    assertError(await gql('{ members(after: "garbage") { totalCount } }', {}, { token: t.admin }), 'BAD_USER_INPUT', 'after');
    assertError(await gql('{ members(first: 1000) { totalCount } }', {}, { token: t.admin }), 'BAD_USER_INPUT', 'first');
    assertError(await gql('{ nope }', {}, { token: t.admin }), 'BAD_USER_INPUT');
    assertError(
      await gql('{ programStats(range: { from: "2026-02-01T00:00:00Z", to: "2026-01-01T00:00:00Z" }) { members } }', {}, { token: t.admin }),
      'BAD_USER_INPUT',
      'range.from',
    );
    assertError(await gql('{ members {', {}, { token: t.admin }), 'BAD_USER_INPUT');
  });
});
