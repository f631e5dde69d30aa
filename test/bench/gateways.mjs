#!/usr/bin/env node
// Our gateway side by side with its peers, on the same running subgraphs and the same committed
// supergraph (schema/supergraph.graphql): stock @apollo/gateway + @apollo/server (what ours is built
// on, with its defaults) and Hive Gateway (@graphql-hive/gateway's runtime), each its own process
// started here (test/bench/peers/). A phase of `npm run bench`, and `npm run bench:gateways` alone.
//
// Per query: req/s at concurrency 10, p50/p99 at concurrency 1, and the CPU time each gateway (and
// the subgraphs behind it) spent per request, measured in alternating rounds so a noisy neighbour
// slows every gateway alike. Every response is checked for errors and, sampled, for the very data
// ours answers; each peer's first full answer is compared with ours before anything is measured.
//
// Every gateway reads as the same principal: ours verifies the bench tenant's admin token and signs
// that identity for the subgraphs; a peer verifies nothing and sends the subgraphs that one identity,
// signed with SERVICE_SECRET (test/bench/peers/common.mjs). So the catalog is read with the admin
// token here, not the partner API key of run.mjs's catalog phase, and the answers are the same.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SUBGRAPHS, freePort } from '../../scripts/system.mjs';
import { kit, log, root, runBench, startProcess, stopProcess } from './harness.mjs';
import { graphql, pool, runPhase } from './load.mjs';
import { ADJUST_MUTATION, CATALOG_QUERY, DASHBOARD_QUERY, ENROLL_MUTATION, REDEEM_MUTATION } from './queries.mjs';

const WARMUP_SECONDS = 2; // per gateway and query, c=10, before the rounds; discarded
const LOAD_SECONDS = 8; // c=10 per gateway and query, spread over ROUNDS
const LATENCY_SECONDS = 8; // c=1 per gateway and query, spread over ROUNDS (1 s windows saw a busy machine stall a peer for all of one)
const ROUNDS = 4;
const TARGET_CPU_RATIO = 0.5; // ours ÷ stock Apollo, gateway CPU ms per request (dashboard, member + redemptions)
const TARGET_DASHBOARD_DIRECT = 0.8; // ours ÷ direct req/s, dashboard at c=10
const TARGET_REDEMPTIONS_APOLLO = 1.5; // ours ÷ stock Apollo req/s, member + redemptions at c=10
const PRINCIPALS = 40; // the "distinct principals" phase: admins of the tenant in rotation, one per request

/** Two subgraph fetches: the member from members, then its redemptions from rewards. */
const MEMBER_REDEMPTIONS_QUERY = `query MemberRedemptions($id: ID!) {
  member(id: $id) {
    points { balance }
    redemptions(first: 10) { edges { node { id status } } }
  }
}`;

// The installed version (not every package exports its package.json).
const version = (name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;

// Gateway CPU is read from /proc/<pid>/stat (utime + stime of all the process's threads) rather
// than reported by each process over an endpoint: it works the same for our gateway (started by
// scripts/system.mjs) and for the peers, adds nothing to the code being measured, and reading it
// costs the measured process nothing. A tick is 10 ms at the usual CLK_TCK of 100, fine over the
// thousands of requests of a phase. Linux only, like the embedded PostgreSQL of the bench.
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After "pid (comm) ": field 3 (state) onwards; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1000;
}
const sumCpuMs = (pids) => pids.reduce((sum, pid) => sum + cpuMs(pid), 0);

/** JSON with object keys sorted: the same data is the same string whatever order a gateway writes. */
const canonical = (value) =>
  JSON.stringify(value, (_key, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A peer gateway as its own process on a free port, once it answers a query. */
async function startPeer({ name, script, env = {}, system, identity }) {
  const port = await freePort();
  const child = startProcess(name, join(root, 'test', 'bench', 'peers', script), {
    PORT: String(port),
    SUPERGRAPH_PATH: join(root, 'schema', 'supergraph.graphql'),
    SUBGRAPH_URLS: JSON.stringify(system.urls),
    SERVICE_SECRET: system.secrets.SERVICE_SECRET,
    BENCH_IDENTITY: JSON.stringify(identity),
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited with ${child.signalCode ?? `code ${child.exitCode}`} during start-up (log: .data/bench-logs/${name}.log)`);
    const ready = await graphql(url, {}, '{ __typename }').then(
      (data) => data.__typename === 'Query',
      () => false,
    );
    if (ready) return { child, url };
    if (Date.now() > deadline) throw new Error(`${name} did not answer at ${url} within 60 s`);
    await sleep(200);
  }
}

/** A member with history and redemptions, and at least 50 rewards in the tenant; the member's id. */
async function seed(gatewayUrl, headers) {
  const ask = (query, variables) => graphql(gatewayUrl, headers, query, variables);
  log('seeding a member with 30 transactions and 12 redemptions…');
  const { enrollMember } = await ask(ENROLL_MUTATION, { input: { email: `bench+peers-${randomUUID()}@example.com`, name: 'Peers Member' } });
  const memberId = enrollMember.id;
  const adjust = (points, reason) => ask(ADJUST_MUTATION, { input: { memberId, points, reason, idempotencyKey: `seed:${randomUUID()}` } });
  await adjust(100_000, 'bench: opening balance');
  for (let i = 0; i < 30; i++) await adjust(i % 3 === 2 ? -7 : 25, `bench: history ${i + 1}`);
  const create = (name, costPoints) =>
    ask('mutation($input: RewardInput!) { createReward(input: $input) { id } }', { input: { name, type: 'PRODUCT', costPoints } });
  const { rewards } = await ask(CATALOG_QUERY);
  for (let i = rewards.totalCount; i < 60; i++) await create(`Reward ${i + 1}`, i + 1);
  const { createReward } = await create('Peers reward', 10);
  for (let i = 0; i < 12; i++) await ask(REDEEM_MUTATION, { input: { memberId, rewardId: createReward.id, idempotencyKey: `seed:${randomUUID()}` } });
  return memberId;
}

/**
 * One query through every target: first one full answer each, compared with ours; then a warm-up
 * and ROUNDS rounds (the order rotating each round), each a c=10 run with the CPU read around it
 * and a c=1 run. Every sampled response must carry ours's data.
 */
async function measure({ title, query, variables }, targets, subgraphPids) {
  const body = JSON.stringify({ query, variables });
  const answers = [];
  for (const target of targets) answers.push(canonical(await graphql(target.url, await target.headers(), query, variables)));
  const [reference] = answers;
  targets.forEach((target, i) => {
    if (answers[i] !== reference) throw new Error(`${title}: ${target.label} answers differently from ours:\n  ours: ${reference}\n  ${target.label}: ${answers[i]}`);
  });
  const check = (response) => canonical(response.data) === reference;
  const phase = async (target, settings) =>
    runPhase({ name: `${title} via ${target.label}`, url: target.url, headers: await target.headers(), setupRequest: target.setupRequest, body, check, ...settings });

  for (const target of targets) await phase(target, { connections: 10, seconds: WARMUP_SECONDS });
  const runs = targets.map(() => ({ load: [], latency: [], cpuMs: 0, subgraphCpuMs: 0 }));
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < targets.length; k++) {
      const i = (k + round) % targets.length;
      const target = targets[i];
      const before = { gateway: target.pid ? cpuMs(target.pid) : 0, subgraphs: sumCpuMs(subgraphPids) };
      runs[i].load.push(await phase(target, { connections: 10, seconds: LOAD_SECONDS / ROUNDS }));
      if (target.pid) runs[i].cpuMs += cpuMs(target.pid) - before.gateway;
      runs[i].subgraphCpuMs += sumCpuMs(subgraphPids) - before.subgraphs;
      runs[i].latency.push(await phase(target, { connections: 1, seconds: LATENCY_SECONDS / ROUNDS }));
    }
  }
  return {
    title,
    rows: targets.map((target, i) => {
      const load = pool(runs[i].load);
      const latency = pool(runs[i].latency);
      return {
        key: target.key,
        label: target.label,
        rps: load.rps,
        p50: latency.p50,
        p99: latency.p99,
        cpuPerRequest: target.pid ? runs[i].cpuMs / load.requests : undefined,
        subgraphCpuPerRequest: runs[i].subgraphCpuMs / load.requests,
        requests: load.requests + latency.requests,
      };
    }),
  };
}

/**
 * Starts the peers, seeds its own member in `tenant`, measures the three queries and the identical
 * requests phase, and stops the peers again (cleanup stops them too, should this throw or be
 * interrupted). `system` is startSystem's (scripts/system.mjs).
 */
export async function runGatewayComparison({ system, tenant }) {
  const { gatewayUrl, urls, secrets } = system;
  const principal = 'bench-peers';
  const token = await kit.signUserToken({ sub: principal, tenant, roles: ['admin'] }, secrets.JWT_SECRET);
  const oursHeaders = { authorization: `Bearer ${token}` };
  const identity = { tenant, principal, roles: ['admin'], scopes: [] };
  // The subgraph's credential expires after 60 s, so every direct phase gets a fresh one.
  const directHeaders = async () => ({ [kit.IDENTITY_HEADER]: await kit.signIdentity(identity, secrets.SERVICE_SECRET) });
  const memberId = await seed(gatewayUrl, oursHeaders);

  log('starting the peer gateways…');
  const peers = [];
  try {
    const start = async (options) => {
      const peer = await startPeer({ ...options, system, identity });
      peers.push(peer);
      return peer;
    };
    const apollo = await start({ name: 'peer-apollo', script: 'apollo.mjs' });
    const hive = await start({ name: 'peer-hive', script: 'hive.mjs', env: { DEDUPLICATE: 'false' } });
    const hiveDefault = await start({ name: 'peer-hive-default', script: 'hive.mjs' });

    const none = async () => ({});
    const ours = { key: 'ours', label: 'ours', url: gatewayUrl, headers: async () => oursHeaders, pid: system.pid('gateway') };
    // Requests of different principals never share a subgraph fetch: this is ours without merging.
    const bearers = await Promise.all(
      Array.from({ length: PRINCIPALS }, (_, i) => kit.signUserToken({ sub: `${principal}-${i}`, tenant, roles: ['admin'] }, secrets.JWT_SECRET).then((t) => `Bearer ${t}`)),
    );
    let turn = 0;
    const oursDistinct = {
      ...ours,
      label: `ours, ${PRINCIPALS} principals`,
      setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: bearers[turn++ % PRINCIPALS] } }),
    };
    const stock = { key: 'apollo', label: 'stock Apollo', url: apollo.url, headers: none, pid: apollo.child.pid };
    const hiveTarget = { key: 'hive', label: 'Hive (no dedup)', url: hive.url, headers: none, pid: hive.child.pid };
    const hiveDefaultTarget = { key: 'hiveDefault', label: 'Hive default', url: hiveDefault.url, headers: none, pid: hiveDefault.child.pid };
    const direct = (subgraph) => ({ key: 'direct', label: `direct to ${subgraph}`, url: urls[subgraph], headers: directHeaders });
    const subgraphPids = SUBGRAPHS.map((name) => system.pid(name));

    const queries = [];
    queries.push(await measure({ title: 'member dashboard', query: DASHBOARD_QUERY, variables: { id: memberId } }, [ours, stock, hiveTarget, direct('members')], subgraphPids));
    queries.push(await measure({ title: 'member + redemptions', query: MEMBER_REDEMPTIONS_QUERY, variables: { id: memberId } }, [ours, stock, hiveTarget], subgraphPids));
    queries.push(await measure({ title: 'partner catalog (50)', query: CATALOG_QUERY, variables: {} }, [ours, stock, hiveTarget, direct('rewards')], subgraphPids));
    // Every request the same query with the same variables (as in every phase above): Hive's
    // default merges identical subgraph fetches that are in flight at the same time.
    const identical = await measure({ title: 'identical dashboards', query: DASHBOARD_QUERY, variables: { id: memberId } }, [ours, hiveDefaultTarget], subgraphPids);
    // The same dashboard, each request of ours from another principal in turn, so nothing merges;
    // the peers send one identity and never merge.
    const distinct = await measure({ title: 'distinct principals', query: DASHBOARD_QUERY, variables: { id: memberId } }, [oursDistinct, stock, hiveTarget], subgraphPids);
    return {
      versions: { apolloGateway: version('@apollo/gateway'), apolloServer: version('@apollo/server'), hive: version('@graphql-hive/gateway') },
      queries,
      identical,
      distinct,
    };
  } finally {
    await Promise.all(peers.map((peer) => stopProcess(peer.child)));
  }
}

const fixed = (value, digits) => (value === undefined ? '–' : value.toFixed(digits));

/** The table, the ratios and the targets (PASS/MISS) of runGatewayComparison's result. */
export function printGatewayComparison({ versions, queries, identical, distinct }) {
  console.log(
    `\nGateways on the same subgraphs: ours, stock Apollo (@apollo/gateway ${versions.apolloGateway} + @apollo/server ${versions.apolloServer}), ` +
      `Hive Gateway ${versions.hive} ("Hive (no dedup)": its merging of identical in-flight subgraph fetches off; "Hive default": on)`,
  );
  const header = ['query', 'gateway', 'req/s c=10', 'p50 ms c=1', 'p99 ms c=1', 'gateway CPU ms/req', 'subgraphs CPU ms/req', 'requests'];
  const lines = [...queries, identical, distinct].flatMap(({ title, rows }) =>
    rows.map((row, i) => [i === 0 ? title : '', row.label, fixed(row.rps, 0), fixed(row.p50, 2), fixed(row.p99, 2), fixed(row.cpuPerRequest, 3), fixed(row.subgraphCpuPerRequest, 3), String(row.requests)]),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\n${format(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const line of lines) console.log(format(line));

  const byKey = (rows) => Object.fromEntries(rows.map((row) => [row.key, row]));
  const ratio = (a, b) => (a === undefined || b === undefined ? undefined : a / b);
  console.log('\nours ÷ peer: req/s (c=10), p50 (c=1), gateway CPU per request; p50 and CPU: lower is better');
  for (const { title, rows } of [...queries, identical, distinct]) {
    const { ours, ...peers } = byKey(rows);
    const parts = Object.values(peers).map(
      (peer) => `÷ ${peer.label}: ${fixed(ratio(ours.rps, peer.rps), 2)} / ${fixed(ratio(ours.p50, peer.p50), 2)} / ${fixed(ratio(ours.cpuPerRequest, peer.cpuPerRequest), 2)}`,
    );
    console.log(`  ${title.padEnd(22)} ${parts.join('   ')}`);
  }

  const verdict = (pass) => (pass ? 'PASS' : 'MISS');
  const [dashboard, redemptions] = queries.map(({ rows }) => byKey(rows));
  const target = (label, value, pass, goal) => console.log(`${label.padEnd(63)} ${fixed(value, 2).padStart(5)}  target ${goal}  ${verdict(pass)}`);
  const dashboardCpu = ratio(dashboard.ours.cpuPerRequest, dashboard.apollo.cpuPerRequest);
  const redemptionsCpu = ratio(redemptions.ours.cpuPerRequest, redemptions.apollo.cpuPerRequest);
  const dashboardDirect = ratio(dashboard.ours.rps, dashboard.direct.rps);
  const redemptionsRps = ratio(redemptions.ours.rps, redemptions.apollo.rps);
  console.log('');
  target('gateway CPU/request, ours ÷ stock Apollo, dashboard:', dashboardCpu, dashboardCpu <= TARGET_CPU_RATIO, `≤ ${TARGET_CPU_RATIO.toFixed(2)}`);
  target('gateway CPU/request, ours ÷ stock Apollo, member + redemptions:', redemptionsCpu, redemptionsCpu <= TARGET_CPU_RATIO, `≤ ${TARGET_CPU_RATIO.toFixed(2)}`);
  target('dashboard req/s, ours ÷ direct (c=10):', dashboardDirect, dashboardDirect >= TARGET_DASHBOARD_DIRECT, `≥ ${TARGET_DASHBOARD_DIRECT.toFixed(2)}`);
  target('member + redemptions req/s, ours ÷ stock Apollo (c=10):', redemptionsRps, redemptionsRps >= TARGET_REDEMPTIONS_APOLLO, `≥ ${TARGET_REDEMPTIONS_APOLLO.toFixed(2)}`);
  const unmerged = byKey(distinct.rows);
  const distinctCpu = ratio(unmerged.ours.cpuPerRequest, unmerged.apollo.cpuPerRequest);
  target(`gateway CPU/request, ours (${PRINCIPALS} principals, no merging) ÷ stock Apollo:`, distinctCpu, distinctCpu <= TARGET_CPU_RATIO, `≤ ${TARGET_CPU_RATIO.toFixed(2)}`);
  const same = byKey(identical.rows);
  console.log(
    `identical requests, ours ÷ Hive default (c=10): req/s ${fixed(ratio(same.ours.rps, same.hiveDefault.rps), 2)}, ` +
      `gateway CPU/request ${fixed(ratio(same.ours.cpuPerRequest, same.hiveDefault.cpuPerRequest), 2)}, ` +
      `subgraphs CPU/request ${fixed(ratio(same.ours.subgraphCpuPerRequest, same.hiveDefault.subgraphCpuPerRequest), 2)}`,
  );
}

// `npm run bench:gateways`: the comparison alone on a throw-away system.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runBench(async (system) => printGatewayComparison(await runGatewayComparison({ system, tenant: 'bench' })));
}
