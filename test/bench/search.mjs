// Member search that must not slow with the tenant's size: members(filter) by country, by tier, by
// email prefix (in enrolment and in email order) and by part of the name, first page and a page further on, in a tenant of 1,000,000 members against one of 1,000, same
// queries, alternated in rounds. The members are seeded with SQL (enrolment through the API would
// take an hour), spread over ten countries and three tiers.
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { kit, log, runBench } from './harness.mjs';
import { alternate } from './load.mjs';

export const LARGE_TENANT = 1_000_000;
const SMALL_TENANT = 1000;
const COUNTRIES = ['DE', 'FR', 'PL', 'ES', 'IT', 'NL', 'SE', 'AT', 'BE', 'CZ'];

const SEARCH = `query Search($filter: MemberFilter, $orderBy: MemberOrder, $after: String) {
  members(filter: $filter, orderBy: $orderBy, first: 20, after: $after) { edges { node { id email country } } pageInfo { hasNextPage endCursor } }
}`;

async function seedTenant({ db, kit, system, size }) {
  const tenant = `bench-search-${randomUUID().slice(0, 8)}`;
  const token = await kit.signUserToken({ sub: 'bench-admin', tenant, roles: ['admin'] }, system.secrets.JWT_SECRET);
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const tiers = [];
  for (const [rank, name] of ['Bronze', 'Silver', 'Gold'].entries()) {
    const response = await fetch(`${system.gatewayUrl}/graphql`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: 'mutation($input: TierInput!) { upsertTier(input: $input) { id } }', variables: { input: { name, rank, qualifyingPoints: rank * 1000, earnMultiplier: 1 } } }),
    });
    tiers.push((await response.json()).data.upsertTier.id);
  }
  // Enrolled a second apart, oldest first, like a program that grew over the years.
  await db.query(
    `WITH m AS (
       INSERT INTO members (tenant, email, name, country, tier_id, enrolled_at)
       SELECT $1, 'm' || g || '@search.example', 'Member ' || g, ($3::text[])[1 + g % 10], ($4::uuid[])[1 + g % 3],
              now() - make_interval(secs => $2::int - g)
       FROM generate_series(1, $2::int) g RETURNING id)
     INSERT INTO point_accounts (member_id, tenant) SELECT id, $1 FROM m`,
    [tenant, size, COUNTRIES, tiers],
  );
  return { tenant, headers: { authorization: headers.authorization }, tier: tiers[1] };
}

/** Seeds both tenants and measures each search for both in alternating rounds. */
export async function runSearchBench({ kit, system, log, rounds, seconds }) {
  const db = new pg.Client({ connectionString: system.databases.members });
  await db.connect();
  let large;
  let small;
  try {
    log(`search: seeding a tenant with ${LARGE_TENANT} members and one with ${SMALL_TENANT}…`);
    const started = performance.now();
    large = await seedTenant({ db, kit, system, size: LARGE_TENANT });
    small = await seedTenant({ db, kit, system, size: SMALL_TENANT });
    await db.query('ANALYZE members, point_accounts');
    log(`search: seeded in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await db.end();
  }
  const ask = async (t, variables) => {
    const response = await fetch(`${system.gatewayUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...t.headers }, body: JSON.stringify({ query: SEARCH, variables }) });
    const body = await response.json();
    if (body.errors) throw new Error(`search bench: ${JSON.stringify(body.errors)}`);
    return body.data.members;
  };
  const searches = [];
  // 'm1' and 'ber 1' match 111 of the 1,000 members (enough for page 5) and 111,111 of the 1,000,000.
  const cases = [
    ['by country', () => ({ country: 'PL' })],
    ['by tier', (t) => ({ tierId: t.tier })],
    ['by email prefix', () => ({ emailPrefix: 'm1' })],
    ['by email prefix in email order', () => ({ emailPrefix: 'm1' }), 'EMAIL_ASC'],
    ['by part of the name', () => ({ nameContains: 'ber 1' })],
  ];
  for (const [name, filterOf, orderBy = 'ENROLLED_AT_ASC'] of cases) {
    for (const page of ['first page', 'page 5']) {
      const phases = [];
      for (const [label, t] of [['1M', large], ['1k', small]]) {
        const filter = filterOf(t);
        let after = null;
        // Page 5: the cursor after four pages, as a user clicking "next" would hold it.
        if (page === 'page 5') for (let i = 0; i < 4; i++) after = (await ask(t, { filter, orderBy, after })).pageInfo.endCursor;
        const first = await ask(t, { filter, orderBy, after });
        if (first.edges.length !== 20) throw new Error(`search bench: ${name} ${page} in the ${label} tenant found ${first.edges.length} members`);
        phases.push({
          name: `members ${name}, ${page}, ${label} members`,
          url: system.gatewayUrl,
          headers: t.headers,
          body: JSON.stringify({ query: SEARCH, variables: { filter, orderBy, after } }),
          connections: 10,
          check: (body) => body.data?.members?.edges?.length === 20,
        });
      }
      const [largeRun, smallRun] = await alternate(phases[0], phases[1], { rounds, seconds });
      searches.push({ name: `members ${name}, ${page}`, large: largeRun, small: smallRun, ratio: largeRun.rps / smallRun.rps });
    }
  }
  return searches;
}

// Run alone: `npm run bench:search` (run.mjs runs it among the rest, with the same target).
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runBench(async (system) => {
    const searches = await runSearchBench({ kit, system, log, rounds: 4, seconds: 6 });
    console.log('');
    for (const read of searches) {
      console.log(`${read.name}, ${LARGE_TENANT / 1e6}M ÷ 1k members: ${read.ratio.toFixed(2)} (${read.large.rps.toFixed(0)} vs ${read.small.rps.toFixed(0)} req/s)  target ≥ 0.90   ${read.ratio >= 0.9 ? 'PASS' : 'MISS'}`);
    }
  });
}
