import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { gatewayCredential, gql, newTenant, ok, subgraphUrls } from './support/system';

/** SQL statements the members subgraph has sent so far (its /metrics counter). */
async function statements(): Promise<number> {
  const text = await (await fetch(`${subgraphUrls.members}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('db_queries_total{') && line.includes('origin="request"'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

async function countStatements(run: () => Promise<unknown>): Promise<number> {
  const before = await statements();
  await run();
  return (await statements()) - before;
}

const FIELDS = 'id email points { balance expiring } tier { name } tierProgress { qualifyingPoints next { name } } transactions(first: 3) { totalCount edges { node { points } } }';

describe('batching', () => {
  it('resolves 10 or 100 members through _entities with the same number of SQL statements', async () => {
    const t = await newTenant();
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) ids.push(await t.enroll());
    await Promise.all(ids.slice(0, 20).map((id) => t.adjust(id, 10)));
    const headers = await gatewayCredential({ tenant: t.tenant, principal: 'admin', roles: ['admin'], scopes: [] });
    const entities = async (n: number) => {
      const result = await gql<{ _entities: { id: string }[] }>(
        `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Member { ${FIELDS} } } }`,
        { reps: ids.slice(0, n).map((id) => ({ __typename: 'Member', id })) },
        { headers },
        `${subgraphUrls.members}/graphql`,
      );
      assert.equal(result.errors, undefined, JSON.stringify(result.errors));
      assert.equal(result.data!._entities.length, n);
      assert.deepEqual(result.data!._entities.map((m) => m.id), ids.slice(0, n));
    };
    const ten = await countStatements(() => entities(10));
    const hundred = await countStatements(() => entities(100));
    assert.equal(hundred, ten, `10 members took ${ten} statements, 100 took ${hundred}`);
    assert.ok(ten <= 8, `expected a handful of statements, saw ${ten}`);
  });

  it('resolves list fields of a page of members through the gateway in constant SQL', async () => {
    const t = await newTenant();
    for (let i = 0; i < 60; i++) await t.enroll();
    const page = (first: number) => ok(`query($first: Int) { members(first: $first) { totalCount edges { node { ${FIELDS} } } } }`, { first }, { token: t.admin });
    const small = await countStatements(() => page(5));
    const large = await countStatements(() => page(60));
    assert.equal(large, small, `5 members took ${small} statements, 60 took ${large}`);
  });
});
