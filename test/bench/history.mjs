// Reads that must not slow with history: the member-facing reads of a member with 100,000 ledger
// entries (and 50,000 open lots) against those of a member with 30, same tenant, same queries,
// alternated in rounds. The heavy member is seeded with SQL in a few statements (through the API it
// would take minutes), as the ledger books it: entries with running balances, a lot per credit,
// earn days for the tier window.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { alternate } from './load.mjs';
import { DASHBOARD_QUERY } from './queries.mjs';

export const HEAVY_ENTRIES = 100_000;
const LIGHT_ENTRIES = 30;

/** The points page: what expires and when, and the second page of history. */
const POINTS_PAGE = `query Points($id: ID!, $after: String) {
  member(id: $id) {
    points { balance pending expiring(withinDays: 30) nextExpiry { points expiresAt } }
    transactions(first: 20, after: $after) { totalCount edges { node { id type points } } pageInfo { hasNextPage } }
  }
}`;

/**
 * `entries` alternating credits (+2, EARN, a lot with 1 point left that expires some hours on)
 * and debits (−1, REDEEM), so balance = entries = lots, every day of the last year holding earns.
 */
async function seedMember(db, tenant, entries) {
  const { rows: [{ id }] } = await db.query(`INSERT INTO members (tenant, email, name) VALUES ($1, $2, 'History') RETURNING id`, [tenant, `history-${randomUUID()}@bench.example`]);
  const credits = Math.ceil(entries / 2);
  const debits = entries - credits;
  const balance = credits * 2 - debits;
  await db.query(`INSERT INTO point_accounts (member_id, tenant, balance, lifetime_earned) VALUES ($1, $2, $3, $4)`, [id, tenant, balance, credits * 2]);
  // Entry i (1-based): odd = credit, even = debit; the balance after i is ceil(i/2)*2 - floor(i/2).
  await db.query(
    `WITH e AS (
       INSERT INTO ledger_entries (tenant, member_id, type, points, balance_after, reason, source, idempotency_key, created_at, expires_at)
       SELECT $1, $2::uuid, CASE WHEN i % 2 = 1 THEN 'EARN' ELSE 'REDEEM' END, CASE WHEN i % 2 = 1 THEN 2 ELSE -1 END,
              ((i + 1) / 2) * 2 - i / 2, 'bench: history', 'bench', 'bench:history:' || $2::text || ':' || i,
              now() - make_interval(secs => ($3 - i) * 300), CASE WHEN i % 2 = 1 THEN now() + make_interval(hours => i) END
       FROM generate_series(1, $3::int) i ORDER BY i
       RETURNING id, points, expires_at)
     INSERT INTO point_lots (tenant, member_id, entry_id, points, remaining, expires_at)
     SELECT $1, $2::uuid, id, 2, 1, expires_at FROM e WHERE points > 0`,
    [tenant, id, entries],
  );
  await db.query(
    `INSERT INTO earn_days (tenant, member_id, day, points)
     SELECT $1, $2::uuid, (created_at AT TIME ZONE 'UTC')::date, sum(points) FROM ledger_entries
     WHERE member_id = $2::uuid AND type = 'EARN' AND created_at > now() - interval '12 months' GROUP BY 1, 2, 3`,
    [tenant, id],
  );
  return { id, balance };
}

/**
 * Seeds the two members and measures each read for both in alternating rounds (load.mjs's
 * `alternate`, as every other comparison).
 */
export async function runHistoryBench({ kit, system, log, rounds, seconds }) {
  const tenant = `bench-history-${randomUUID().slice(0, 8)}`;
  const token = await kit.signUserToken({ sub: 'bench-agent', tenant, roles: ['agent'] }, system.secrets.JWT_SECRET);
  const headers = { authorization: `Bearer ${token}` };
  const db = new pg.Client({ connectionString: system.databases.members });
  await db.connect();
  let heavy;
  let light;
  try {
    log(`history: seeding a member with ${HEAVY_ENTRIES} entries and one with ${LIGHT_ENTRIES}…`);
    heavy = await seedMember(db, tenant, HEAVY_ENTRIES);
    light = await seedMember(db, tenant, LIGHT_ENTRIES);
    await db.query('ANALYZE ledger_entries, point_lots');
  } finally {
    await db.end();
  }

  const ask = async (query, variables) => {
    const response = await fetch(`${system.gatewayUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
    const body = await response.json();
    if (body.errors) throw new Error(`history bench: ${JSON.stringify(body.errors)}`);
    return body.data;
  };
  const cursorOf = async (member) => (await ask('query($id: ID!) { member(id: $id) { transactions(first: 10) { edges { cursor } } } }', { id: member.id })).member.transactions.edges.at(-1).cursor;
  const reads = [];
  for (const [name, query] of [['dashboard', DASHBOARD_QUERY], ['points page', POINTS_PAGE]]) {
    const phases = [];
    for (const [label, member] of [['heavy', heavy], ['light', light]]) {
      const variables = { id: member.id, after: await cursorOf(member) };
      const expected = await ask(query, variables);
      if (expected.member.points.balance !== member.balance) throw new Error(`history bench: ${label} member's balance ${expected.member.points.balance}, seeded ${member.balance}`);
      phases.push({
        name: `${name}, ${label === 'heavy' ? `${HEAVY_ENTRIES / 1000}k` : LIGHT_ENTRIES} entries`,
        url: system.gatewayUrl,
        headers,
        body: JSON.stringify({ query, variables }),
        connections: 10,
        check: (body) => body.data?.member?.points?.balance === member.balance,
      });
    }
    const [heavyRun, lightRun] = await alternate(phases[0], phases[1], { rounds, seconds });
    reads.push({ name, heavy: heavyRun, light: lightRun, ratio: heavyRun.rps / lightRun.rps });
  }
  return reads;
}
