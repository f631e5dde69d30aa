#!/usr/bin/env node
// `npm run bench`: what does the gateway cost on the hottest read path (the member dashboard) and
// on a write (adjustPoints)? Starts a throw-away system, seeds one member and compares the same
// query through the gateway and sent straight to the members subgraph, measured in the same run so
// the ratios are not skewed by a different machine or a different day.
//
// It is a benchmark, not a test: missing a target prints MISS and still exits 0. Any failed request
// (non-2xx, connection error, timeout or a GraphQL `errors` entry) exits 1, because numbers measured
// on errors mean nothing.
//
// Uses DATABASE_URL when set (databases prefixed `bench_`), otherwise an embedded PostgreSQL in a
// temporary directory that is deleted afterwards. Service logs go to .data/bench-logs (latest run).
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { EVENTS, REPORT_QUERY, loadAnalytics, reportRange } from './analytics.mjs';
import { printAudit, runAudit } from './audit.mjs';
import { runExpiryBench } from './expiry.mjs';
import { printExperiments, runExperimentsBench } from './experiments.mjs';
import { runFanout } from './fanout.mjs';
import { printGatewayComparison, runGatewayComparison } from './gateways.mjs';
import { HEAVY_ENTRIES, runHistoryBench } from './history.mjs';
import { runReturns } from './returns.mjs';
import { LARGE_TENANT, runSearchBench } from './search.mjs';
import { printSegments, runSegmentsBench } from './segments.mjs';
import { printTargeting, runTargetingBench } from './targeting.mjs';
import { printReferrals, runReferralBench } from './referrals.mjs';
import { printTierReview, runTierReviewBench } from './tier-review.mjs';
import { printTransfers, runTransferBench } from './transfers.mjs';
import { kit, log, runBench } from './harness.mjs';
import { graphql, pool, printTable, runPhase, startCampaign } from './load.mjs';
import { ADJUST_MUTATION, CATALOG_QUERY, DASHBOARD_QUERY, ENROLL_MUTATION, REDEEM_MUTATION } from './queries.mjs';
import { printWrites, runWrites } from './writes.mjs';
import { printWebhooks, runWebhookBench } from './webhooks.mjs';

const TENANT = 'bench';
const WARMUP_SECONDS = 2;
const LOAD_SECONDS = 8; // concurrency 10: throughput
const COMPARE_SECONDS = 12; // gateway vs direct at concurrency 10, spread over ROUNDS alternations
const LATENCY_SECONDS = 5; // concurrency 1: latency without queueing
const ROUNDS = 4; // the throughput comparison alternates gateway and direct this many times
const FANOUT_SUBSCRIBERS = 10_000; // on one gateway process
const TARGET_THROUGHPUT_RATIO = 0.6; // gateway req/s ÷ direct req/s at c=10
const TARGET_P50_OVERHEAD_MS = 3; // gateway p50 − direct p50 at c=1
const TARGET_REDEEM_RATIO = 0.4; // redeemReward req/s ÷ adjustPoints req/s at c=10
const TARGET_ACTIVITY_RATIO = 0.5; // recordActivity req/s ÷ adjustPoints req/s at c=10
const TARGET_LIFECYCLE_RATIO = 0.8; // recordActivity with pendingDays, and recordReturn, ÷ plain recordActivity req/s at c=10
const TARGET_FANOUT_P99_MS = 250; // commit → client, a burst of 20 events fanned out to 10,000 staff-feed subscribers of one gateway
const TARGET_KB_PER_SUBSCRIPTION = 20; // gateway memory per idle subscription
const TARGET_REPORT_P99_MS = 50; // programStats + pointsTimeline(DAY, 90 days) at 1,000,000 events
const TARGET_INGEST_EVENTS_PER_SECOND = 30_000; // the analytics consumer draining a backlog of 1,000,000 events
const TARGET_HISTORY_RATIO = 0.9; // a member with 100,000 entries ÷ one with 30, per read
const TARGET_SEARCH_RATIO = 0.9; // members(filter) in a tenant of 1,000,000 members ÷ one of 1,000
const TARGET_EXPIRY_LOTS_PER_SECOND = 5000; // the maintenance booking 100,000 due lots of 10,000 members
const TARGET_EARN_DURING_EXPIRY = 0.8; // earning req/s while it runs ÷ without

const ACTIVITY_MUTATION = `mutation Record($input: ActivityInput!) {
  recordActivity(input: $input) { pointsEarned transaction { id } }
}`;

// Three rules, as a typical shop runs them: a visit bonus, points per 1.00 above a minimum order,
// and a happy hour on the visit bonus.
const BENCH_CAMPAIGN = {
  name: 'Bench campaign',
  rules: [
    { name: 'visit', trigger: 'PURCHASE', calculation: 'FIXED', points: 5, happyHours: [{ daysOfWeek: [1, 2, 3, 4, 5, 6, 7], startTime: '00:00', endTime: '24:00', multiplier: 2 }] },
    { name: 'per 1.00', trigger: 'PURCHASE', calculation: 'PER_AMOUNT', points: 1, amountStep: 100, minOrderAmount: 1000 },
    { name: 'newsletter', trigger: 'CUSTOM_EVENT', eventName: 'newsletter_signup', calculation: 'FIXED', points: 50 },
  ],
};

await runBench(async (system) => {
  const { gatewayUrl, urls, secrets } = system;

  const adminToken = await kit.signUserToken({ sub: 'bench-admin', tenant: TENANT, roles: ['admin'] }, secrets.JWT_SECRET);
  const gatewayHeaders = { authorization: `Bearer ${adminToken}` };
  // The subgraph's credential expires after 60 s, so every direct phase gets a fresh one.
  const benchIdentity = { tenant: TENANT, principal: 'bench', roles: ['admin'], scopes: [] };
  const directHeaders = async () => ({ [kit.IDENTITY_HEADER]: await kit.signIdentity(benchIdentity, secrets.SERVICE_SECRET) });

  // Seed: one member with a big balance (so a few thousand -1 debits never run out) and some
  // history, so the dashboard reads a realistic page of transactions rather than an empty one.
  log('seeding one member with 1,000,000 points and 30 transactions…');
  const runId = randomUUID();
  const adjust = (memberId, points, reason) =>
    graphql(gatewayUrl, gatewayHeaders, ADJUST_MUTATION, {
      input: { memberId, points, reason, idempotencyKey: `seed:${randomUUID()}` },
    });
  // Unique per run: with an external DATABASE_URL the tenant may already hold earlier runs' members.
  const { enrollMember } = await graphql(gatewayUrl, gatewayHeaders, ENROLL_MUTATION, {
    input: { email: `bench+${runId}@example.com`, name: 'Bench Member' },
  });
  const memberId = enrollMember.id;
  await adjust(memberId, 1_000_000, 'bench: opening balance');
  let expectedBalance = 1_000_000;
  for (let i = 0; i < 30; i++) {
    const points = i % 3 === 2 ? -7 : 25;
    await adjust(memberId, points, `bench: history ${i + 1}`);
    expectedBalance += points;
  }

  // Both paths must answer the very same thing, or the comparison compares different work.
  const dashboardBody = JSON.stringify({ query: DASHBOARD_QUERY, variables: { id: memberId } });
  const viaGateway = await graphql(gatewayUrl, gatewayHeaders, DASHBOARD_QUERY, { id: memberId });
  const viaMembers = await graphql(urls.members, await directHeaders(), DASHBOARD_QUERY, { id: memberId });
  if (JSON.stringify(viaGateway) !== JSON.stringify(viaMembers)) {
    const [a, b] = [viaGateway, viaMembers].map((data) => JSON.stringify(data));
    throw new Error(`gateway and members subgraph disagree:\n  gateway: ${a}\n  members: ${b}`);
  }
  if (viaGateway.member?.points.balance !== expectedBalance || viaGateway.member.transactions.edges.length !== 10) {
    throw new Error(`seeded member looks wrong: ${JSON.stringify(viaGateway)}`);
  }
  const dashboardOk = (body) => body.data?.member?.points?.balance > 0 && body.data.member.transactions.edges.length === 10;

  // Fan-out first, on a gateway no load has touched yet, so its memory per subscription is not
  // blurred by garbage from earlier phases. A second member feeds the subscribers.
  const { enrollMember: feedMember } = await graphql(gatewayUrl, gatewayHeaders, ENROLL_MUTATION, {
    input: { email: `bench+feed-${runId}@example.com`, name: 'Feed Member' },
  });
  const fanout = await runFanout({
    gatewayUrl,
    token: adminToken,
    log,
    sizes: [1000, FANOUT_SUBSCRIBERS],
    adjust: () => adjust(feedMember.id, 1, 'bench: fan-out'),
  });

  const dashboard = { body: dashboardBody, check: dashboardOk };
  const load = { connections: 10, seconds: LOAD_SECONDS, warmup: WARMUP_SECONDS };
  const latency = { connections: 1, seconds: LATENCY_SECONDS };
  const gateway = () => ({ name: 'dashboard via gateway', url: gatewayUrl, headers: gatewayHeaders });
  const direct = async () => ({ name: 'dashboard direct to members', url: urls.members, headers: await directHeaders() });

  // Alternate the two paths in short rounds, so a noisy neighbour on this shared machine slows
  // both alike instead of whichever happened to run at the time; then pool the rounds.
  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    rounds.push([
      await runPhase({ ...gateway(), ...load, seconds: COMPARE_SECONDS / ROUNDS, warmup: round === 0 ? WARMUP_SECONDS : 0, ...dashboard }),
      await runPhase({ ...(await direct()), ...load, seconds: COMPARE_SECONDS / ROUNDS, warmup: round === 0 ? WARMUP_SECONDS : 0, ...dashboard }),
    ]);
  }
  const gatewayLoad = pool(rounds.map((r) => r[0]));
  const directLoad = pool(rounds.map((r) => r[1]));
  const gatewayLatency = await runPhase({ ...gateway(), ...latency, ...dashboard });
  const directLatency = await runPhase({ ...(await direct()), ...latency, ...dashboard });
  // The catalog as a partner app reads it (API key, first 50 of 60 rewards).
  log('seeding 60 rewards, a partner API key and a campaign with three rules…');
  let cheapest;
  for (let i = 0; i < 60; i++) {
    const { createReward } = await graphql(gatewayUrl, gatewayHeaders, 'mutation($input: RewardInput!) { createReward(input: $input) { id } }', {
      input: { name: `Reward ${i + 1}`, type: 'PRODUCT', costPoints: i + 1 },
    });
    cheapest ??= createReward.id;
  }
  const { createApiKey } = await graphql(gatewayUrl, gatewayHeaders, 'mutation { createApiKey(input: { name: "bench", scopes: ["catalog:read"] }) { secret } }', {});
  await startCampaign(gatewayUrl, gatewayHeaders, BENCH_CAMPAIGN);
  const catalog = await runPhase({
    name: 'partner catalog (50) via gateway',
    url: gatewayUrl,
    headers: { 'x-api-key': createApiKey.secret },
    body: JSON.stringify({ query: CATALOG_QUERY }),
    check: (body) => body.data?.rewards?.edges?.length === 50,
    ...load,
  });

  // The three writes, alternated in rounds like the dashboard comparison, since their ratios are
  // the targets. A fresh idempotency key per request: a repeated key would be a replay, not a write.
  const mutation = (name, query, input, check) => ({
    ...gateway(),
    name,
    connections: 10,
    setupRequest: (request) => ({ ...request, body: JSON.stringify({ query, variables: { input: { ...input, idempotencyKey: `bench:${randomUUID()}` } } }) }),
    check,
  });
  const adjustPhase = mutation('adjustPoints via gateway', ADJUST_MUTATION, { memberId, points: -1, reason: 'bench: load' }, (body) =>
    Number.isInteger(body.data?.adjustPoints?.balanceAfter),
  );
  const redeemPhase = mutation('redeemReward via gateway', REDEEM_MUTATION, { memberId, rewardId: cheapest }, (body) =>
    body.data?.redeemReward?.status === 'COMPLETED' && typeof body.data.redeemReward.code === 'string',
  );
  // 5 × 2 (happy hour) + 25 per 1.00 = 35, credited on the ledger.
  const activityPhase = mutation('recordActivity via gateway', ACTIVITY_MUTATION, { memberId, type: 'PURCHASE', amount: 2500, currency: 'EUR' }, (body) =>
    body.data?.recordActivity?.pointsEarned === 35 && typeof body.data.recordActivity.transaction?.id === 'string',
  );
  const writeRounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    const timing = { seconds: COMPARE_SECONDS / ROUNDS, warmup: round === 0 ? WARMUP_SECONDS : 0 };
    writeRounds.push([await runPhase({ ...adjustPhase, ...timing }), await runPhase({ ...redeemPhase, ...timing }), await runPhase({ ...activityPhase, ...timing })]);
  }
  const writes = pool(writeRounds.map((r) => r[0]));
  const redemptions = pool(writeRounds.map((r) => r[1]));
  const activities = pool(writeRounds.map((r) => r[2]));
  const lifecycle = await runReturns({ kit, system, runId, runPhase, pool, graphql, log, rounds: ROUNDS, seconds: COMPARE_SECONDS / ROUNDS, warmup: WARMUP_SECONDS });
  const writesAtScale = await runWrites({ kit, system, runId, runPhase, pool, graphql, log, rounds: 2, seconds: 4, warmup: WARMUP_SECONDS });
  const audit = await runAudit({ kit, system, runId, runPhase, pool, graphql, log, rounds: ROUNDS, seconds: COMPARE_SECONDS / ROUNDS, warmup: WARMUP_SECONDS });

  // The ledger must agree with itself and with every answer: balance = sum of entries = sum of
  // open lots, and at least one entry per answered write (requests still in flight when a run
  // stopped, and redemptions a timeout left PENDING for recovery, may add more later). Read from
  // the members database itself: this checks the bench's own run, it is not an API client.
  const ledgerDb = new pg.Client({ connectionString: system.databases.members });
  await ledgerDb.connect();
  const [ledger] = (
    await ledgerDb.query(
      `SELECT a.balance,
              (SELECT sum(points)::int FROM ledger_entries WHERE member_id = a.member_id) AS entries,
              (SELECT sum(remaining)::int FROM point_lots WHERE member_id = a.member_id) AS lots,
              (SELECT count(*)::int FROM ledger_entries WHERE member_id = a.member_id AND type = 'ADJUST' AND reason = 'bench: load') AS debited,
              (SELECT count(*)::int FROM ledger_entries WHERE member_id = a.member_id AND type = 'REDEEM') AS redeemed,
              (SELECT count(*)::int FROM ledger_entries WHERE member_id = a.member_id AND type = 'EARN') AS credited
       FROM point_accounts a WHERE a.member_id = $1`,
      [memberId],
    )
  ).rows;
  await ledgerDb.end();
  const { debited, redeemed, credited } = ledger;
  if (ledger.balance !== ledger.entries || ledger.balance !== ledger.lots || debited < writes.okResponses || redeemed < redemptions.okResponses || credited < activities.okResponses) {
    throw new Error(`ledger mismatch: ${JSON.stringify(ledger)} after ${writes.okResponses}/${redemptions.okResponses}/${activities.okResponses} answered writes`);
  }
  const member = { points: { balance: ledger.balance } };

  const analyticsTenant = `bench-analytics-${runId.slice(0, 8)}`;
  const ingest = await loadAnalytics({ system, tenant: analyticsTenant, log });
  const analyticsToken = await kit.signUserToken({ sub: 'bench-marketer', tenant: analyticsTenant, roles: ['marketer'] }, secrets.JWT_SECRET);
  const reportPhase = (settings) =>
    runPhase({
      name: `programStats + timeline (${EVENTS / 1e6}M ev)`,
      url: gatewayUrl,
      headers: { authorization: `Bearer ${analyticsToken}` },
      body: JSON.stringify({ query: REPORT_QUERY, variables: { range: reportRange() } }),
      check: (body) => body.data?.programStats?.pointsOutstanding === ingest.outstanding && body.data.pointsTimeline.length === 90,
      ...settings,
    });
  // Latency is judged without queueing (concurrency 1); concurrency 10 shows the throughput.
  const reportsLoad = await reportPhase({ ...load });
  const reports = await reportPhase({ ...latency, warmup: 1 });
  const tierReview = await runTierReviewBench({ kit, system, log });

  const history = await runHistoryBench({ kit, system, log, rounds: ROUNDS, seconds: COMPARE_SECONDS / 2 });
  const search = await runSearchBench({ kit, system, log, rounds: ROUNDS, seconds: COMPARE_SECONDS / 2 });
  const experiments = await runExperimentsBench({ system, log });
  const segments = await runSegmentsBench({ system, log });
  const transfers = await runTransferBench({ kit, system, log, rounds: ROUNDS, seconds: COMPARE_SECONDS / 2 });
  const targeting = await runTargetingBench({ system, rounds: ROUNDS, seconds: COMPARE_SECONDS / 2 });
  const referrals = await runReferralBench({ system, rounds: ROUNDS, seconds: COMPARE_SECONDS / 2 });
  const expiry = await runExpiryBench({ kit, system, log });
  const webhooks = await runWebhookBench({ system });
  const peers = await runGatewayComparison({ system, tenant: TENANT });

  printTable([gatewayLoad, directLoad, gatewayLatency, directLatency, writes, catalog, redemptions, activities, ...history.flatMap((read) => [read.heavy, read.light]), ...search.flatMap((read) => [read.large, read.small]), ...transfers.results.flatMap((r) => [r.transfers, r.debits]), ...lifecycle.phases, ...writesAtScale.phases, reportsLoad, reports]);
  console.log('\nsubscribers  delivered/expected  errors  p50 ms  p99 ms  gateway KB/subscription');
  for (const row of fanout) {
    console.log(
      `${String(row.size).padStart(11)}  ${`${row.delivered}/${row.expected}`.padStart(18)}  ${String(row.errors).padStart(6)}  ` +
        `${row.p50.toFixed(0).padStart(6)}  ${row.p99.toFixed(0).padStart(6)}  ${row.kbPerSubscription.toFixed(1).padStart(23)}`,
    );
  }
  const ratio = gatewayLoad.rps / directLoad.rps;
  const overhead = gatewayLatency.p50 - directLatency.p50;
  const verdict = (pass) => (pass ? 'PASS' : 'MISS');
  const ratioTarget = `target ≥ ${TARGET_THROUGHPUT_RATIO.toFixed(2)}`;
  const overheadTarget = `target < ${TARGET_P50_OVERHEAD_MS} ms`;
  const ratioVerdict = verdict(ratio >= TARGET_THROUGHPUT_RATIO);
  const overheadVerdict = verdict(overhead < TARGET_P50_OVERHEAD_MS);
  console.log(`\ngateway/direct throughput (c=10):  ${ratio.toFixed(2)}     ${ratioTarget}   ${ratioVerdict}`);
  console.log(`gateway p50 − direct p50 (c=1):    ${overhead.toFixed(2)} ms  ${overheadTarget}   ${overheadVerdict}`);
  const activityRatio = activities.rps / writes.rps;
  console.log(`recordActivity/adjustPoints (c=10): ${activityRatio.toFixed(2)}     target ≥ ${TARGET_ACTIVITY_RATIO.toFixed(2)}   ${verdict(activityRatio >= TARGET_ACTIVITY_RATIO)}`);
  for (const [what, ratio] of [['pending/plain activity', lifecycle.pendingRatio], ['recordReturn/activity', lifecycle.returnRatio]]) {
    console.log(`${`${what} (c=10):`.padEnd(35)} ${ratio.toFixed(2)}     target ≥ ${TARGET_LIFECYCLE_RATIO.toFixed(2)}   ${verdict(ratio >= TARGET_LIFECYCLE_RATIO)}`);
  }
  const largest = fanout.at(-1);
  console.log(`fan-out p99 to ${largest.size.toLocaleString('en')} subscribers: ${largest.p99.toFixed(0)} ms    target < ${TARGET_FANOUT_P99_MS} ms  ${verdict(largest.p99 < TARGET_FANOUT_P99_MS)}`);
  console.log(`subscriptions held:               ${largest.size}       all delivered: ${largest.delivered === largest.expected ? 'yes' : 'NO'}`);
  console.log(`gateway memory per subscription:  ${largest.kbPerSubscription.toFixed(1)} KB   target < ${TARGET_KB_PER_SUBSCRIPTION} KB   ${verdict(largest.kbPerSubscription < TARGET_KB_PER_SUBSCRIPTION)}`);
  console.log(`reports p99 at ${EVENTS / 1e6}M events (c=1):   ${reports.p99.toFixed(1)} ms  target < ${TARGET_REPORT_P99_MS} ms   ${verdict(reports.p99 < TARGET_REPORT_P99_MS)}`);
  console.log(`analytics ingest:                 ${ingest.eventsPerSecond.toFixed(0)} events/s (${ingest.events} in ${ingest.seconds.toFixed(1)} s)  target ≥ ${TARGET_INGEST_EVENTS_PER_SECOND}   ${verdict(ingest.eventsPerSecond >= TARGET_INGEST_EVENTS_PER_SECOND)}`);
  const redeemRatio = redemptions.rps / writes.rps;
  console.log(`redeemReward/adjustPoints (c=10):  ${redeemRatio.toFixed(2)}     target ≥ ${TARGET_REDEEM_RATIO.toFixed(2)}   ${verdict(redeemRatio >= TARGET_REDEEM_RATIO)}`);
  console.log(`expiry job (${expiry.lots} lots, 10k members): ${expiry.lotsPerSecond.toFixed(0)} lots/s (${expiry.seconds.toFixed(1)} s)  target ≥ ${TARGET_EXPIRY_LOTS_PER_SECOND}   ${verdict(expiry.lotsPerSecond >= TARGET_EXPIRY_LOTS_PER_SECOND)}`);
  console.log(`earning during expiry/without:    ${expiry.earnRatio.toFixed(2)} (${expiry.during.rps.toFixed(0)} vs ${expiry.baseline.rps.toFixed(0)} req/s)  target ≥ ${TARGET_EARN_DURING_EXPIRY.toFixed(2)}   ${verdict(expiry.earnRatio >= TARGET_EARN_DURING_EXPIRY)}`);
  for (const read of history) {
    console.log(`${read.name}, ${HEAVY_ENTRIES / 1000}k ÷ 30 entries: ${read.ratio.toFixed(2)} (${read.heavy.rps.toFixed(0)} vs ${read.light.rps.toFixed(0)} req/s)  target ≥ ${TARGET_HISTORY_RATIO.toFixed(2)}   ${verdict(read.ratio >= TARGET_HISTORY_RATIO)}`);
  }
  for (const read of search) {
    console.log(`${read.name}, ${LARGE_TENANT / 1e6}M ÷ 1k members: ${read.ratio.toFixed(2)} (${read.large.rps.toFixed(0)} vs ${read.small.rps.toFixed(0)} req/s)  target ≥ ${TARGET_SEARCH_RATIO.toFixed(2)}   ${verdict(read.ratio >= TARGET_SEARCH_RATIO)}`);
  }
  printExperiments(experiments, verdict);
  printTargeting(targeting, verdict);
  printReferrals(referrals, verdict);
  printTierReview(tierReview, verdict);
  printSegments(segments, verdict);
  printTransfers(transfers, verdict);
  printWrites(writesAtScale, verdict);
  printAudit(audit, verdict);
  printWebhooks(webhooks, verdict);
  console.log(`ledger consistent (balance = entries = lots = ${member.points.balance}): ${debited} debits, ${redeemed} redemptions, ${credited} earn credits`);
  printGatewayComparison(peers);
});
