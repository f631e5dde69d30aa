// Segments at scale: a tenant of 100,000 members (seeded with SQL) and five segments. How long the
// membership of a segment takes to be recomputed after its conditions change (upsertSegment to
// segment_members current, with its SEGMENT_ENTERED/LEFT events written), and how long one member's
// change takes to update its segments (updateMember through the gateway: the refresh is in its
// transaction), against the same updateMember in a tenant without segments, in the same run.
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { kit, log, runBench } from './harness.mjs';

const MEMBERS = 100_000;
const CHANGES = 200; // updateMember calls per tenant for the single-member figures
export const TARGET_RECOMPUTE_SECONDS = 30;
export const TARGET_SINGLE_MS = 1000;
const COUNTRIES = ['DE', 'FR', 'PL', 'ES', 'IT', 'NL', 'SE', 'AT', 'BE', 'CZ'];

const UPSERT = 'mutation($input: SegmentInput!) { upsertSegment(input: $input) { id } }';
const UPDATE = 'mutation($id: ID!, $input: UpdateMemberInput!) { updateMember(id: $id, input: $input) { id } }';

async function tenantOf(system, size, db) {
  const tenant = `bench-segments-${randomUUID().slice(0, 8)}`;
  const token = await kit.signUserToken({ sub: 'bench-admin', tenant, roles: ['admin'] }, system.secrets.JWT_SECRET);
  const ask = async (query, variables) => {
    const response = await fetch(`${system.gatewayUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
    const body = await response.json();
    if (body.errors) throw new Error(`segments bench: ${JSON.stringify(body.errors)}`);
    return body.data;
  };
  // Enrolled over 400 days, a tenth of them VIPs, lifetime points 0 to 9,990, a third active lately.
  const rows = await db.query(
    `WITH m AS (
       INSERT INTO members (tenant, email, country, attributes, enrolled_at)
       SELECT $1, 'm' || g || '@segments.example', ($3::text[])[1 + g % 10], jsonb_build_object('vip', g % 10 = 0), now() - make_interval(mins => g % 576000)
       FROM generate_series(1, $2::int) g RETURNING id, enrolled_at)
     INSERT INTO point_accounts (member_id, tenant, lifetime_earned, last_active_at)
     SELECT id, $1, (abs(hashtext(id::text)) % 1000) * 10, CASE WHEN abs(hashtext(id::text)) % 3 = 0 THEN now() - interval '3 days' END FROM m
     RETURNING member_id`,
    [tenant, size, COUNTRIES],
  );
  return { tenant, ask, ids: rows.rows.map((r) => r.member_id) };
}

const computed = async (db, id) => (await db.query('SELECT computed_version = version AS done FROM segments WHERE id = $1', [id])).rows[0].done;

async function untilComputed(db, id) {
  const started = performance.now();
  while (!(await computed(db, id))) await new Promise((resolve) => setTimeout(resolve, 50));
  return (performance.now() - started) / 1000;
}

async function timeChanges(t) {
  const timings = [];
  for (let i = 0; i < CHANGES; i++) {
    const id = t.ids[(i * 37) % t.ids.length];
    const started = performance.now();
    await t.ask(UPDATE, { id, input: { country: COUNTRIES[(i + 1) % 10], attributes: { vip: i % 2 === 0 } } });
    timings.push(performance.now() - started);
  }
  timings.sort((a, b) => a - b);
  return { p50: timings[Math.floor(CHANGES / 2)], p99: timings[Math.floor(CHANGES * 0.99)], max: timings.at(-1) };
}

export async function runSegmentsBench({ system, log }) {
  const db = new pg.Client({ connectionString: system.databases.members });
  await db.connect();
  try {
    log(`segments: seeding a tenant with ${MEMBERS} members…`);
    const large = await tenantOf(system, MEMBERS, db);
    const plain = await tenantOf(system, 1000, db);
    await db.query('ANALYZE members, point_accounts');
    const segments = [];
    for (const [name, conditions] of [
      ['Germans', { countries: ['DE'] }],
      ['VIPs', { attributeEquals: { vip: true } }],
      ['Big earners', { minLifetimeEarned: 5000 }],
      ['Recently active', { activeWithinDays: 7 }],
      ['Dormant', { inactiveForDays: 30 }],
    ]) {
      const { upsertSegment } = await large.ask(UPSERT, { input: { name, conditions } });
      await untilComputed(db, upsertSegment.id);
      segments.push(upsertSegment.id);
    }
    // The condition change: Germans become everyone in three countries with at least 1,000 points.
    const before = (await db.query('SELECT count(*)::int AS n FROM segment_members WHERE segment_id = $1', [segments[0]])).rows[0].n;
    const started = performance.now();
    await large.ask(UPSERT, { input: { id: segments[0], name: 'Germans', conditions: { countries: ['FR', 'PL', 'ES'], minLifetimeEarned: 1000 } } });
    await untilComputed(db, segments[0]);
    const recomputeSeconds = (performance.now() - started) / 1000;
    const after = (await db.query('SELECT count(*)::int AS n FROM segment_members WHERE segment_id = $1', [segments[0]])).rows[0].n;
    log(`segments: recomputed in ${recomputeSeconds.toFixed(1)} s (${before} → ${after} members)`);
    const withSegments = await timeChanges(large);
    const withoutSegments = await timeChanges(plain);
    return { members: MEMBERS, recomputeSeconds, before, after, withSegments, withoutSegments };
  } finally {
    await db.end();
  }
}

export function printSegments(result, verdict) {
  console.log(
    `segment recomputed after a condition change, ${result.members.toLocaleString('en')} members: ${result.recomputeSeconds.toFixed(1)} s (${result.before} → ${result.after} members)  target < ${TARGET_RECOMPUTE_SECONDS} s   ${verdict(result.recomputeSeconds < TARGET_RECOMPUTE_SECONDS)}`,
  );
  const { withSegments: w, withoutSegments: o } = result;
  console.log(
    `one member's change with its 5 segments refreshed: p50 ${w.p50.toFixed(1)} ms, p99 ${w.p99.toFixed(1)} ms, max ${w.max.toFixed(1)} ms (without segments: p50 ${o.p50.toFixed(1)} ms, p99 ${o.p99.toFixed(1)} ms; ratio p50 ${(w.p50 / o.p50).toFixed(2)})  target < ${TARGET_SINGLE_MS} ms   ${verdict(w.max < TARGET_SINGLE_MS)}`,
  );
}

// Run alone: `npm run bench:segments` (run.mjs runs it among the rest, with the same targets).
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runBench(async (system) => {
    const result = await runSegmentsBench({ system, log });
    console.log('');
    printSegments(result, (pass) => (pass ? 'PASS' : 'MISS'));
  });
}
