// The expiry job at scale: 100,000 lots across 10,000 members come due at once; how fast does the
// maintenance book them, and how much earning does it cost while it books them? Earning throughput
// (adjustPoints credits through the gateway on the same members, concurrency 10) is measured
// without the job before and after it, and while it books the lots, so the ratio is taken in the
// same run.
//
// The lots are seeded with SQL in one statement per table (through the API it would take minutes):
// each member gets ten 10-point credits with an explicit expiry, exactly as adjustPoints(expiresAt:)
// books them (entry + lot, balance = entries = lots), so the job sees what production would.
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';

export const EXPIRY_MEMBERS = 10_000;
export const LOTS_PER_MEMBER = 10;
const LOT_POINTS = 10;
const BASELINE_SECONDS = 8;

const EARN_MUTATION = `mutation Earn($input: AdjustPointsInput!) { adjustPoints(input: $input) { id balanceAfter } }`;

/**
 * Earning load on random members of `memberIds` until `until` settles (or for `seconds`); every
 * response must be a 2xx without GraphQL errors. Returns requests per second over the time it ran.
 */
function earnLoad({ gatewayUrl, headers, memberIds, seconds, until }) {
  let failures = 0;
  let example;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const instance = autocannon(
      {
        url: `${gatewayUrl}/graphql`,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        connections: 10,
        pipelining: 1,
        timeout: 30,
        duration: seconds,
        requests: [
          {
            setupRequest: (request) => ({
              ...request,
              body: JSON.stringify({
                query: EARN_MUTATION,
                variables: { input: { memberId: memberIds[Math.floor(Math.random() * memberIds.length)], points: 5, reason: 'bench: earn', idempotencyKey: `bench:${randomUUID()}` } },
              }),
            }),
            onResponse: (status, body) => {
              if (status !== 200 || body.includes('"errors"')) {
                failures++;
                example ??= `HTTP ${status}: ${body.slice(0, 300)}`;
              }
            },
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error);
        const elapsed = (performance.now() - started) / 1000;
        if (failures > 0 || result.errors > 0 || result.non2xx > 0) {
          return reject(new Error(`earning load failed: ${failures} bad responses, ${result.errors} connection errors; e.g. ${example}`));
        }
        resolve({ requests: result.requests.total, seconds: elapsed, rps: result.requests.total / elapsed });
      },
    );
    until?.then(() => instance.stop(), () => instance.stop());
  });
}

export async function runExpiryBench({ kit, system, log }) {
  const tenant = `bench-expiry-${randomUUID().slice(0, 8)}`;
  const { gatewayUrl, urls, secrets } = system;
  const token = await kit.signUserToken({ sub: 'bench-admin', tenant, roles: ['admin'] }, secrets.JWT_SECRET);
  const db = new pg.Client({ connectionString: system.databases.members });
  await db.connect();
  try {
    log(`expiry: seeding ${EXPIRY_MEMBERS} members with ${LOTS_PER_MEMBER} lots each…`);
    // The lots come due a while after the baseline earning load is over.
    const seeded = performance.now();
    const { rows: members } = await db.query(
      `WITH m AS (
         INSERT INTO members (tenant, email, name) SELECT $1, 'expiry-' || g || '@bench.example', 'Bench ' || g FROM generate_series(1, $2::int) g RETURNING id)
       INSERT INTO point_accounts (member_id, tenant, balance, lifetime_earned) SELECT id, $1, $3::int, $3::int FROM m RETURNING member_id`,
      [tenant, EXPIRY_MEMBERS, LOTS_PER_MEMBER * LOT_POINTS],
    );
    const dueAt = new Date(Date.now() + (BASELINE_SECONDS + 20) * 1000);
    await db.query(
      `WITH e AS (
         INSERT INTO ledger_entries (tenant, member_id, type, points, balance_after, reason, source, idempotency_key, expires_at)
         SELECT $1, a.member_id, 'ADJUST', $3::int, $3::int * g, 'bench: expiring', 'bench', 'bench:expiring:' || a.member_id || ':' || g, $2::timestamptz
         FROM point_accounts a, generate_series(1, $4::int) g WHERE a.tenant = $1
         ORDER BY a.member_id, g
         RETURNING id, member_id)
       INSERT INTO point_lots (tenant, member_id, entry_id, points, remaining, expires_at) SELECT $1, member_id, id, $3::int, $3::int, $2::timestamptz FROM e`,
      [tenant, dueAt, LOT_POINTS, LOTS_PER_MEMBER],
    );
    const memberIds = members.map((m) => m.member_id);
    log(`expiry: seeded in ${((performance.now() - seeded) / 1000).toFixed(1)} s; baseline earning for ${BASELINE_SECONDS} s…`);
    const headers = { authorization: `Bearer ${token}` };
    await earnLoad({ gatewayUrl, headers, memberIds, seconds: 2 }); // warm-up
    const before = await earnLoad({ gatewayUrl, headers, memberIds, seconds: BASELINE_SECONDS });
    if (Date.now() >= dueAt.getTime()) throw new Error('expiry bench: the baseline ran past the lots’ expiry; raise the margin');
    await new Promise((r) => setTimeout(r, dueAt.getTime() - Date.now() + 100));

    log('expiry: the lots are due; maintenance and earning at once…');
    const identity = { tenant, principal: 'bench', roles: ['admin'], scopes: [] };
    const started = performance.now();
    const maintenance = fetch(`${urls.members}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [kit.IDENTITY_HEADER]: await kit.signIdentity(identity, secrets.SERVICE_SECRET) },
      body: JSON.stringify({ query: 'mutation { runPointsMaintenance { pointsExpired } }' }),
    }).then(async (response) => {
      const body = await response.json();
      if (body.errors) throw new Error(`runPointsMaintenance failed: ${JSON.stringify(body.errors)}`);
      return { seconds: (performance.now() - started) / 1000, expired: body.data.runPointsMaintenance.pointsExpired };
    });
    // The run also reviews the tenant's tiers: the expiry's own time ends when its last lot is booked.
    const booked = (async () => {
      const probe = new pg.Client({ connectionString: system.databases.members });
      await probe.connect();
      try {
        for (;;) {
          const { rows: [{ open }] } = await probe.query('SELECT count(*)::int AS open FROM point_lots WHERE tenant = $1 AND expires_at = $2 AND remaining > 0', [tenant, dueAt]);
          if (open === 0) return (performance.now() - started) / 1000;
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        await probe.end();
      }
    })();
    const [during, run, bookedSeconds] = await Promise.all([earnLoad({ gatewayUrl, headers, memberIds, seconds: 300, until: booked }), maintenance, booked]);
    // Earning again without the job, as long as it ran: the baseline is the mean of before and
    // after, so a neighbour that slowed the machine for a while weighs on both sides alike.
    const after = await earnLoad({ gatewayUrl, headers, memberIds, seconds: Math.max(2, Math.min(BASELINE_SECONDS, Math.round(during.seconds))) });
    const baselineRps = (before.rps + after.rps) / 2;

    // Every seeded lot booked once (by the job, or by an earn that met it first), and the ledger whole.
    const { rows: [check] } = await db.query(
      `SELECT (SELECT count(*)::int FROM point_lots WHERE tenant = $1 AND expires_at = $2 AND remaining > 0) AS open,
              (SELECT COALESCE(-sum(points), 0)::int FROM ledger_entries WHERE tenant = $1 AND type = 'EXPIRE') AS expired,
              (SELECT count(*)::int FROM point_accounts a WHERE a.tenant = $1 AND a.balance + a.pending <>
                 (SELECT sum(points) FROM ledger_entries e WHERE e.member_id = a.member_id)) AS broken`,
      [tenant, dueAt],
    );
    const lots = EXPIRY_MEMBERS * LOTS_PER_MEMBER;
    if (check.open !== 0 || check.expired !== lots * LOT_POINTS || check.broken !== 0) {
      throw new Error(`expiry bench: ledger after the run ${JSON.stringify(check)}, expected 0 open lots and ${lots * LOT_POINTS} points expired`);
    }
    return { lots, seconds: bookedSeconds, lotsPerSecond: lots / bookedSeconds, byJob: run.expired / LOT_POINTS, baseline: { rps: baselineRps, before, after }, during, earnRatio: during.rps / baselineRps };
  } finally {
    await db.end();
  }
}
