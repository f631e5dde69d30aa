import assert from 'node:assert/strict';
import { beforeAll, describe, it } from '@jest/globals';
import { codes, gql, newTenant, ok, token } from './support/system';

// members(filter, orderBy) as support agents use it, through the gateway: each filter alone and
// combined, each order walked page by page, and what the search refuses.
interface Node {
  id: string;
  email: string;
  name: string | null;
  status: string;
  enrolledAt: string;
}
interface Page {
  members: { totalCount: number; edges: { cursor: string; node: Node }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

const SEARCH = `query($filter: MemberFilter, $orderBy: MemberOrder, $first: Int, $after: String) {
  members(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount edges { cursor node { id email name status enrolledAt } } pageInfo { hasNextPage endCursor }
  }
}`;

// ASCII only, so that JavaScript's lowercase and code unit order are PostgreSQL's lower() and "C" order.
const PEOPLE = {
  ann: { email: 'ann@example.com', name: 'Ann Smith', country: 'DE' },
  anna: { email: 'Anna.B@Example.com', name: 'anna JONES', country: 'FR' },
  bob: { email: 'bob@example.com', name: 'Bob Smith', country: 'DE' },
  underscore: { email: 'a_c@example.com', name: 'Under Score', country: 'FR' },
  noUnderscore: { email: 'abc@example.com', name: 'Plain Letters', country: 'FR' },
  percent: { email: 'pure@example.com', name: '100% Pure', country: 'DE' },
  noPercent: { email: 'purex@example.com', name: '100x Pure', country: 'DE' },
  backslash: { email: 'back@example.com', name: 'Back\\Slash', country: 'PL' },
  noBackslash: { email: 'backx@example.com', name: 'BackxSlash', country: 'PL' },
  tie1: { email: 'tie1@example.com', name: 'Sam Tie', country: 'PL' },
  tie2: { email: 'tie2@example.com', name: 'Sam Tie', country: 'PL' },
  tie3: { email: 'tie3@example.com', name: 'sam tie', country: 'PL' },
  nameless1: { email: 'nameless1@example.com', country: 'DE' },
  nameless2: { email: 'nameless2@example.com', country: 'DE' },
  suspended: { email: 'suspended@example.com', name: 'Sue Spended', country: 'DE' },
  erased1: { email: 'erased1@example.com', name: 'Era Sed', country: 'DE' },
  erased2: { email: 'erased2@example.com', name: 'Era Sed', country: 'DE' },
} as const;
type Who = keyof typeof PEOPLE;

const LAST = '\u{10FFFF}';
const byKey = (key: (n: Node) => string, direction: 1 | -1 = 1) => (a: Node, b: Node) => {
  const [x, y] = [key(a), key(b)];
  if (x !== y) return (x < y ? -1 : 1) * direction;
  return (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) * direction;
};
const ORDERS = {
  ENROLLED_AT_ASC: byKey((n) => n.enrolledAt),
  ENROLLED_AT_DESC: byKey((n) => n.enrolledAt, -1),
  // Erased members have no email (the API shows ''), and sort last.
  EMAIL_ASC: byKey((n) => (n.email ? n.email.toLowerCase() : LAST)),
  NAME_ASC: byKey((n) => n.name?.toLowerCase() ?? LAST),
};

describe('member search', () => {
  let t: Awaited<ReturnType<typeof newTenant>>;
  let agent: string;
  const ids = {} as Record<Who, string>;
  let all: Node[];

  const search = (variables: Record<string, unknown>, as = agent) => gql<Page>(SEARCH, variables, { token: as });
  const found = async (variables: Record<string, unknown>, as = agent) => {
    const result = await search({ first: 100, ...variables }, as);
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    return result.data!.members;
  };
  const who = (id: string) => (Object.keys(ids) as Who[]).find((w) => ids[w] === id);

  beforeAll(async () => {
    t = await newTenant();
    agent = await token(t.tenant, ['agent']);
    for (const [w, person] of Object.entries(PEOPLE)) ids[w as Who] = await t.enroll(person);
    await ok('mutation($id: ID!) { updateMember(id: $id, input: { status: SUSPENDED }) { id } }', { id: ids.suspended }, { token: t.admin });
    for (const w of ['erased1', 'erased2'] as const) await ok('mutation($id: ID!) { eraseMember(id: $id) { id } }', { id: ids[w] }, { token: t.admin });
    // Another tenant with the same people must never show up.
    const other = await newTenant();
    await other.enroll({ email: 'ann@example.com', name: 'Ann Smith', country: 'DE' });
    await other.enroll({ email: 'ann.other@example.com', name: 'Ann Other', country: 'DE' });
    all = (await found({})).edges.map((e) => e.node);
    assert.equal(all.length, Object.keys(PEOPLE).length);
  });

  // Expected: the members named, in enrolment order (the default order).
  const cases: [name: string, filter: Record<string, unknown>, expected: Who[]][] = [
    ['emailPrefix, case-insensitive', { emailPrefix: 'ANN' }, ['ann', 'anna']],
    ['emailPrefix matching one', { emailPrefix: 'anna.b@' }, ['anna']],
    ['emailPrefix _ is literal', { emailPrefix: 'a_' }, ['underscore']],
    ['emailPrefix % is literal', { emailPrefix: 'a%' }, []],
    ['emailPrefix is a prefix, not a substring', { emailPrefix: 'example' }, []],
    ['emailPrefix of a whole address', { emailPrefix: 'bob@example.com' }, ['bob']],
    ['nameContains, case-insensitive', { nameContains: 'SMITH' }, ['ann', 'bob']],
    ['nameContains in the middle of a name', { nameContains: 'nn' }, ['ann', 'anna']],
    ['nameContains % is literal', { nameContains: '0%' }, ['percent']],
    ['nameContains _ is literal', { nameContains: 'r_s' }, []],
    ['nameContains \\ is literal', { nameContains: 'k\\s' }, ['backslash']],
    ['nameContains never finds erased members', { nameContains: 'era' }, []],
    ['externalId and email keep their exact meaning', { email: 'ANN@example.com' }, ['ann']],
    ['status SUSPENDED', { status: 'SUSPENDED' }, ['suspended']],
    ['status ERASED', { status: 'ERASED' }, ['erased1', 'erased2']],
    ['nameContains and country', { nameContains: 'smith', country: 'de' }, ['ann', 'bob']],
    ['nameContains and country, narrowed', { nameContains: 'tie', country: 'FR' }, []],
    ['emailPrefix and nameContains', { emailPrefix: 'an', nameContains: 'jones' }, ['anna']],
    ['emailPrefix and status', { emailPrefix: 's', status: 'SUSPENDED' }, ['suspended']],
    ['emailPrefix and another status', { emailPrefix: 's', status: 'ACTIVE' }, []],
    ['status and country', { status: 'ACTIVE', country: 'PL' }, ['backslash', 'noBackslash', 'tie1', 'tie2', 'tie3']],
  ];
  it.each(cases)('finds by %s', async (_name, filter, expected) => {
    const members = await found({ filter });
    const inOrder = all.filter((n) => expected.includes(who(n.id)!)).map((n) => who(n.id));
    assert.deepEqual(members.edges.map((e) => who(e.node.id)), inOrder);
    assert.equal(members.totalCount, expected.length);
  });

  it.each(Object.keys(ORDERS) as (keyof typeof ORDERS)[])('walks %s page by page: every member once, in order, ties by id', async (orderBy) => {
    const seen: Node[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const members = await found({ orderBy, first: 3, after });
      seen.push(...members.edges.map((e) => e.node));
      if (!members.pageInfo.hasNextPage) break;
      after = members.pageInfo.endCursor;
    }
    assert.deepEqual(seen.map((n) => n.id), [...all].sort(ORDERS[orderBy]).map((n) => n.id));
  });

  it('pages a filtered search in another order', async () => {
    const first = await found({ filter: { nameContains: 'tie' }, orderBy: 'NAME_ASC', first: 2 });
    const rest = await found({ filter: { nameContains: 'tie' }, orderBy: 'NAME_ASC', first: 2, after: first.pageInfo.endCursor });
    const names = [...first.edges, ...rest.edges].map((e) => e.node.id);
    assert.deepEqual(names, [ids.tie1, ids.tie2, ids.tie3].sort());
    assert.equal(rest.pageInfo.hasNextPage, false);
  });

  it('keeps the default order when orderBy is left out', async () => {
    const implicit = await found({ first: 5 });
    const explicit = await found({ first: 5, orderBy: 'ENROLLED_AT_ASC' });
    assert.deepEqual(implicit.edges, explicit.edges);
  });

  it.each([
    ['EMAIL_ASC', 'NAME_ASC'],
    ['NAME_ASC', 'EMAIL_ASC'],
    ['ENROLLED_AT_ASC', 'ENROLLED_AT_DESC'],
    ['ENROLLED_AT_DESC', 'ENROLLED_AT_ASC'],
    ['ENROLLED_AT_ASC', 'EMAIL_ASC'],
  ])('refuses a cursor of %s used with %s', async (from, to) => {
    const { pageInfo } = await found({ orderBy: from, first: 2 });
    const result = await search({ orderBy: to, first: 2, after: pageInfo.endCursor });
    assert.deepEqual(codes(result), ['BAD_USER_INPUT']);
    assert.equal(result.errors?.[0]?.extensions?.field, 'after');
  });

  it.each([
    ['nameContains of 1 character', { nameContains: 'a' }, 'filter.nameContains'],
    ['nameContains of 101 characters', { nameContains: 'a'.repeat(101) }, 'filter.nameContains'],
    ['empty emailPrefix', { emailPrefix: '' }, 'filter.emailPrefix'],
    ['emailPrefix of 255 characters', { emailPrefix: 'a'.repeat(255) }, 'filter.emailPrefix'],
  ])('refuses %s', async (_name, filter, field) => {
    const result = await search({ filter });
    assert.deepEqual(codes(result), ['BAD_USER_INPUT']);
    assert.equal(result.errors?.[0]?.extensions?.field, field);
  });

  it('accepts the longest search texts', async () => {
    const members = await found({ filter: { nameContains: 'a'.repeat(100), emailPrefix: 'a'.repeat(254) } });
    assert.equal(members.totalCount, 0);
  });

  it('shows only the tenant’s own members', async () => {
    const members = await found({ filter: { emailPrefix: 'ann' } });
    assert.deepEqual(members.edges.map((e) => e.node.id), [ids.ann, ids.anna]);
    const other = await newTenant();
    assert.equal((await found({ filter: { nameContains: 'smith' } }, other.admin)).totalCount, 0);
  });

  it('is refused to a member as before', async () => {
    const member = await token(t.tenant, ['member'], { memberId: ids.ann });
    assert.deepEqual(codes(await search({ filter: { nameContains: 'smith' } }, member)), ['FORBIDDEN']);
  });
});
