// Transfers between members against the simplest write, through the gateway, measured in the same
// run and alternated in rounds: a transfer locks two accounts, splits the sender's lots by expiry
// and writes two entries, so it is compared with adjustPoints (one account, one entry).
// - spread: transfers between random pairs of 20 members ÷ debits of random members of the same 20;
// - contended: transfers back and forth between two members (A→B and B→A at once, the case that
//   would deadlock without a lock order) ÷ debits of one member, both fully serialised on rows.
// Afterwards the tenant's ledger is checked: balances = entries = lots, and transfers net to 0.
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { kit, log, runBench } from './harness.mjs';
import { alternate, graphql } from './load.mjs';
import { ADJUST_MUTATION, ENROLL_MUTATION } from './queries.mjs';

const MEMBERS = 20;
const LOTS_PER_MEMBER = 5; // opening credits with different expiry dates: transfers split and hand them on
const OPENING = 200_000; // per lot
export const TARGET_TRANSFER_RATIO = 0.6; // transferPoints ÷ adjustPoints req/s at c=10, spread
export const TARGET_CONTENDED_RATIO = 0.5; // A↔B transfers ÷ debits of one member, c=10

const TRANSFER_MUTATION = `mutation Transfer($input: TransferInput!) {
  transferPoints(input: $input) { id points balanceAfter }
}`;

export async function runTransferBench({ kit, system, log, rounds, seconds }) {
  const tenant = `bench-transfers-${randomUUID().slice(0, 8)}`;
  const token = await kit.signUserToken({ sub: 'bench-admin', tenant, roles: ['admin'] }, system.secrets.JWT_SECRET);
  const headers = { authorization: `Bearer ${token}` };
  const url = system.gatewayUrl;
  log(`transfers: enrolling ${MEMBERS} members with ${LOTS_PER_MEMBER} dated lots each…`);
  const members = [];
  for (let i = 0; i < MEMBERS; i++) {
    const { enrollMember } = await graphql(url, headers, ENROLL_MUTATION, { input: { email: `t${i}@transfers.example`, name: `Member ${i}` } });
    members.push(enrollMember.id);
    for (let lot = 0; lot < LOTS_PER_MEMBER; lot++) {
      const expiresAt = new Date(Date.now() + (30 + lot * 30) * 86_400_000).toISOString();
      await graphql(url, headers, ADJUST_MUTATION, { input: { memberId: enrollMember.id, points: OPENING, reason: 'bench: opening', expiresAt, idempotencyKey: `seed:${randomUUID()}` } });
    }
  }
  const pick = () => members[Math.floor(Math.random() * members.length)];
  const pair = () => {
    const from = pick();
    let to = pick();
    while (to === from) to = pick();
    return [from, to];
  };
  const [a, b] = members;
  let flip = 0;
  const body = (query, input) => JSON.stringify({ query, variables: { input: { ...input, idempotencyKey: `bench:${randomUUID()}` } } });
  const phase = (name, query, inputOf, check) => ({
    name,
    url,
    headers,
    connections: 10,
    setupRequest: (request) => ({ ...request, body: body(query, inputOf()) }),
    check,
  });
  const transferred = (response) => response.data?.transferPoints?.points < 0;
  const adjusted = (response) => Number.isInteger(response.data?.adjustPoints?.balanceAfter);
  const pairs = [
    {
      name: 'spread',
      transfer: phase('transferPoints, random pairs of 20', TRANSFER_MUTATION, () => {
        const [fromMemberId, toMemberId] = pair();
        return { fromMemberId, toMemberId, points: 1 + Math.floor(Math.random() * 3) };
      }, transferred),
      baseline: phase('adjustPoints −1, random of 20', ADJUST_MUTATION, () => ({ memberId: pick(), points: -1, reason: 'bench: baseline' }), adjusted),
      target: TARGET_TRANSFER_RATIO,
    },
    {
      name: 'contended',
      transfer: phase('transferPoints, A→B and B→A', TRANSFER_MUTATION, () => {
        const [fromMemberId, toMemberId] = flip++ % 2 === 0 ? [a, b] : [b, a];
        return { fromMemberId, toMemberId, points: 1 + Math.floor(Math.random() * 3) };
      }, transferred),
      baseline: phase('adjustPoints −1, one member', ADJUST_MUTATION, () => ({ memberId: a, points: -1, reason: 'bench: baseline' }), adjusted),
      target: TARGET_CONTENDED_RATIO,
    },
  ];
  const results = [];
  for (const { name, transfer, baseline, target } of pairs) {
    const [transfers, debits] = await alternate(transfer, baseline, { rounds, seconds });
    results.push({ name, transfers, debits, ratio: transfers.rps / debits.rps, target });
  }

  const db = new pg.Client({ connectionString: system.databases.members });
  await db.connect();
  try {
    const { rows } = await db.query(
      `SELECT (SELECT sum(balance)::bigint FROM point_accounts WHERE tenant = $1) AS balances,
              (SELECT sum(points)::bigint FROM ledger_entries WHERE tenant = $1) AS entries,
              (SELECT sum(remaining)::bigint FROM point_lots WHERE tenant = $1) AS lots,
              (SELECT COALESCE(sum(points), 0)::bigint FROM ledger_entries WHERE tenant = $1 AND type = 'TRANSFER') AS net,
              (SELECT count(*)::int FROM ledger_entries WHERE tenant = $1 AND type = 'TRANSFER') AS transfers`,
      [tenant],
    );
    const ledger = rows[0];
    if (ledger.balances !== ledger.entries || ledger.entries !== ledger.lots || ledger.net !== '0') {
      throw new Error(`transfer bench: ledger inconsistent ${JSON.stringify(ledger)}`);
    }
    return { results, ledger };
  } finally {
    await db.end();
  }
}

export function printTransfers({ results, ledger }, verdict) {
  for (const { name, transfers, debits, ratio, target } of results) {
    console.log(
      `transferPoints/adjustPoints, ${name} (c=10): ${ratio.toFixed(2)} (${transfers.rps.toFixed(0)} vs ${debits.rps.toFixed(0)} req/s, p99 ${transfers.p99.toFixed(1)} vs ${debits.p99.toFixed(1)} ms)  target ≥ ${target.toFixed(2)}   ${verdict(ratio >= target)}`,
    );
  }
  console.log(`transfers ledger consistent (balance = entries = lots = ${ledger.balances}, transfers net 0): ${ledger.transfers / 2} transfers`);
}

// Run alone: `npm run bench:transfers` (run.mjs runs it among the rest, with the same targets).
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runBench(async (system) => {
    const outcome = await runTransferBench({ kit, system, log, rounds: 4, seconds: 8 });
    console.log('');
    printTransfers(outcome, (pass) => (pass ? 'PASS' : 'MISS'));
  });
}
