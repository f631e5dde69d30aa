import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from '@jest/globals';
import { createLedgerClient } from '@loyalty/kit';
import { startService, waitFor } from './support/processes';
import { strayAllocations } from './support/ledger';
import { gatewayCredential, gql, newTenant, ok, serviceSecret, sql, type Caller } from './support/system';

const databases = JSON.parse(process.env.TEST_DATABASES ?? '{}') as Record<string, string>;

const ADJUST = 'mutation($input: AdjustPointsInput!) { adjustPoints(input: $input) { id } }';
const MAINTAIN = 'mutation { runPointsMaintenance { pointsExpired pointsActivated } }';
const ACTIVATE = 'mutation($input: ActivatePendingInput!) { activatePendingPoints(input: $input) { pointsActivated } }';

const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

describe('points lifecycle across replicas', () => {
  it('never books a lot twice nor spends an expired one while two replicas run maintenance among debits, returns and activations', async () => {
    const t = await newTenant();
    const members = await Promise.all(Array.from({ length: 6 }, () => t.enroll()));
    // Two replicas of members on the shared database; their own periodic job stays off (it would
    // maintain every tenant of the test system): both run this tenant's maintenance on demand.
    const env = { DATABASE_URL: databases.members!, EVENT_BUS_URL: databases.events!, SERVICE_SECRET: serviceSecret, POINTS_MAINTENANCE_INTERVAL_MS: '0' };
    const replicas = [await startService('members', env), await startService('members', env)];
    const ledgers = replicas.map((r) => createLedgerClient({ url: r.url, serviceSecret, service: 'campaigns' }));
    const staff: Caller = { headers: await gatewayCredential({ tenant: t.tenant, principal: 'lifecycle-agent', roles: ['admin'], scopes: [] }) };

    let n = 0;
    const pick = <T>(items: readonly T[]): T => items[n++ % items.length]!;
    const rand = (max: number) => Math.floor(Math.random() * max);
    /** Orders with points earned on them, per member: returns and activations pick among them. */
    const orders: { memberId: string; orderId: string; points: number }[] = [];
    const outcomes: Record<string, number> = {};
    const note = (what: string, code: string | undefined) => {
      const key = `${what} ${code ?? 'ok'}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    };
    const viaGraphql = async (what: string, query: string, variables: Record<string, unknown> = {}) => {
      const result = await gql(query, variables, staff, `${pick(replicas).url}/graphql`);
      const error = result.errors?.[0]?.extensions;
      // On a loaded machine a credit meant to expire within moments can arrive after that moment:
      // refused for its expiresAt, rightly, and nothing else.
      const expiresAt = (variables.input as { expiresAt?: string } | undefined)?.expiresAt;
      if (error?.code === 'BAD_USER_INPUT' && error.field === 'expiresAt' && expiresAt && Date.parse(expiresAt) <= Date.now()) return note(what, 'expired on arrival ok');
      note(what, error?.code);
    };
    const viaLedger = async (what: string, call: () => Promise<unknown>) => {
      try {
        await call();
        note(what, undefined);
      } catch (error) {
        note(what, (error as { code?: string }).code ?? 'ERROR');
      }
    };

    const operations: (() => Promise<void>)[] = [
      // Credits that expire within moments: the expiry races everything else.
      () => viaGraphql('expiring credit', ADJUST, { input: { memberId: pick(members), points: 10 + rand(40), reason: 'short-lived', idempotencyKey: randomUUID(), expiresAt: inMs(200 + rand(1200)) } }),
      // Pending EARN credits on an order, some activating by themselves soon.
      () => {
        const order = { memberId: pick(members), orderId: randomUUID(), points: 20 + rand(60) };
        orders.push(order);
        return viaLedger('pending earn', () =>
          pick(ledgers).credit({ tenant: t.tenant, ...order, type: 'EARN', idempotencyKey: randomUUID(), reference: order.orderId, pendingUntil: inMs(100 + rand(1500)) }),
        );
      },
      () => viaGraphql('plain credit', ADJUST, { input: { memberId: pick(members), points: 30, reason: 'lasting', idempotencyKey: randomUUID() } }),
      () => viaGraphql('debit', ADJUST, { input: { memberId: pick(members), points: -(15 + rand(60)), reason: 'spend', idempotencyKey: randomUUID() } }),
      () => {
        const order = orders[rand(orders.length)];
        if (!order) return Promise.resolve();
        return viaLedger('return', () =>
          pick(ledgers).reverseOrder({ tenant: t.tenant, memberId: order.memberId, orderId: order.orderId, points: 1 + rand(order.points), idempotencyKey: randomUUID() }),
        );
      },
      () => {
        const order = orders[rand(orders.length)];
        if (!order) return Promise.resolve();
        return viaGraphql('activate', ACTIVATE, { input: { memberId: order.memberId, orderId: order.orderId } });
      },
    ];

    const OPS = 600;
    let started = 0;
    let loading = true;
    const worker = async () => {
      while (started < OPS) {
        started++;
        await operations[rand(operations.length)]!();
      }
    };
    // Maintenance runs on both replicas for as long as the load lasts: two runs at once on each, now
    // and then, with pauses in between so that expired lots wait unbooked for the debits to meet.
    const maintainer = (replica: number) => async () => {
      while (loading) {
        const result = await gql(MAINTAIN, {}, staff, `${replicas[replica]!.url}/graphql`);
        note('maintenance', result.errors?.[0]?.extensions?.code);
        await new Promise((resolve) => setTimeout(resolve, 50 + rand(150)));
      }
    };
    const maintenance = Promise.all([maintainer(0)(), maintainer(1)(), maintainer(0)(), maintainer(1)()]);
    await Promise.all(Array.from({ length: 6 }, worker));
    loading = false;
    await maintenance;

    const unexpected = Object.keys(outcomes).filter((key) => !/ (ok|INSUFFICIENT_POINTS)$/.test(key));
    assert.deepEqual(unexpected, [], `outcomes ${JSON.stringify(outcomes)}`);
    assert.ok((outcomes['maintenance ok'] ?? 0) >= 4, `maintenance ran ${outcomes['maintenance ok'] ?? 0} times`);
    assert.ok((outcomes['return ok'] ?? 0) > 0 && (outcomes['debit ok'] ?? 0) > 0, `outcomes ${JSON.stringify(outcomes)}`);

    // Let every short-lived lot and pending credit come due, then book what is left.
    const [latest] = await sql<{ at: Date | null }>(
      'members',
      'SELECT max(greatest(expires_at, pending_until)) AS at FROM point_lots WHERE tenant = $1',
      [t.tenant],
    );
    await waitFor('the last lot to come due', () => !latest?.at || Date.now() > latest.at.getTime() + 50);
    await ok(MAINTAIN, {}, { token: t.admin });

    // 1. Per member: entries sum to balance + pending, and so do the open lots; nothing negative.
    const accounts = await sql<{ member_id: string; balance: number; pending: number; entries: number; lots: number; due: number }>(
      'members',
      `SELECT a.member_id, a.balance, a.pending,
              (SELECT COALESCE(sum(points), 0)::int FROM ledger_entries WHERE member_id = a.member_id) AS entries,
              (SELECT COALESCE(sum(remaining), 0)::int FROM point_lots WHERE member_id = a.member_id) AS lots,
              (SELECT COALESCE(sum(remaining), 0)::int FROM point_lots WHERE member_id = a.member_id
                 AND (expires_at <= now() OR pending_until <= now())) AS due
       FROM point_accounts a WHERE a.tenant = $1`,
      [t.tenant],
    );
    assert.equal(accounts.length, members.length);
    for (const a of accounts) {
      assert.ok(a.balance >= 0 && a.pending >= 0, `account ${JSON.stringify(a)}`);
      assert.deepEqual({ entries: a.entries, lots: a.lots, due: a.due }, { entries: a.balance + a.pending, lots: a.balance + a.pending, due: 0 }, `ledger of ${a.member_id}`);
    }
    // 1b. The entry counter (transactions.totalCount) matches the entries, EXPIRE batches included.
    const miscounted = await sql(
      'members',
      `SELECT a.member_id FROM point_accounts a WHERE a.tenant = $1
         AND a.entries <> (SELECT count(*) FROM ledger_entries e WHERE e.member_id = a.member_id)`,
      [t.tenant],
    );
    assert.deepEqual(miscounted, []);
    const [{ totalCount }] = (
      await sql<{ totalCount: number }>('members', 'SELECT count(*)::int AS "totalCount" FROM ledger_entries WHERE member_id = $1', [members[0]])
    ) as [{ totalCount: number }];
    const listed = await ok<{ member: { transactions: { totalCount: number } } }>('query($id: ID!) { member(id: $id) { transactions { totalCount } } }', { id: members[0] }, { token: t.admin });
    assert.equal(listed.member.transactions.totalCount, totalCount);
    // 2. No lot gave more than it had: allocations + remainder = points.
    const broken = await sql(
      'members',
      `SELECT l.id FROM point_lots l WHERE l.tenant = $1
         AND l.points <> l.remaining + COALESCE((SELECT sum(points) FROM lot_allocations WHERE lot_id = l.id), 0)`,
      [t.tenant],
    );
    assert.deepEqual(broken, []);
    assert.deepEqual(await strayAllocations({ tenant: t.tenant }), [], 'every allocation joins an entry and a lot of one member');
    // 3. A lot is booked as expired at most once, and only once it had expired.
    const expiredTwice = await sql(
      'members',
      `SELECT la.lot_id FROM lot_allocations la JOIN ledger_entries e ON e.id = la.entry_id
       WHERE e.tenant = $1 AND e.type = 'EXPIRE' GROUP BY la.lot_id HAVING count(*) > 1`,
      [t.tenant],
    );
    assert.deepEqual(expiredTwice, []);
    const [booked] = await sql<{ expired: number; early: number }>(
      'members',
      `SELECT count(*)::int AS expired, count(*) FILTER (WHERE l.expires_at IS NULL OR l.expires_at > e.created_at)::int AS early
       FROM lot_allocations la JOIN ledger_entries e ON e.id = la.entry_id JOIN point_lots l ON l.id = la.lot_id
       WHERE e.tenant = $1 AND e.type = 'EXPIRE'`,
      [t.tenant],
    );
    assert.ok(booked!.expired > 0, 'some lots expired during the run');
    assert.equal(booked!.early, 0, 'a lot was booked as expired before its time');
    // 4. No debit or return ever drew on a lot after it had expired.
    const spentExpired = await sql(
      'members',
      `SELECT e.id, e.type FROM lot_allocations la JOIN ledger_entries e ON e.id = la.entry_id JOIN point_lots l ON l.id = la.lot_id
       WHERE e.tenant = $1 AND e.type <> 'EXPIRE' AND l.expires_at <= e.created_at`,
      [t.tenant],
    );
    assert.deepEqual(spentExpired, []);
    // 5. Analytics, built from the events, ends on the ledger's outstanding points.
    const outstanding = accounts.reduce((sum, a) => sum + a.balance, 0);
    await waitFor(
      () => `analytics to reach ${outstanding} outstanding points`,
      async () => Number((await ok<{ programStats: { pointsOutstanding: number } }>('{ programStats { pointsOutstanding } }', {}, { token: t.admin })).programStats.pointsOutstanding) === outstanding,
      30_000,
    );
  });
});
