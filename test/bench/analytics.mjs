// Reports at scale: 1,000,000 ledger events on the bus for one tenant, spread over 90 days and 1,000
// members; how fast the analytics consumer ingests them, then programStats + pointsTimeline(DAY, 90
// days) latency through the gateway.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { kit } from './harness.mjs';

export const EVENTS = 1_000_000;
const MEMBERS = 1000;
const DAYS = 90;
const DAY_MS = 86_400_000;

export const REPORT_QUERY = `query Reports($range: DateRangeInput!) {
  programStats { members activeMembers pointsIssued pointsRedeemed pointsOutstanding redemptions }
  pointsTimeline(range: $range, interval: DAY) { start pointsIssued pointsRedeemed redemptions }
}`;

async function analyticsPosition(system) {
  const headers = { [kit.IDENTITY_HEADER]: await kit.signIdentity(kit.serviceIdentity('bench', '*'), system.secrets.SERVICE_SECRET) };
  const response = await fetch(`${system.urls.analytics}/internal/analytics/position`, { headers });
  return BigInt((await response.json()).position);
}

async function busHead(system) {
  const bus = await kit.PostgresEventBus.connect(system.databases.events);
  try {
    return await bus.head();
  } finally {
    await bus.close();
  }
}

/**
 * Publishes the events with the analytics service stopped — written into the bus table in SQL, as
 * members' outbox relay would write them, because a million round trips from here would time the
 * bench, not the platform — then starts the service and times its consumer until it has caught up:
 * ingest is the consumer's own rate on a backlog (as after an outage, or a Black Friday burst).
 *
 * Member m's k-th event (k = 0, 1, …) debits 50 points when k % 4 = 3 and credits 25 otherwise,
 * so its balance after k is 25·(k+1) − 75·⌊(k+1)/4⌋, never negative.
 */
export async function loadAnalytics({ system, tenant, log, events = EVENTS }) {
  const members = Array.from({ length: MEMBERS }, () => randomUUID());
  const restart = await system.kill('analytics', 'SIGTERM');
  const db = new pg.Client({ connectionString: system.databases.events });
  await db.connect();
  let publishSeconds;
  try {
    log(`analytics: publishing ${events} ledger events…`);
    const started = performance.now();
    const chunk = 100_000;
    for (let from = 0; from < events; from += chunk) {
      await db.query(
        `INSERT INTO bus_events (source, source_id, type, tenant, key, payload, occurred_at)
         SELECT 'bench', $1 || ':' || i, 'POINTS_BALANCE_CHANGED', $1, member, jsonb_build_object(
                  'memberId', member, 'delta', delta, 'balance', 25 * (k + 1) - 75 * ((k + 1) / 4),
                  'transaction', jsonb_build_object('id', gen_random_uuid(), 'type', CASE WHEN delta > 0 THEN 'EARN' ELSE 'REDEEM' END)),
                now() - ($3 - i) * ($4 * interval '1 day') / $3
         FROM generate_series($5::int, $6::int) AS i,
              LATERAL (SELECT ($2::text[])[i % cardinality($2::text[]) + 1] AS member, i / cardinality($2::text[]) AS k) AS m,
              LATERAL (SELECT CASE WHEN k % 4 = 3 THEN -50 ELSE 25 END AS delta) AS d
         ORDER BY i`,
        [tenant, members, events, DAYS, from, Math.min(from + chunk, events) - 1],
      );
    }
    publishSeconds = (performance.now() - started) / 1000;
  } finally {
    await db.end();
  }
  log(`analytics: published in ${publishSeconds.toFixed(1)} s; starting the consumer…`);
  const head = BigInt(await busHead(system));
  const started = performance.now();
  await restart();
  while ((await analyticsPosition(system)) < head) await new Promise((r) => setTimeout(r, 50));
  const seconds = (performance.now() - started) / 1000;
  return { events, seconds, eventsPerSecond: events / seconds, publishSeconds, outstanding: outstandingAfter(events) };
}

/** The points outstanding after `events` of the pattern above, summed over members. */
function outstandingAfter(events) {
  let total = 0;
  for (let m = 0; m < Math.min(MEMBERS, events); m++) {
    const count = Math.floor((events - 1 - m) / MEMBERS) + 1; // events of member m
    total += 25 * count - 75 * Math.floor(count / 4);
  }
  return total;
}

export const reportRange = () => ({ from: new Date(Date.now() - (DAYS - 1) * DAY_MS).toISOString(), to: new Date().toISOString() });
